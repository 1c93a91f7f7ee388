"""The database is down: the complaint is spooled, then replayed exactly once."""

from sqlalchemy import select

from bot.db import Database
from bot.intake import record_complaint
from bot.models import Notice
from bot.spool import ComplaintSpool
from bot.tickets import TicketService
from tests.bot.complaints import draft


def test_outage_spools_then_replays_once(tmp_path, sqlite_db, settings):
    spool = ComplaintSpool(tmp_path / "spool")
    down = TicketService(Database("postgresql://nobody@127.0.0.1:1/none"), settings)
    outcome = record_complaint(down, spool, draft(description="原文 <保留> 😡"), "conv-1:7")
    assert not outcome.recorded and outcome.spool_reference.startswith("RF")
    # A retried submission during the outage reuses the same spool entry.
    assert record_complaint(down, spool, draft(), "conv-1:7").spool_reference == outcome.spool_reference
    assert len(spool.pending()) == 1

    up = TicketService(sqlite_db, settings)
    fresh = record_complaint(up, spool, draft(conversation_id="conv-2"), "conv-2:1")
    assert fresh.recorded and spool.pending() == []
    tickets = up.list()
    assert sorted(t["conversation_id"] for t in tickets) == ["conv-1", "conv-2"]
    spooled = next(t for t in tickets if t["conversation_id"] == "conv-1")
    assert spooled["description"] == "原文 <保留> 😡"
    # The spooled complainant was promised the number once registered: it is queued (the fresh one was told live).
    with sqlite_db.transaction() as session:
        queued = [(n.ticket_id, n.kind, n.body) for n in session.execute(select(Notice)).scalars()]
    [(ticket_id, kind, body)] = queued
    assert kind == "acknowledgement" and spooled["ticket_no"] in body and "138****5678" in body
    # Replaying again (e.g. a crash after insert but before unlink) adds nothing.
    spool.put("conv-1:7", draft())
    spool.drain(up)
    assert len(up.list()) == 2


def test_a_spooled_callback_is_told_its_number_as_a_callback_notice(tmp_path, sqlite_db, settings):
    spool = ComplaintSpool(tmp_path / "spool")
    spool.put("conv-3:1", draft(kind="callback", category="other", customer_request="请回电"))
    [receipt] = spool.drain(TicketService(sqlite_db, settings))
    with sqlite_db.transaction() as session:
        [notice] = session.execute(select(Notice)).scalars()
        assert notice.kind == "callback" and receipt.ticket_no in notice.body and "请留意来电" in notice.body
