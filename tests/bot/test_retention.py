"""Retention: what is due is purged (by several runners at once, each row once), nothing earlier."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Dict, List

import pytest
from sqlalchemy import func, select

from bot import retention
from bot.db import Database
from bot.models import (
    Agent,
    DeliveryFailure,
    DeskSession,
    HandoffRequest,
    NluMark,
    RetentionRun,
    StatusLookup,
    Ticket,
    TicketEvent,
    TicketNote,
    WeChatInboxMessage,
    WeChatUnfollow,
)
from bot.retention import RetentionPurge, TrackerEvents, parse_duration, record_unfollow, years_before
from bot.settings import PROJECT_ROOT, Settings
from bot.tickets import TicketService
from tests.bot.command_line import cli, cli_env
from tests.bot.complaints import draft
from tests.bot.conversations import NOW, Conversations, ago
from tests.databases import make_settings


def closed_ticket(db: Database, settings: Settings, conversation: str, closed: datetime, key: str) -> str:
    service = TicketService(db, settings, clock=lambda: closed - timedelta(days=10))
    ticket_no = service.submit(draft(conversation_id=conversation), key).ticket_no
    service.add_note(ticket_no, "agent1", "已电话联系客户")
    # Withdrawn (Art. 15): closing otherwise needs every step's content (bot/step_content.py).
    TicketService(db, settings, clock=lambda: closed).withdraw(ticket_no, "agent1")
    return ticket_no


def _count(db: Database, model, *where) -> int:
    with db.transaction() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def purge(db: Database, conversations: Conversations, settings: Settings, **kwargs) -> RetentionPurge:
    return RetentionPurge(db, conversations.events, settings, **kwargs)


def test_purge_deletes_what_is_due_and_nothing_before(db, settings, conversations):
    c = conversations
    old = c.write("old", ago(days=200), ago(days=181))
    recent = c.write("recent", ago(days=300), ago(days=179))
    old_but_open = c.write("open", ago(days=400))
    TicketService(db, settings, clock=lambda: ago(days=400)).submit(draft(conversation_id=old_but_open), "open")
    unfollowed = c.write("unfollowed", ago(days=40))
    record_unfollow(db, unfollowed, ago(days=31))
    unfollowed_lately = c.write("unfollowed-lately", ago(days=40))
    record_unfollow(db, unfollowed_lately, ago(days=29))
    came_back = c.write("came-back", ago(days=40), ago(days=20))
    record_unfollow(db, came_back, ago(days=35))

    five_years = years_before(NOW, 5)
    expired = closed_ticket(db, settings, "c-expired", five_years - timedelta(days=1), "expired")
    kept = closed_ticket(db, settings, "c-kept", five_years + timedelta(days=1), "kept")
    with db.transaction() as session:
        expired_id = session.execute(select(Ticket.id).where(Ticket.ticket_no == expired)).scalar_one()
        agent = Agent(username="a1", display_name="王", role="agent", password_hash="x", created_at=ago(days=1))
        session.add(agent)
        session.flush()
        session.add_all(
            [
                HandoffRequest(
                    conversation_id="c-expired",
                    channel="rest",
                    reason="user_request",
                    priority=30,
                    status="closed",
                    slots={"phone_number": "13812345678"},
                    ticket_id=expired_id,
                    created_at=ago(days=2000),
                    updated_at=ago(days=2000),
                    ended_at=ago(days=2000),
                ),
                HandoffRequest(
                    conversation_id="h-ended",
                    channel="rest",
                    reason="fallback",
                    priority=40,
                    status="released",
                    slots={},
                    created_at=ago(days=190),
                    updated_at=ago(days=181),
                    ended_at=ago(days=181),
                ),
                HandoffRequest(
                    conversation_id="h-ended-lately",
                    channel="rest",
                    reason="fallback",
                    priority=40,
                    status="released",
                    slots={},
                    created_at=ago(days=190),
                    updated_at=ago(days=179),
                    ended_at=ago(days=179),
                ),
                HandoffRequest(
                    conversation_id=old_but_open,
                    channel="rest",
                    reason="fallback",
                    priority=40,
                    status="waiting",
                    slots={},
                    created_at=ago(days=400),
                    updated_at=ago(days=400),
                ),
                StatusLookup(conversation_id="s1", at=ago(days=31), succeeded=0),
                StatusLookup(conversation_id="s2", at=ago(days=29), succeeded=0),
                DeskSession(
                    token_hash="a" * 64,
                    agent_id=agent.id,
                    csrf_token="x",
                    created_at=ago(days=2),
                    expires_at=ago(minutes=1),
                ),
                DeskSession(
                    token_hash="b" * 64,
                    agent_id=agent.id,
                    csrf_token="x",
                    created_at=ago(hours=1),
                    expires_at=ago(minutes=-60),
                ),
                WeChatInboxMessage(
                    dedupe_key="d" * 64,
                    openid="o1",
                    request_signature="s" * 40,
                    status="replied",
                    received_at=ago(days=3),
                    updated_at=ago(days=3),
                ),
                WeChatInboxMessage(
                    dedupe_key="e" * 64,
                    openid="o1",
                    request_signature="t" * 40,
                    status="replied",
                    received_at=ago(days=1),
                    updated_at=ago(days=1),
                ),
                DeliveryFailure(conversation_id="wx:o1", channel="wechat", code="45047", message="m", at=ago(days=181)),
                DeliveryFailure(conversation_id="wx:o1", channel="wechat", code="45047", message="m", at=ago(days=179)),
                NluMark(conversation_id="wx:o1", event_at=1.0, handoff_id=1, marked_by="li", marked_at=ago(days=181)),
                NluMark(conversation_id="wx:o1", event_at=2.0, handoff_id=1, marked_by="li", marked_at=ago(days=179)),
            ]
        )

    report = purge(db, c, settings).run_once()

    assert report is not None
    assert report.counts == {
        "tracker_conversations": 1,
        "tracker_events": 6 + 3,
        "tracker_conversations_unfollowed": 1,
        "tickets": 1,
        "ticket_events": 3,
        "ticket_notes": 1,
        "handoff_requests": 2,
        "delivery_failures": 1,
        "status_lookups": 1,
        "desk_sessions": 1,
        "wechat_inbox": 1,
        "nlu_marks": 1,
    }
    assert c.count(old) == 0 and c.count(unfollowed) == 0
    assert c.count(recent) == 6 and c.count(old_but_open) == 3 and c.count(unfollowed_lately) == 3
    assert c.count(came_back) == 6
    with db.transaction() as session:
        assert session.execute(select(WeChatUnfollow.conversation_id)).scalars().all() == [unfollowed_lately]
        assert [t.ticket_no for t in session.execute(select(Ticket).order_by(Ticket.id)).scalars()] == [
            session.execute(select(Ticket.ticket_no).where(Ticket.conversation_id == old_but_open)).scalar_one(),
            kept,
        ]
        assert sorted(session.execute(select(HandoffRequest.conversation_id)).scalars()) == sorted(
            ["h-ended-lately", old_but_open]
        )
        run = session.execute(select(RetentionRun)).scalar_one()
        assert run.counts == report.counts and run.runner == purge(db, c, settings, runner=run.runner).runner
    assert _count(db, TicketEvent) == 1 + 3 and _count(db, TicketNote) == 1
    assert _count(db, StatusLookup) == 1 and _count(db, DeskSession) == 1 and _count(db, WeChatInboxMessage) == 1
    assert _count(db, DeliveryFailure) == 1

    again = purge(db, c, settings).run_once()
    assert again is not None and not any(again.counts.values())


def _due_rows(db: Database, settings: Settings, c: Conversations, n: int) -> None:
    for i in range(n):
        c.write(f"due-{i}", ago(days=200))
        c.write(f"kept-{i}", ago(days=10))
        closed_ticket(db, settings, f"c-{i}", years_before(NOW, 5) - timedelta(days=1), f"due-{i}")
    with db.transaction() as session:
        session.add_all([StatusLookup(conversation_id=f"s{i}", at=ago(days=40), succeeded=0) for i in range(n)])
        session.add_all([StatusLookup(conversation_id=f"s{i}", at=ago(days=1), succeeded=0) for i in range(n)])


@pytest.mark.parametrize("lease", ["lease", "lease expired"])
def test_several_runners_at_once_delete_each_due_row_once(db, settings, conversations, monkeypatch, lease):
    n, runners = 12, 4
    _due_rows(db, settings, conversations, n)
    if lease == "lease expired":
        # As if each runner's lease had run out while the next one started: all work at once.
        monkeypatch.setattr(RetentionPurge, "_take_lease", lambda self, now: True)
    start = threading.Barrier(runners)
    reports: List = []

    def run(index: int) -> None:
        start.wait()
        reports.append(purge(db, conversations, settings, runner=f"runner-{index}").run_once())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done = [report for report in reports if report is not None]
    if lease == "lease":
        assert len(reports) == runners and len(done) >= 1
    totals: Dict[str, int] = {}
    for report in done:
        for kind, count in report.counts.items():
            totals[kind] = totals.get(kind, 0) + count
    assert totals["tracker_conversations"] == n and totals["tracker_events"] == 3 * n
    assert totals["tickets"] == n and totals["ticket_notes"] == n and totals["status_lookups"] == n
    # Nothing that was not due: the recent conversations and look-ups are all there.
    assert all(conversations.count(conversations.prefix + f"kept-{i}") == 3 for i in range(n))
    assert _count(db, StatusLookup) == n and _count(db, Ticket) == 0
    with db.transaction() as session:
        recorded = session.execute(select(RetentionRun)).scalars().all()
    assert sorted(run.id for run in recorded) == sorted(report.run_id for report in done)


def test_a_replica_skips_a_run_another_one_made_within_the_period(db, settings, conversations):
    first = purge(db, conversations, settings).run_once(skip_if_ran_within=timedelta(hours=1))
    second = purge(db, conversations, settings).run_once(skip_if_ran_within=timedelta(hours=1))
    assert first is not None and second is None
    assert purge(db, conversations, settings).run_once() is not None  # a manual purge always runs


def test_an_unfollow_recorded_twice_keeps_the_latest_time(db):
    record_unfollow(db, "wx:o1", ago(days=3))
    record_unfollow(db, "wx:o1", ago(days=1))
    with db.transaction() as session:
        row = session.execute(select(WeChatUnfollow)).scalar_one()
    assert abs(retention._aware(row.unfollowed_at) - ago(days=1)) < timedelta(seconds=1)


def test_a_missing_tracker_database_holds_nothing(tmp_path):
    events = TrackerEvents(f"sqlite:///{tmp_path / 'none' / 'tracker.db'}")
    assert events.stale_conversations(time.time()) == [] and events.events_of("x") == []
    assert events.delete(["x"]) == {"conversations": 0, "events": 0}
    assert not (tmp_path / "none").exists()


def test_periods_are_validated():
    assert parse_duration("1h") == timedelta(hours=1) and parse_duration("30m") == timedelta(minutes=30)
    for bad in ("", "1", "1w", "10s", "-1h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError, match="RETENTION_TRACKER_DAYS"):
        Settings.from_env({"RETENTION_TRACKER_DAYS": "0"})
    assert years_before(datetime(2028, 2, 29, tzinfo=timezone.utc), 5) == datetime(2023, 2, 28, tzinfo=timezone.utc)


def test_scheduled_runs_on_two_replicas_purge_once_per_period_and_stop_on_sigterm(db, tmp_path, conversations):
    stale = conversations.write("stale", ago(days=365))
    env = cli_env(tmp_path, DATABASE_URL=db.url, TRACKER_DATABASE_URL=conversations.url)
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "retention", "run", "--every", "1h"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.time() + 120
        while time.time() < deadline and conversations.count(stale):
            time.sleep(0.5)
        assert conversations.count(stale) == 0
        time.sleep(3)  # both replicas have made (or skipped) their first run
    finally:
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)
    outputs = [replica.communicate(timeout=60)[0] for replica in replicas]
    assert [replica.returncode for replica in replicas] == [0, 0], outputs
    assert _count(db, RetentionRun) == 1, outputs
    assert sum("skipped" in output for output in outputs) == 1, outputs


def test_operators_purge_once_from_the_cli(db, tmp_path, conversations):
    conversations.write("stale", ago(days=365))
    databases = {"DATABASE_URL": db.url, "TRACKER_DATABASE_URL": conversations.url}
    result = cli(tmp_path, "retention", "purge", **databases)
    assert result.returncode == 0, result.stderr
    assert '"tracker_conversations": 1' in result.stdout
    runs = cli(tmp_path, "retention", "runs", **databases)
    assert '"tracker_events": 3' in runs.stdout and "138" not in runs.stdout


async def test_the_wechat_channel_records_an_unfollow(db, tmp_path):
    from bot.channels.wechat.channel import WeChatInput
    from bot.channels.wechat.credentials import WeChatCredentials
    from bot.channels.wechat.messages import InboundMessage
    from bot.channels.wechat.webhook import OpenedRequest

    channel = WeChatInput(
        WeChatCredentials.from_mapping(
            {"token": "token1", "app_id": "wx" + "0" * 16, "app_secret": "secret", "mode": "plaintext"}
        ),
        make_settings(tmp_path, DATABASE_URL=db.url),
    )
    fields = {
        "ToUserName": "gh_account",
        "FromUserName": "oUser1",
        "CreateTime": str(int(time.time())),
        "MsgType": "event",
        "Event": "unsubscribe",
    }
    opened = OpenedRequest(InboundMessage.from_fields(fields), encrypted=False, request_signature="s" * 40)
    reply = await channel._answer(opened, None, time.monotonic())
    assert reply.status == 200
    with db.transaction() as session:
        row = session.execute(select(WeChatUnfollow)).scalar_one()
    assert row.conversation_id == "wx:oUser1" and abs(
        retention._aware(row.unfollowed_at) - datetime.now(timezone.utc)
    ) < timedelta(minutes=1)
    channel._database().dispose()
