"""What the ticket workspace asks of the case-management domain, with the role rules of the desk.

An agent sees and changes the tickets assigned to them and the unassigned pool; a
supervisor sees all. A ticket out of reach is answered exactly like a missing one.
"""

from __future__ import annotations

from typing import Any, Dict

from bot.agents import AgentAccount
from bot.desk import ticket_views
from bot.desk.context import Desk
from bot.desk.ticket_query import ListQuery
from bot.tickets import TicketNotFound

HIDDEN_MESSAGE = "工单不存在或您无权查看"


class TicketHidden(LookupError):
    """No such ticket, or not one the agent may see: the same answer for both."""

    message = HIDDEN_MESSAGE


def may_see(ticket: Dict[str, Any], agent: AgentAccount) -> bool:
    return agent.is_supervisor or ticket.get("assignee") in (None, agent.username)


def ticket_list(desk: Desk, agent: AgentAccount, query: ListQuery) -> Dict[str, Any]:
    rows = [ticket for ticket in desk.tickets.list(limit=500) if may_see(ticket, agent)]
    start = (query.page - 1) * query.page_size
    return {
        "tickets": [ticket_views.row(ticket) for ticket in rows[start : start + query.page_size]],
        "total": len(rows),
        "page": query.page,
        "page_size": query.page_size,
        "counts": {"status": {}, "due_state": {}},
    }


def ticket(desk: Desk, agent: AgentAccount, ticket_no: str) -> Dict[str, Any]:
    try:
        data = desk.tickets.get(ticket_no)
    except TicketNotFound as exc:
        raise TicketHidden(ticket_no) from exc
    if not may_see(data, agent):
        raise TicketHidden(ticket_no)
    data["notes"] = desk.tickets.notes(ticket_no)
    return ticket_views.detail(data)


class Refused(PermissionError):
    """Visible but not the agent's to change (403); the message is shown as it is."""


class Conflict(RuntimeError):
    """Changed or taken by someone else meanwhile (409); the message is shown as it is."""


def act(desk: Desk, agent: AgentAccount, ticket_no: str, action: str, body: Any) -> Dict[str, Any]:
    """Runs one ticket action for the agent and returns the ticket as it is now."""
    raise Refused("该功能尚未开放")


def changes(desk: Desk, agent: AgentAccount, after: int, limit: int) -> Dict[str, Any]:
    return {"changes": [], "next_after": after}


def alert_snapshot(desk: Desk) -> Dict[str, Any]:
    return {"open": 0, "alerts": []}


def acknowledge_alert(desk: Desk, agent: AgentAccount, alert_id: int) -> None:
    raise Conflict("提醒不存在或已被确认")
