"""Ticket ownership: atomic claims, supervisor assignment with reasons, 回避."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import select

from bot.agents import AgentService, Role
from bot.models import Ticket, TicketEvent
from bot.ownership import Ownership, OwnershipError
from bot.tickets import LifecycleError
from bot.workspace import TicketFilter, Workspace
from tests.bot.races import at_once
from tests.bot.sample_tickets import shanghai, submit

RECEIVED = shanghai(2026, 6, 1, 10)


@pytest.fixture
def agents(db):
    service = AgentService(db)
    return {
        name: service.add(name, name.title(), "a-long-password", role)
        for name, role in [("li", Role.AGENT), ("wang", Role.AGENT), ("zhao", Role.AGENT), ("boss", Role.SUPERVISOR)]
    }


@pytest.fixture
def ownership(db, settings):
    return Ownership(db, settings)


def refused(call, message):
    with pytest.raises(OwnershipError) as caught:
        call()
    assert str(caught.value) == message


def trail(db, ticket_no):
    with db.transaction() as session:
        return session.execute(
            select(TicketEvent.field, TicketEvent.old_value, TicketEvent.new_value, TicketEvent.actor)
            .join(Ticket)
            .where(Ticket.ticket_no == ticket_no, TicketEvent.field.in_(["assignee", "assign_reason", "subject_staff"]))
            .order_by(TicketEvent.id)
        ).all()


def test_of_agents_claiming_at_once_exactly_one_wins(db, settings, ownership, agents):
    for _ in range(3):  # a race is only a race if it is repeated
        ticket_no = submit(db, settings, RECEIVED)
        names = ("li", "wang", "zhao")
        outcomes = at_once([partial(ownership.claim, ticket_no, agents[name]) for name in names])
        results = {name: out["assignee"] if isinstance(out, dict) else str(out) for name, out in zip(names, outcomes)}
        winners = [name for name, result in results.items() if result == name]
        assert len(winners) == 1, results
        losers = [result for name, result in results.items() if name not in winners]
        assert losers == [f"该工单已由 {winners[0]} 负责"] * 2
        assert trail(db, ticket_no) == [("assignee", None, winners[0], winners[0])]


def test_a_claim_bumps_the_version_so_older_pages_are_stale(db, settings, ownership, agents):
    ticket_no = submit(db, settings, RECEIVED)
    claimed = ownership.claim(ticket_no, agents["li"])
    assert claimed["version"] == 2 and claimed["assignee"] == "li"
    refused(lambda: ownership.claim(ticket_no, agents["li"]), "您已认领该工单")
    page = Workspace(db, settings).list(agents["li"], TicketFilter(assignee="mine"))
    assert [row["ticket_no"] for row in page.rows] == [ticket_no]


def test_supervisors_assign_and_reassign_with_a_reason(db, settings, ownership, agents):
    ticket_no = submit(db, settings, RECEIVED)
    refused(lambda: ownership.assign(ticket_no, "wang", "熟悉理赔", 1, agents["li"]), "只有主管可以分派或改派工单")
    refused(lambda: ownership.assign(ticket_no, "ghost", "熟悉理赔", 1, agents["boss"]), "没有这个在职的坐席账号")
    with pytest.raises(LifecycleError, match="请填写分派原因"):
        ownership.assign(ticket_no, "wang", " ", 1, agents["boss"])
    assigned = ownership.assign(ticket_no, "wang", "熟悉理赔", 1, agents["boss"])
    reassigned = ownership.assign(ticket_no, "li", "王休假", assigned["version"], agents["boss"])
    assert reassigned["assignee"] == "li"
    assert trail(db, ticket_no) == [
        ("assignee", None, "wang", "boss"),
        ("assign_reason", None, "熟悉理赔", "boss"),
        ("assignee", "wang", "li", "boss"),
        ("assign_reason", None, "王休假", "boss"),
    ]
    released = ownership.release(ticket_no, reassigned["version"], agents["li"])
    assert released["assignee"] is None


def test_the_agent_complained_about_never_handles_the_ticket(db, settings, ownership, agents):
    ticket_no = submit(db, settings, RECEIVED)
    marked = ownership.set_subject_staff(ticket_no, "wang", 1, agents["boss"])
    refused(lambda: ownership.claim(ticket_no, agents["wang"]), "您是本工单的被投诉人，需回避，不能处理该工单")
    refused(
        lambda: ownership.assign(ticket_no, "wang", "人手不足", marked["version"], agents["boss"]),
        "该人员是本工单的被投诉人，需回避，不能分派给他",
    )
    assert ticket_no not in [
        row["ticket_no"] for row in Workspace(db, settings).list(agents["wang"], TicketFilter()).rows
    ]
    claimed = ownership.claim(ticket_no, agents["li"])
    refused(
        lambda: ownership.set_subject_staff(ticket_no, "li", claimed["version"], agents["li"]),
        "被投诉人员不能处理本工单，请先由主管改派给其他人员",
    )


def test_closed_tickets_are_not_claimed(db, settings, ownership, agents):
    ticket_no = submit(db, settings, RECEIVED, {"status": "closed"})
    refused(lambda: ownership.claim(ticket_no, agents["li"]), "工单已结案")
