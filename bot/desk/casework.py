"""What an agent does with a conversation and its ticket, as plain functions of the services.

Inputs come from the browser: every field is checked and bounded here, and
errors are Chinese sentences the desk shows as they are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy.orm import Session

from bot import risk, validators
from bot.agents import AgentAccount
from bot.db import Database
from bot.desk import fields
from bot.desk.fields import InvalidInput
from bot.handoff import HandoffService
from bot.models import Ticket
from bot.notices import NoticeTexts, queue_notice
from bot.ownership import Ownership
from bot.privacy import mask_phone, mask_text
from bot.replies import FIELD_LABELS, field_value_for_display
from bot.supervision import display_names
from bot.taxonomy import Taxonomy
from bot.tickets import (
    CATEGORY_LABELS,
    ComplaintDraft,
    LifecycleError,
    TicketService,
    TicketStatus,
)

MAX_MESSAGE = 2000
MAX_NOTE = 5000
MAX_SUB_REASON = 200

REASON_LABELS = {
    "escalation_threat": "投诉升级（媒体/诉讼/监管）",
    "validation_failure": "信息多次校验失败",
    "fallback": "机器人多次未能理解",
    "user_request": "用户要求人工",
}
CHANNEL_LABELS = {"rest": "网页/App", "socketio": "网页/App", "web": "网页/App", "wechat": "微信公众号"}
CATEGORY_CHOICES: List[Tuple[str, str]] = list(CATEGORY_LABELS.items())
STATUS_CHOICES: List[Tuple[str, str]] = [(status.value, status.label) for status in TicketStatus]


def _utc(iso: Optional[str]) -> Optional[str]:
    # SQLite hands back naive datetimes; all are stored in UTC, and the browser
    # must not read them as its local time.
    if iso is None or iso.endswith("+00:00"):
        return iso
    return iso + "+00:00"


def _card(row: Dict[str, Any], names: Mapping[str, str]) -> Dict[str, Any]:
    """A handoff request as the queue shows it: labels, masked fields, no raw slots."""
    slots = row.get("slots") or {}
    return {
        "id": row["id"],
        "reason": REASON_LABELS.get(row["reason"], row["reason"]),
        "threat": row["reason"] == "escalation_threat",
        "channel": CHANNEL_LABELS.get(row["channel"], row["channel"]),
        "created_at": _utc(row["created_at"]),
        "claimed_at": _utc(row.get("claimed_at")),
        "assigned_to": names.get(row.get("assigned_to") or "", row.get("assigned_to")),
        "position": row.get("position"),
        "ticket_no": row.get("ticket_no"),
        "fields": [
            {"label": FIELD_LABELS.get(name, name), "value": mask_text(field_value_for_display(name, str(value)))}
            for name, value in slots.items()
            if name in FIELD_LABELS
        ],
    }


def board(handoffs: HandoffService, agent: AgentAccount) -> Dict[str, Any]:
    """The queue page: waiting requests for everyone; held ones by role."""
    names = _names(handoffs.db)
    return {
        "waiting": [_card(row, names) for row in handoffs.queue()],
        "held": [_card(row, names) for row in handoffs.assigned(None if agent.is_supervisor else agent)],
        "supervisor": agent.is_supervisor,
    }


def case(tickets: TicketService, held: Dict[str, Any]) -> Dict[str, Any]:
    data = {"handoff": _card(held, _names(tickets.db)), "ticket": None, "draft": _draft_defaults(held)}
    if held.get("ticket_no"):
        data["ticket"] = ticket_view(tickets, held["ticket_no"])
    return data


def _names(db: Database) -> Dict[str, str]:
    with db.transaction() as session:
        return display_names(session)


def ticket_view(tickets: TicketService, ticket_no: str) -> Dict[str, Any]:
    """The ticket beside the conversation; people (assignee, note authors, audit actors) by display name."""
    ticket = tickets.get(ticket_no)
    names = _names(tickets.db)
    return {
        "ticket_no": ticket["ticket_no"],
        "kind": ticket["kind"],
        "status": ticket["status"],
        "status_label": TicketStatus(ticket["status"]).label,
        "assignee": names.get(ticket.get("assignee") or "", ticket.get("assignee")),
        "category": ticket["category"],
        "sub_reason": ticket["sub_reason"] or "",
        "complainant_name": ticket["complainant_name"],
        "phone_masked": mask_phone(ticket["phone_number"]),
        "policy_number": ticket["policy_number"] or "",
        "description": mask_text(ticket["description"]),
        "customer_request": mask_text(ticket["customer_request"]),
        "received_at": ticket["received_at"],
        "deadline": ticket["deadline"],
        "events": [dict(event, actor=names.get(event["actor"], event["actor"])) for event in ticket["events"]],
        "notes": [dict(note, author=names.get(note["author"], note["author"])) for note in tickets.notes(ticket_no)],
    }


def _draft_defaults(held: Dict[str, Any]) -> Dict[str, str]:
    slots = held.get("slots") or {}
    return {
        name: str(slots[name])
        for name in (
            "complaint_category",
            "complainant_name",
            "complaint_description",
            "customer_request",
            "policy_number",
        )
        if slots.get(name) not in (None, "skipped")
    }


def message_text(body: Any) -> validators.Check:
    try:
        return validators.Check(value=fields.text(body, "text", MAX_MESSAGE))
    except InvalidInput as exc:
        return validators.Check(error=str(exc))


def _checked(check: validators.Check) -> str:
    if not check.ok:
        raise InvalidInput(check.error)
    return check.value or ""


def create_ticket(
    tickets: TicketService,
    handoffs: HandoffService,
    ownership: Ownership,
    held: Dict[str, Any],
    agent: AgentAccount,
    body: Any,
    heard: Sequence[str] = (),
) -> Dict[str, Any]:
    """A ticket for a handed-off conversation that has none (e.g. the bot never finished the form);
    the agent who creates it owns it (首问负责制). Threats in what the policyholder wrote (`heard`)
    or in the description flag it, as they do the bot's tickets."""
    if held.get("ticket_no"):
        raise InvalidInput("该会话已有工单")
    category = fields.text(body, "category", 32)
    if category not in CATEGORY_LABELS:
        raise InvalidInput("请选择投诉类别")
    slots = held.get("slots") or {}
    phone = fields.text(body, "phone_number", 32, required=False) or str(slots.get("phone_number") or "")
    policy = fields.text(body, "policy_number", 64, required=False)
    draft = ComplaintDraft(
        conversation_id=held["conversation_id"],
        channel=held["channel"],
        category=category,
        complainant_name=_checked(validators.complainant_name(fields.text(body, "complainant_name", 100))),
        phone_number=_checked(validators.phone_number(phone)),
        description=_checked(
            validators.free_text(fields.text(body, "description", validators.MAX_TEXT_LENGTH), "投诉事项")
        ),
        customer_request=_checked(
            validators.free_text(fields.text(body, "customer_request", validators.MAX_TEXT_LENGTH), "诉求", minimum=2)
        ),
        policy_number=_checked(validators.policy_number(policy, tickets.settings.policy_number_pattern))
        if policy
        else None,
    )
    draft = replace(draft, risk_flags=tuple(risk.detect([*heard, draft.description])))
    texts = NoticeTexts(tickets.settings)

    def acknowledge(session: Session, ticket: Ticket) -> None:
        # The bot's confirmation goes through the outbox: written with the ticket, sent when Rasa answers.
        queue_notice(session, ticket, "acknowledgement", tickets.clock(), texts=texts)

    receipt = tickets.submit(draft, submission_key=f"handoff:{held['id']}", then=acknowledge)
    handoffs.link_ticket(held["id"], agent, receipt.ticket_no)
    tickets.add_note(receipt.ticket_no, agent.username, "由人工客服在转人工会话中创建")
    ownership.claim(receipt.ticket_no, agent)
    return ticket_view(tickets, receipt.ticket_no)


