"""Calling back a 留言: attempts, the unreachable mark and alert, conversion into a linked complaint."""

from __future__ import annotations

import pytest

from bot.alerts import Alerts
from bot.callbacks import CallbackError, Callbacks
from bot.lifecycle import Lifecycle
from bot.tickets import LifecycleError, TicketService
from tests.bot.clocks import Clock
from tests.bot.sample_tickets import AGENT_LI, SUPERVISOR, shanghai, submit


@pytest.fixture
def clock():
    return Clock(shanghai(2026, 6, 2, 10))


@pytest.fixture
def callbacks(db, settings, clock):
    return Callbacks(db, settings, clock=clock)


@pytest.fixture
def callback_no(db, settings):
    return submit(
        db,
        settings,
        shanghai(2026, 6, 1, 22),
        {"assignee": "li", "risk_flags": "media", "priority": 100},
        kind="callback",
        category="other",
        description="理赔款一直没到账，想请工作人员回电说明一下",
        customer_request="请回电；尽快赔付",
    )


def test_failed_calls_mark_the_ticket_and_alert_a_supervisor_once(callbacks, callback_no, db, clock):
    version = 1
    for outcome in ("no_answer", "wrong_number"):
        version = callbacks.record_attempt(callback_no, outcome, "", version, AGENT_LI)["version"]
        clock.advance(hours=2)
    ticket = callbacks.record_attempt(callback_no, "reached", "客户在开会，约明天再打", version, AGENT_LI)
    assert ticket["unreachable_at"] is None  # an answered call starts the count again
    version = ticket["version"]
    for _ in range(3):
        ticket = callbacks.record_attempt(callback_no, "no_answer", "无人接听", version, AGENT_LI)
        version = ticket["version"]
    assert ticket["unreachable_at"] is not None
    callbacks.record_attempt(callback_no, "no_answer", "", version, AGENT_LI)  # a fourth failure: no second alert
    alerts = Alerts(db).list(SUPERVISOR)
    assert [(a["kind"], a["ticket_no"]) for a in alerts] == [("unreachable", callback_no)]
    assert "已3次联系不上投诉人" in alerts[0]["message"]
    attempts = Lifecycle(db, callbacks.settings).case_file(callback_no)["call_attempts"]
    assert [a["outcome"] for a in attempts] == ["no_answer", "wrong_number", "reached"] + ["no_answer"] * 4
    assert attempts[2]["note"] == "客户在开会，约明天再打" and attempts[2]["actor"] == "li"


def test_attempts_are_checked(callbacks, callback_no):
    with pytest.raises(CallbackError, match="请选择通话结果"):
        callbacks.record_attempt(callback_no, "busy", "", 1, AGENT_LI)
    with pytest.raises(CallbackError, match="通话备注过长"):
        callbacks.record_attempt(callback_no, "reached", "x" * 1001, 1, AGENT_LI)


def test_a_callback_becomes_a_linked_complaint_prefilled_from_it(callbacks, callback_no, db, settings, clock):
    complaint = callbacks.convert(callback_no, "claims", 1, AGENT_LI)
    assert complaint["kind"] == "complaint" and complaint["category"] == "claims"
    assert complaint["assignee"] == "li" and complaint["status"] == "accepted"
    assert complaint["description"] == "理赔款一直没到账，想请工作人员回电说明一下"
    assert complaint["customer_request"] == "尽快赔付" and complaint["phone_number"] == "13812345678"
    assert complaint["risk_flags"] == "media" and complaint["priority"] == 100
    # Received when the call revealed the complaint: Art. 18's clock starts then.
    assert complaint["received_at"] == clock().isoformat() and complaint["deadline"] == "2026-06-17"
    callback = TicketService(db, settings).get(callback_no)
    assert callback["status"] == "closed" and callback["linked_ticket_id"] is not None
    lifecycle = Lifecycle(db, settings)
    assert lifecycle.case_file(callback_no)["linked_ticket_no"] == complaint["ticket_no"]
    assert lifecycle.case_file(complaint["ticket_no"])["linked_from"] == [callback_no]
    events = TicketService(db, settings).get(complaint["ticket_no"])["events"]
    assert ("converted_from", callback_no, "li") in {(e["field"], e["new_value"], e["actor"]) for e in events}
    with pytest.raises(LifecycleError):
        callbacks.convert(callback_no, "claims", callback["version"], AGENT_LI)


def test_only_callbacks_convert(callbacks, db, settings):
    complaint = submit(db, settings, shanghai(2026, 6, 1, 9), {"assignee": "li"})
    with pytest.raises(CallbackError, match="只有留言可以转为投诉工单"):
        callbacks.convert(complaint, "claims", 1, AGENT_LI)
    with pytest.raises(CallbackError, match="请选择投诉类别"):
        callbacks.convert(complaint, "weather", 1, AGENT_LI)
