"""Deadline changes on a ticket: complex, supervisor-approved extensions, appraisal pauses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.lifecycle import Lifecycle
from bot.models import Notice, Ticket, TicketEvent, TicketPause
from bot.tickets import LifecycleError
from tests.bot.clocks import Clock
from tests.bot.sample_tickets import AGENT_LI, SUPERVISOR, shanghai, submit

RECEIVED = shanghai(2026, 6, 1, 23, 30)  # deadline 16 June


@pytest.fixture
def clock():
    return Clock(shanghai(2026, 6, 2, 10))


@pytest.fixture
def lifecycle(db, settings, clock):
    return Lifecycle(db, settings, clock=clock)


@pytest.fixture
def ticket_no(db, settings):
    return submit(db, settings, RECEIVED, {"assignee": "li"})


def refused(call, message):
    with pytest.raises(LifecycleError, match=message):
        call()


def notices(db, ticket_no):
    with db.transaction() as session:
        rows = session.execute(
            select(Notice).join(Ticket, Ticket.id == Notice.ticket_id).where(Ticket.ticket_no == ticket_no)
        ).scalars()
        return [(row.kind, row.detail, row.sent_at) for row in rows]


def test_complex_then_a_supervisor_approved_extension_moves_the_deadline(lifecycle, ticket_no, db):
    refused(
        lambda: lifecycle.request_extension(ticket_no, 10, "需调取医院病历", 1, AGENT_LI), "请先将工单标记为复杂案件"
    )
    ticket = lifecycle.mark_complex(ticket_no, "涉及多家医院", 1, AGENT_LI)
    assert ticket["is_complex"] and ticket["deadline"] == "2026-07-01"
    refused(lambda: lifecycle.request_extension(ticket_no, 31, "需调取病历", 2, AGENT_LI), "延长天数须在1至30天之间")
    ticket = lifecycle.request_extension(ticket_no, 20, "需调取医院病历", 2, AGENT_LI)
    assert ticket["extension_requested_days"] == 20 and ticket["deadline"] == "2026-07-01"
    refused(lambda: lifecycle.approve_extension(ticket_no, 3, AGENT_LI), "延期须由主管审批")
    ticket = lifecycle.approve_extension(ticket_no, 3, SUPERVISOR)
    assert ticket["deadline"] == "2026-07-21" and ticket["extension_days"] == 20
    assert ticket["extension_approved_by"] == "boss" and ticket["extension_requested_days"] is None
    assert notices(db, ticket_no) == [("extension", "需调取医院病历", None)]  # rendered: bot/notices.py
    refused(lambda: lifecycle.approve_extension(ticket_no, 4, SUPERVISOR, days=11, reason="再延"), "最多还可延长10天")
    ticket = lifecycle.approve_extension(ticket_no, 4, SUPERVISOR, days=10, reason="鉴定机构排期")
    assert ticket["deadline"] == "2026-07-31" and ticket["extension_days"] == 30
    with db.transaction() as session:
        trail = session.execute(select(TicketEvent.field, TicketEvent.old_value, TicketEvent.new_value)).all()
    assert ("deadline", "2026-06-16", "2026-07-01") in trail and ("deadline", "2026-07-21", "2026-07-31") in trail


def test_a_supervisor_can_refuse_an_extension(lifecycle, ticket_no):
    lifecycle.mark_complex(ticket_no, "涉及多家医院", 1, AGENT_LI)
    lifecycle.request_extension(ticket_no, 5, "等待材料", 2, AGENT_LI)
    ticket = lifecycle.reject_extension(ticket_no, "材料可在期限内取得", 3, SUPERVISOR)
    assert ticket["extension_requested_days"] is None and ticket["deadline"] == "2026-07-01"
    refused(lambda: lifecycle.approve_extension(ticket_no, 4, SUPERVISOR), "没有待审批的延期申请")


def test_appraisal_days_do_not_count(lifecycle, ticket_no, db, clock):
    refused(lambda: lifecycle.start_pause(ticket_no, "holiday", "x", 1, AGENT_LI), "请选择鉴定、检测或评估")
    ticket = lifecycle.start_pause(ticket_no, "appraisal", "伤残等级鉴定", 1, AGENT_LI)
    assert ticket["paused_since"]
    refused(lambda: lifecycle.start_pause(ticket_no, "assessment", "再次", 2, AGENT_LI), "已在暂停计时中")
    clock.advance(days=3)
    ticket = lifecycle.end_pause(ticket_no, 2, AGENT_LI)
    assert ticket["paused_since"] is None and ticket["deadline"] == (date(2026, 6, 16) + timedelta(days=3)).isoformat()
    refused(lambda: lifecycle.end_pause(ticket_no, 3, AGENT_LI), "没有在暂停计时")
    with db.transaction() as session:
        pause = session.execute(select(TicketPause)).scalar_one()
        assert pause.ended_by == "li" and pause.kind == "appraisal"
    assert [kind for kind, _, _ in notices(db, ticket_no)] == ["pause"]
    case_file = lifecycle.case_file(ticket_no)
    assert [(p["kind"], p["note"], p["ended_by"]) for p in case_file["pauses"]] == [("appraisal", "伤残等级鉴定", "li")]
    assert case_file["pauses"][0]["started_at"].endswith("+00:00")
    assert [n["kind"] for n in case_file["notices"]] == ["pause"] and case_file["call_attempts"] == []
    assert case_file["linked_ticket_no"] is None and case_file["linked_from"] == []


def test_closed_tickets_keep_their_deadline(lifecycle, ticket_no):
    lifecycle.withdraw(ticket_no, 1, AGENT_LI)
    refused(lambda: lifecycle.mark_complex(ticket_no, "晚了", 2, AGENT_LI), "工单已结案")
    refused(lambda: lifecycle.start_pause(ticket_no, "appraisal", "晚了", 2, AGENT_LI), "工单已结案")