def _ticket_no(held: Dict[str, Any]) -> str:
    if not held.get("ticket_no"):
        raise InvalidInput("该会话还没有工单，请先创建")
    return held["ticket_no"]


def sub_reason_choices(taxonomy: Taxonomy) -> Dict[str, List[Tuple[str, str]]]:
    """Each category's sub-reasons as (code, label) pairs for the form's select, in the taxonomy file's order
    (pairs, not a mapping: the page's JSON sorts a mapping's keys)."""
    return {code: list(category.sub_reasons.items()) for code, category in taxonomy.categories.items()}


def _sub_reason(body: Any, taxonomy: Taxonomy, category: str, stored: Dict[str, Any]) -> Optional[str]:
    """A sub-reason listed for the (new) category, or none; the ticket's own value stays accepted while its
    category does, even when the taxonomy no longer lists it (tickets keep what they were classified with)."""
    value = fields.text(body, "sub_reason", MAX_SUB_REASON, required=False) or None
    if value is None or (value == stored.get("sub_reason") and category == stored.get("category")):
        return value
    listed = taxonomy.categories[category].sub_reasons if category in taxonomy.categories else {}
    if value not in listed:
        raise InvalidInput("未知的细分原因，请从所选投诉类别的列表中选择")
    return value


def change_ticket(
    tickets: TicketService, held: Dict[str, Any], agent: AgentAccount, body: Any, taxonomy: Taxonomy
) -> Dict[str, Any]:
    ticket_no = _ticket_no(held)
    changes: Dict[str, Optional[str]] = {}
    if isinstance(body, dict) and "status" in body:
        status = fields.text(body, "status", 32)
        if status not in {value for value, _ in STATUS_CHOICES}:
            raise InvalidInput("未知的处理状态")
        changes["status"] = status
    if isinstance(body, dict) and "category" in body:
        category = fields.text(body, "category", 32)
        if category not in CATEGORY_LABELS:
            raise InvalidInput("未知的投诉类别")
        changes["category"] = category
    if isinstance(body, dict) and "sub_reason" in body:
        stored = tickets.get(ticket_no)
        changes["sub_reason"] = _sub_reason(body, taxonomy, changes.get("category") or stored["category"], stored)
    if not changes:
        raise InvalidInput("没有需要保存的修改")
    try:
        tickets.change(ticket_no, agent.username, **changes)
    except LifecycleError as exc:
        raise InvalidInput(f"状态不能这样变更：{exc}") from exc
    return ticket_view(tickets, ticket_no)


def add_note(tickets: TicketService, held: Dict[str, Any], agent: AgentAccount, body: Any) -> Dict[str, Any]:
    ticket_no = _ticket_no(held)
    tickets.add_note(ticket_no, agent.username, fields.text(body, "body", MAX_NOTE))
    return ticket_view(tickets, ticket_no)


def reveal_phone(tickets: TicketService, held: Dict[str, Any], agent: AgentAccount) -> Dict[str, str]:
    """The full number, for a call back; every look is in the audit trail."""
    return {"phone_number": tickets.reveal_phone(_ticket_no(held), agent.username)}
