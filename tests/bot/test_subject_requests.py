"""Data subject requests: a person's data exported in full and erased, statistics kept, both audited."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from bot.handoff import HandoffReason, HandoffService
from bot.models import (
    HandoffRequest,
    NluMark,
    Notice,
    NoticeLink,
    PrivacyRequest,
    StatusLookup,
    Ticket,
    TicketEvent,
    TicketNote,
)
from bot.subject_requests import ERASED, OpenCases, RequestError, SubjectRequests
from bot.tickets import TicketService
from tests.bot.command_line import cli
from tests.bot.complaints import draft
from tests.bot.conversations import ago

PHONE, OTHER = "13812345678", "13987654321"


def _people(db, settings, conversations):
    """Two policyholders, each with a conversation, a ticket (with a note), a handoff and look-ups."""
    service = TicketService(db, settings)
    mine_conv = conversations.write("mine", ago(days=3), text="我叫张三，电话13812345678，住院花了两万")
    other_conv = conversations.write("other", ago(days=2), text="我是李四，电话13987654321")
    mine = service.submit(
        draft(
            conversation_id=mine_conv,
            phone_number=PHONE,
            complainant_name="张三",
            description="住院两万元的理赔被拒",
            customer_request="全额赔付",
            policy_number="PL202300999999",
        ),
        "k1",
    ).ticket_no
    other = service.submit(
        draft(conversation_id=other_conv, phone_number=OTHER, complainant_name="李四"), "k2"
    ).ticket_no
    service.add_note(mine, "agent1", "客户张三说明了病情")
    handoffs = HandoffService(db, settings)
    handoffs.request(
        mine_conv,
        "rest",
        HandoffReason.USER_REQUEST,
        {"phone_number": PHONE, "complainant_name": "张三"},
        ticket_no=mine,
    )
    handoffs.release(mine_conv, "agent1")
    with db.transaction() as session:
        session.add_all(
            [
                StatusLookup(
                    conversation_id=mine_conv,
                    at=ago(days=1),
                    succeeded=1,
                    ticket_no=mine,
                    phone_key=db.crypto.digest(PHONE),
                ),
                StatusLookup(
                    conversation_id="someone-else",
                    at=ago(days=1),
                    succeeded=0,
                    ticket_no=mine,
                    phone_key=db.crypto.digest(PHONE),
                ),
                StatusLookup(
                    conversation_id=other_conv,
                    at=ago(days=1),
                    succeeded=1,
                    ticket_no=other,
                    phone_key=db.crypto.digest(OTHER),
                ),
                # Messages an agent marked 标记为未理解 name the conversation.
                NluMark(conversation_id=mine_conv, event_at=1.0, handoff_id=1, marked_by="li", marked_at=ago(days=1)),
                NluMark(conversation_id=other_conv, event_at=1.0, handoff_id=2, marked_by="li", marked_at=ago(days=1)),
            ]
        )
    return mine, other, mine_conv, other_conv


def _dump(db) -> str:
    with db.engine.connect() as connection:
        tables = [name for name in sa.inspect(connection).get_table_names() if name != "alembic_version"]
        rows = [list(row) for table in tables for row in connection.execute(sa.text(f'SELECT * FROM "{table}"'))]
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_export_holds_everything_about_the_person_and_nothing_about_others(db, settings, conversations):
    mine, other, mine_conv, other_conv = _people(db, settings, conversations)
    requests = SubjectRequests(db, conversations.events)
    exported = requests.export("+86 138 1234 5678", "operator1", "客户来函要求查阅")

    assert exported["subject"] == {"phone_number": PHONE}
    [ticket] = exported["tickets"]
    assert ticket["ticket_no"] == mine and ticket["phone_number"] == PHONE and ticket["complainant_name"] == "张三"
    assert [event["field"] for event in ticket["events"]] == ["status", "note"]
    assert ticket["notes"][0]["body"] == "客户张三说明了病情"
    assert [h["slots"]["phone_number"] for h in exported["handoff_requests"]] == [PHONE]
    assert len(exported["status_lookups"]) == 2
    assert list(exported["conversations"]) == [mine_conv]
    texts = [event.get("text") for event in exported["conversations"][mine_conv] if event["event"] == "user"]
    assert texts == ["我叫张三，电话13812345678，住院花了两万"]
    text = json.dumps(exported, ensure_ascii=False)
    assert other not in text and OTHER not in text and "李四" not in text and other_conv not in text
    # Audited: who, when, why, what; the person only as a keyed hash.
    with db.transaction() as session:
        audit = session.execute(select(PrivacyRequest)).scalar_one()
    assert (audit.kind, audit.actor, audit.reason) == ("export", "operator1", "客户来函要求查阅")
    assert audit.subject_key == db.crypto.digest(PHONE) and audit.counts["tickets"] == 1
    assert exported["request_id"] == audit.id


def test_erasure_of_open_cases_is_refused_and_changes_nothing(db, settings, conversations):
    mine, _, mine_conv, _ = _people(db, settings, conversations)
    before = _dump(db)
    with pytest.raises(OpenCases) as refused:
        SubjectRequests(db, conversations.events).erase(PHONE, "operator1", "客户要求删除")
    assert mine in str(refused.value) and "close or withdraw" in str(refused.value)
    assert _dump(db) == before and conversations.count(mine_conv) == 3


def test_export_then_erase_round_trip_keeps_statistics_only(db, settings, conversations):
    mine, other, mine_conv, other_conv = _people(db, settings, conversations)
    TicketService(db, settings).withdraw(mine, "agent1")  # closing otherwise needs every step's content
    requests = SubjectRequests(db, conversations.events)
    assert requests.export(PHONE, "operator1")["tickets"][0]["status"] == "closed"
    with db.transaction() as session:
        before = session.execute(select(Ticket).where(Ticket.ticket_no == mine)).scalar_one()
        stats = (
            before.category,
            before.status,
            before.channel,
            before.received_at,
            before.closed_at,
            before.deadline,
            before.kind,
        )

    erased = requests.erase(PHONE, "operator1", "客户来电要求删除，回拨13812345678")

    assert erased["counts"]["tickets_anonymised"] == 1 and erased["counts"]["tracker_events"] == 3
    assert erased["counts"]["status_lookups"] == 2 and erased["counts"]["ticket_notes"] == 1
    assert erased["counts"]["nlu_marks"] == 1
    # Nothing of the person is left anywhere in the ticket database or the tracker store...
    dump = _dump(db)
    for trace in (PHONE, "张三", "住院两万元", "全额赔付", "说明了病情", mine_conv, "PL202300999999"):
        assert trace not in dump, trace
    assert conversations.count(mine_conv) == 0
    # ...but the complaint statistics are, and the audit trail says who erased it and why.
    with db.transaction() as session:
        after = session.execute(select(Ticket).where(Ticket.ticket_no == mine)).scalar_one()
        assert (
            after.category,
            after.status,
            after.channel,
            after.received_at,
            after.closed_at,
            after.deadline,
            after.kind,
        ) == stats
        assert after.complainant_name == ERASED and after.phone_number == "" and after.phone_hash is None
        events = (
            session.execute(select(TicketEvent).where(TicketEvent.ticket_id == after.id).order_by(TicketEvent.id))
            .scalars()
            .all()
        )
        assert [e.field for e in events] == ["status", "note", "status", "personal_data_erased"]
        assert events[-1].actor == "operator1" and events[1].new_value is None
        assert session.execute(select(TicketNote)).scalars().all() == []
        handoff = session.execute(select(HandoffRequest)).scalar_one()
        assert handoff.slots == {} and handoff.reason == "user_request"
        audits = session.execute(select(PrivacyRequest).order_by(PrivacyRequest.id)).scalars().all()
    assert [a.kind for a in audits] == ["export", "erase"]
    assert audits[1].reason == "客户来电要求删除，回拨138****5678" and audits[1].counts == erased["counts"]
    # The other policyholder is untouched.
    assert conversations.count(other_conv) == 3
    assert TicketService(db, settings).get(other)["phone_number"] == OTHER
    # The round trip: an export now finds nothing held about the person.
    again = requests.export(PHONE, "operator1")
    assert again["tickets"] == [] and again["conversations"] == {} and again["status_lookups"] == []
    assert [r["kind"] for r in again["privacy_requests"]] == ["export", "erase"]


def test_requests_are_validated():
    requests = SubjectRequests.__new__(SubjectRequests)
    with pytest.raises(RequestError, match="手机号"):
        requests.find("12345")
    with pytest.raises(RequestError, match="reason"):
        SubjectRequests.erase(requests, PHONE, "operator1", "  ")


def _cli(tmp_path, db, conversations, *args):
    return cli(tmp_path, "privacy", *args, DATABASE_URL=db.url, TRACKER_DATABASE_URL=conversations.url)


def test_operators_export_and_erase_from_the_cli(tmp_path, db, settings, conversations):
    mine, _, mine_conv, _ = _people(db, settings, conversations)
    refused = _cli(tmp_path, db, conversations, "erase", "--phone", PHONE, "--reason", "来函", "--operator", "op1")
    assert refused.returncode == 1 and mine in refused.stderr and refused.stdout == ""
    TicketService(db, settings).withdraw(mine, "agent1")  # closing otherwise needs every step's content
    output = tmp_path / "export.json"
    exported = _cli(tmp_path, db, conversations, "export", "--phone", PHONE, "--output", str(output))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(output.read_text())["tickets"][0]["ticket_no"] == mine
    assert output.stat().st_mode & 0o777 == 0o600
    erased = _cli(tmp_path, db, conversations, "erase", "--phone", PHONE, "--reason", "来函", "--operator", "op1")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["counts"]["tickets_anonymised"] == 1
    log = json.loads(_cli(tmp_path, db, conversations, "requests").stdout)
    assert [(r["kind"], r["actor"]) for r in log][:2] == [("erase", "op1"), ("export", log[1]["actor"])]
    assert PHONE not in json.dumps(log)
    bad = _cli(tmp_path, db, conversations, "export", "--phone", "not-a-phone")
    assert bad.returncode == 1 and "手机号" in bad.stderr


def test_erasure_takes_the_case_text_handlers_wrote_and_keeps_the_outcome(db, settings, conversations):
    from bot.callbacks import Callbacks
    from bot.lifecycle import Lifecycle
    from tests.bot.sample_tickets import SUPERVISOR

    mine, _, _, _ = _people(db, settings, conversations)
    lifecycle = Lifecycle(db, settings)
    ticket = lifecycle.start_pause(mine, "appraisal", "张三住院病历送鉴定", _version(db, mine), SUPERVISOR)
    ticket = lifecycle.end_pause(mine, ticket["version"], SUPERVISOR)
    ticket = Callbacks(db, settings).record_attempt(mine, "reached", "张三说住院两万", ticket["version"], SUPERVISOR)
    content = {
        "findings": "张三住院两万元属实",
        "decision": "赔付张三两万元",
        "decision_basis": "合同第5条",
        "outcome": "upheld",
        "result_notice": "张三先生您好",
        "follow_up_reached": True,
        "follow_up_satisfied": True,
        "follow_up_note": "张三表示满意",
        "root_cause_controllable": True,
        "root_cause_category": "service_timeliness",
        "improvement_action": "理赔时效纳入考核",
    }
    lifecycle.advance(mine, "closed", content, ticket["version"], SUPERVISOR)
    with db.transaction() as session:  # the result notice and others, not sent yet
        assert (
            "pending"
            in session.execute(select(Notice.status).join(Ticket).where(Ticket.ticket_no == mine)).scalars().all()
        )
    result = SubjectRequests(db, conversations.events).erase(PHONE, "operator1", "客户要求删除")
    with db.transaction() as session:
        statuses = set(session.execute(select(Notice.status).join(Ticket).where(Ticket.ticket_no == mine)).scalars())
    assert "pending" not in statuses and "cancelled" in statuses
    assert result["counts"]["notices_cancelled"] >= 1
    dump = _dump(db)
    for trace in ("张三", "住院两万", "合同第5条"):
        assert trace not in dump, trace
    with db.transaction() as session:
        after = session.execute(select(Ticket).where(Ticket.ticket_no == mine)).scalar_one()
        assert (after.outcome, after.root_cause_category, after.improvement_action) == (
            "upheld",
            "service_timeliness",
            "理赔时效纳入考核",
        )
        assert after.findings == ERASED and after.follow_up_satisfied is True


def _version(db, ticket_no):
    with db.transaction() as session:
        return session.execute(select(Ticket.version).where(Ticket.ticket_no == ticket_no)).scalar_one()


def test_a_conversation_opened_from_an_sms_notice_link_belongs_to_the_person(db, settings, conversations):
    mine, _, mine_conv, other_conv = _people(db, settings, conversations)
    linked = conversations.write("linked", ago(days=1), text="满意")
    with db.transaction() as session:
        ticket_id = session.execute(select(Ticket.id).where(Ticket.ticket_no == mine)).scalar_one()
        notice = Notice(
            ticket_id=ticket_id,
            kind="result",
            idempotency_key="result:link",
            body="处理结果",
            status="sent",
            created_at=ago(days=2),
        )
        session.add(notice)
        session.flush()
        session.add(NoticeLink(notice_id=notice.id, conversation_id=linked, opened_at=ago(days=1)))
    exported = SubjectRequests(db, conversations.events).export(PHONE, "operator1", "客户来函要求查阅")
    assert (
        sorted(exported["conversations"]) == sorted([mine_conv, linked]) and other_conv not in exported["conversations"]
    )
    # Erased: the conversation is gone, and so is the record that it was opened from the link.
    TicketService(db, settings).withdraw(mine, "agent1")
    SubjectRequests(db, conversations.events).erase(PHONE, "operator1", "客户要求删除")
    with db.transaction() as session:
        assert session.execute(select(NoticeLink)).scalars().all() == []
