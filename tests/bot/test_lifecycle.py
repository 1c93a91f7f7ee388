"""Working a ticket to 结案: content required per step, versions, withdrawal, reopening, audit."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select

from bot.lifecycle import STALE_MESSAGE, Lifecycle, StaleTicket
from bot.models import Ticket, TicketEvent
from bot.tickets import LifecycleError, TicketService
from tests.bot.clocks import Clock
from tests.bot.races import at_once
from tests.bot.sample_tickets import AGENT_LI, AGENT_WANG, SUPERVISOR, shanghai, submit

RECEIVED = shanghai(2026, 6, 1, 10)


@pytest.fixture
def clock():
    return Clock(RECEIVED + timedelta(hours=1))


@pytest.fixture
def lifecycle(db, settings, clock):
    return Lifecycle(db, settings, clock=clock)


@pytest.fixture
def ticket_no(db, settings):
    return submit(db, settings, RECEIVED, {"assignee": "li"})


def events(db, ticket_no):
    with db.transaction() as session:
        rows = session.execute(
            select(TicketEvent).join(Ticket).where(Ticket.ticket_no == ticket_no).order_by(TicketEvent.id)
        ).scalars()
        return [(event.field, event.old_value, event.new_value, event.actor) for event in rows]


def refused(call, message):
    with pytest.raises(LifecycleError) as caught:
        call()
    assert message in str(caught.value)


CLOSING = {
    "follow_up_reached": True,
    "follow_up_satisfied": False,
    "root_cause_controllable": True,
    "root_cause_category": "service_timeliness",
    "improvement_action": "理赔时效纳入月度考核",
}


def test_each_step_needs_its_content_before_the_ticket_moves_on(lifecycle, ticket_no, db):
    ticket = lifecycle.advance(ticket_no, "investigating", {}, 1, AGENT_LI)
    assert ticket["status"] == "investigating" and ticket["version"] == 2
    refused(lambda: lifecycle.advance(ticket_no, "processing", {}, 2, AGENT_LI), "请先填写：核实情况")
    ticket = lifecycle.advance(ticket_no, "processing", {"findings": "  核实理赔材料已于5月齐全  "}, 2, AGENT_LI)
    assert ticket["findings"] == "核实理赔材料已于5月齐全"
    refused(
        lambda: lifecycle.advance(ticket_no, "feedback", {"decision": "赔付"}, 3, AGENT_LI),
        "请先填写：处理依据和理由、处理结论",
    )
    refused(lambda: lifecycle.advance(ticket_no, "feedback", {"outcome": "won"}, 3, AGENT_LI), "请选择有效的处理结论")
    content = {"decision": "全额赔付", "decision_basis": "合同第5条", "outcome": "upheld"}
    lifecycle.advance(ticket_no, "feedback", content, 3, AGENT_LI)
    refused(lambda: lifecycle.advance(ticket_no, "follow_up", {}, 4, AGENT_LI), "请先填写：处理结果告知内容")
    lifecycle.advance(ticket_no, "follow_up", {"result_notice": "经核实……如不满意可申请调解、仲裁或诉讼"}, 4, AGENT_LI)
    refused(
        lambda: lifecycle.advance(ticket_no, "closed", {"follow_up_reached": "true"}, 5, AGENT_LI),
        "请先填写：投诉人是否满意、是否可控、根因分类",
    )
    without_action = {**CLOSING, "improvement_action": None}
    refused(lambda: lifecycle.advance(ticket_no, "closed", without_action, 5, AGENT_LI), "请先填写：整改措施")
    closed = lifecycle.advance(ticket_no, "closed", CLOSING, 5, AGENT_LI)
    assert closed["status"] == "closed" and closed["closed_at"] and closed["follow_up_satisfied"] is False
    trail = events(db, ticket_no)
    assert ("findings", None, "核实理赔材料已于5月齐全", "li") in trail
    assert ("status", "follow_up", "closed", "li") in trail
    assert ("root_cause_controllable", None, "true", "li") in trail


def test_not_reached_and_not_controllable_need_less(lifecycle, ticket_no):
    content = {
        "findings": "已核实",
        "decision": "不予赔付",
        "decision_basis": "责任免除条款",
        "outcome": "not_upheld",
        "result_notice": "书面告知",
        "follow_up_reached": "否",
        "root_cause_controllable": False,
        "root_cause_category": "customer_expectation",
    }
    assert lifecycle.advance(ticket_no, "closed", content, 1, AGENT_LI)["status"] == "closed"


def test_skipping_steps_needs_the_content_of_every_step_skipped(lifecycle, ticket_no):
    refused(
        lambda: lifecycle.advance(ticket_no, "closed", {}, 1, AGENT_LI),
        "请先填写：核实情况、处理结果、处理依据和理由、处理结论、处理结果告知内容、是否联系上投诉人、是否可控、根因分类",
    )


def test_the_old_ticket_service_follows_the_same_content_rules(db, settings, ticket_no):
    service = TicketService(db, settings)
    service.change(ticket_no, "li", status="investigating")
    refused(lambda: service.change(ticket_no, "li", status="processing"), "请先填写：核实情况")
    refused(lambda: service.change(ticket_no, "li", status="accepted"), "不能从调查变更为受理")


def test_a_page_loaded_before_a_change_is_refused(lifecycle, ticket_no):
    lifecycle.record(ticket_no, {"findings": "初步核实"}, 1, AGENT_LI)
    with pytest.raises(StaleTicket) as caught:
        lifecycle.advance(ticket_no, "investigating", {}, 1, SUPERVISOR)
    assert str(caught.value) == STALE_MESSAGE == "工单已被他人修改，请刷新页面后重试"


def test_of_two_handlers_saving_the_same_version_at_once_one_wins(lifecycle, ticket_no):
    outcomes = at_once(
        [partial(lifecycle.record, ticket_no, {"findings": f"核实{i}"}, 1, SUPERVISOR) for i in range(4)]
    )
    assert sorted(type(out).__name__ for out in outcomes) == ["StaleTicket", "StaleTicket", "StaleTicket", "dict"]


def test_only_the_owner_or_a_supervisor_works_a_ticket(lifecycle, db, settings):
    pool = submit(db, settings, RECEIVED)
    refused(lambda: lifecycle.advance(pool, "investigating", {}, 1, AGENT_LI), "请先认领该工单")
    theirs = submit(db, settings, RECEIVED, {"assignee": "wang"})
    refused(lambda: lifecycle.advance(theirs, "investigating", {}, 1, AGENT_LI), "该工单不由您负责")
    assert lifecycle.advance(theirs, "investigating", {}, 1, SUPERVISOR)["status"] == "investigating"


def test_content_is_checked_and_bounded(lifecycle, ticket_no):
    refused(lambda: lifecycle.record(ticket_no, {"status": "closed"}, 1, AGENT_LI), "包含无法保存的字段：status")
    refused(lambda: lifecycle.record(ticket_no, {"findings": "x" * 5001}, 1, AGENT_LI), "核实情况过长")
    refused(lambda: lifecycle.record(ticket_no, {"findings": "a\x00b"}, 1, AGENT_LI), "无法识别的字符")
    refused(lambda: lifecycle.record(ticket_no, {"follow_up_reached": "maybe"}, 1, AGENT_LI), "请选择“是”或“否”")
    refused(lambda: lifecycle.record(ticket_no, {"root_cause_category": "bad_luck"}, 1, AGENT_LI), "根因分类")
    assert lifecycle.record(ticket_no, {"findings": "<b>核实</b>"}, 1, AGENT_LI)["findings"] == "<b>核实</b>"


def test_withdrawal_closes_and_a_supervisor_reopens_with_a_reason(lifecycle, ticket_no, db, clock):
    withdrawn = lifecycle.withdraw(ticket_no, 1, AGENT_LI, note="客户来电撤诉")
    assert withdrawn["status"] == "closed" and withdrawn["withdrawn_at"]
    refused(lambda: lifecycle.advance(ticket_no, "closed", CLOSING, 2, AGENT_LI), "请由主管重新打开")
    refused(lambda: lifecycle.reopen(ticket_no, "客户补充新材料", 2, AGENT_LI), "只有主管")
    refused(lambda: lifecycle.reopen(ticket_no, " ", 2, SUPERVISOR), "请填写重新打开的原因")
    clock.advance(days=20)
    reopened = lifecycle.reopen(ticket_no, "客户补充新材料", 2, SUPERVISOR)
    assert reopened["status"] == "investigating" and reopened["reopened_count"] == 1
    assert reopened["closed_at"] is None and reopened["withdrawn_at"] is None
    refused(lambda: lifecycle.reopen(ticket_no, "再次", 3, SUPERVISOR), "只有已结案的工单")
    trail = events(db, ticket_no)
    assert ("withdrawn", None, "客户来电撤诉", "li") in trail
    assert ("status", "closed", "investigating", "boss") in trail and (
        "reopened",
        None,
        "客户补充新材料",
        "boss",
    ) in trail
    # An agent cannot reopen, and a withdrawn ticket cannot be withdrawn twice.
    assert AGENT_WANG.username != "li"
