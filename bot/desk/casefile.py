"""What the ticket workspace asks of the case-management domain, with the role rules of the desk.

An agent sees and changes the tickets assigned to them and the unassigned pool; a
supervisor sees all. A ticket out of reach is answered exactly like a missing one.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping

from bot.agents import AgentAccount
from bot.case_review import MALICIOUS_FIELD, CaseReview
from bot.desk import ticket_views
from bot.desk.context import Desk
from bot.notice_sender import links_missing, unavailable_reason
from bot.ticket_feed import changes_since
from bot.tickets import TicketNotFound
from bot.workspace import TicketFilter

HIDDEN_MESSAGE = "工单不存在或您无权查看"
MAX_ALERTS_SHOWN = 100
# Ticket fields that hold a desk username: the page shows them, and their audit entries, by display name.
ACCOUNT_FIELDS = ("assignee", "subject_staff", "extension_requested_by", "extension_approved_by")


class TicketHidden(LookupError):
    """No such ticket, or not one the agent may see: the same answer for both."""

    message = HIDDEN_MESSAGE


def _named(item: Dict[str, Any], names: Mapping[str, str], *fields: str) -> Dict[str, Any]:
    """The item with `<field>_name`: the display name of the account a field names (usernames stay for the API)."""
    return {**item, **{f"{field}_name": names.get(item.get(field) or "", item.get(field)) for field in fields}}


def _named_event(event: Dict[str, Any], names: Mapping[str, str]) -> Dict[str, Any]:
    """An audit entry with the actor's display name, and the old and new ones where the field names a person."""
    named = _named(event, names, "actor")
    return _named(named, names, "old_value", "new_value") if event.get("field") in ACCOUNT_FIELDS else named


def ticket_list(desk: Desk, agent: AgentAccount, query: TicketFilter) -> Dict[str, Any]:
    page = desk.workspace.list(agent, query)
    names = desk.supervision.names()
    return {
        "tickets": [_named(ticket_views.row(row), names, "assignee") for row in page.rows],
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
        "counts": {"status": page.status_counts, "deadline_state": page.deadline_counts},
    }


def visible(desk: Desk, agent: AgentAccount, ticket_no: str) -> Dict[str, Any]:
    """The ticket's list row, if the agent may see it."""
    try:
        return desk.workspace.visible(agent, ticket_no)
    except TicketNotFound as exc:
        raise TicketHidden(ticket_no) from exc


def ticket(desk: Desk, agent: AgentAccount, ticket_no: str) -> Dict[str, Any]:
    listed = visible(desk, agent, ticket_no)
    stored = desk.tickets.get(ticket_no)
    # A WeChat complainant outside the 48-hour window gets a template message: say when it cannot link anywhere.
    stored["wechat_without_link"] = (
        links_missing(desk.notice_routes).get("wechat_template") if stored.get("channel") == "wechat" else None
    )
    stored["notes"] = desk.tickets.notes(ticket_no)
    stored.update(desk.lifecycle.case_file(ticket_no))
    stored["sms_unavailable"] = unavailable_reason(desk.notice_routes, "sms")
    without_link = getattr(desk.notice_routes.get("sms"), "without_link", None)
    stored["sms_without_link"] = without_link() if without_link is not None else None
    names = desk.supervision.names()
    data = _named(ticket_views.detail(listed, stored), names, *ACCOUNT_FIELDS)
    data["events"] = [_named_event(event, names) for event in data["events"]]
    data["notes"] = [_named(note, names, "author") for note in data["notes"]]
    data["call_attempts"] = [_named(attempt, names, "actor") for attempt in data["call_attempts"]]
    # Review marks are supervisors' business: an agent handling the complaint never sees a malicious mark.
    if agent.is_supervisor:
        data.update(CaseReview(desk.db).marks(ticket_no))
    else:
        data["events"] = [event for event in data["events"] if event.get("field") != MALICIOUS_FIELD]
    data["root_cause_label"] = desk.lifecycle.root_causes.labels.get(stored.get("root_cause_category") or "", "")
    return data


class Refused(PermissionError):
    """Visible but not the agent's to change (403); the message is shown as it is."""


class Conflict(RuntimeError):
    """Changed or taken by someone else meanwhile (409); the message is shown as it is."""


def changes(desk: Desk, agent: AgentAccount, after: int, limit: int) -> Dict[str, Any]:
    """The change feed page after the cursor `after`, and the cursor for the next page."""
    rows = changes_since(desk.db, agent, after, limit)
    return {"changes": rows, "next_after": rows[-1]["id"] if rows else after}


def alert_snapshot(desk: Desk, agent: AgentAccount) -> Dict[str, Any]:
    """The open alerts the agent may see (newest first) and how many there are: the badge and /alerts."""
    return {
        "open": desk.alerts.unacknowledged_count(agent),
        "alerts": desk.alerts.list(agent, unacknowledged_only=True, limit=MAX_ALERTS_SHOWN),
    }


def acknowledge_alert(desk: Desk, agent: AgentAccount, alert_id: int) -> None:
    if not desk.alerts.acknowledge(alert_id, agent):
        raise Conflict("提醒不存在或已被确认")
