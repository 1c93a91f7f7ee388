"""Tickets as the workspace and the JSON API show them: labels, masked phone, timestamps with their UTC offset."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from bot.privacy import mask_phone
from bot.tickets import CATEGORY_LABELS, TicketStatus

KIND_LABELS = {"complaint": "投诉", "callback": "留言回电"}
CHANNEL_LABELS = {
    "rest": "网页/App",
    "socketio": "网页/App",
    "web": "网页/App",
    "wechat": "微信公众号",
    "desk": "工作台",
}
DUE_STATE_LABELS = {"on_time": "正常", "due_soon": "即将到期", "overdue": "已超期"}
RISK_FLAG_LABELS = {"media": "媒体曝光", "regulator": "监管投诉", "lawsuit": "诉讼", "violence": "人身威胁"}
OUTCOME_LABELS = {"upheld": "投诉成立", "partly_upheld": "部分成立", "not_upheld": "投诉不成立", "mediated": "调解处理"}
CALL_OUTCOME_LABELS = {"reached": "已接通", "no_answer": "无人接听", "wrong_number": "号码错误"}
STATUS_LABELS = {status.value: status.label for status in TicketStatus}

# Fields a ticket page shows as they are (text the handler or policyholder typed, flags, numbers).
DETAIL_FIELDS = (
    "sub_reason",
    "policy_number",
    "description",
    "customer_request",
    "subject_staff",
    "is_complex",
    "extension_days",
    "extension_reason",
    "extension_approved_by",
    "findings",
    "decision",
    "decision_basis",
    "outcome",
    "result_notice",
    "follow_up_reached",
    "follow_up_satisfied",
    "follow_up_note",
    "root_cause_controllable",
    "root_cause_category",
    "improvement_action",
    "reopened_count",
    "linked_ticket_no",
    "privacy_notice_version",
)
STAMP_FIELDS = ("received_at", "updated_at", "closed_at", "withdrawn_at")


def stamp(value: Any) -> Optional[str]:
    """An ISO 8601 timestamp with its UTC offset; stored times are UTC (SQLite returns them naive)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if "T" in text and not (text.endswith("Z") or text[-6] in "+-"):
        return text + "+00:00"
    return text


def _flags(value: Any) -> List[str]:
    if not value:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [item.strip() for item in items if item and item.strip()]


def row(ticket: Dict[str, Any]) -> Dict[str, Any]:
    """One line of the ticket list."""
    flags = _flags(ticket.get("risk_flags"))
    due_state = ticket.get("due_state") or "on_time"
    phone = ticket.get("phone_masked") or (mask_phone(ticket["phone_number"]) if ticket.get("phone_number") else "")
    return {
        "ticket_no": ticket["ticket_no"],
        "kind": ticket["kind"],
        "kind_label": KIND_LABELS.get(ticket["kind"], ticket["kind"]),
        "status": ticket["status"],
        "status_label": STATUS_LABELS.get(ticket["status"], ticket["status"]),
        "category": ticket["category"],
        "category_label": CATEGORY_LABELS.get(ticket["category"], ticket["category"]),
        "channel": ticket["channel"],
        "channel_label": CHANNEL_LABELS.get(ticket["channel"], ticket["channel"]),
        "complainant_name": ticket["complainant_name"],
        "phone_masked": phone,
        "assignee": ticket.get("assignee"),
        "priority": ticket.get("priority") or 0,
        "risk_flags": flags,
        "risk_labels": [RISK_FLAG_LABELS.get(flag, flag) for flag in flags],
        "received_at": stamp(ticket["received_at"]),
        "deadline": stamp(ticket["deadline"]),
        "days_left": ticket.get("days_left"),
        "due_state": due_state,
        "due_state_label": DUE_STATE_LABELS.get(due_state, due_state),
        "updated_at": stamp(ticket.get("updated_at")),
        "version": ticket.get("version", 0),
    }


def detail(ticket: Dict[str, Any]) -> Dict[str, Any]:
    """Everything about one ticket; the phone stays masked (revealing it is a separate, audited request)."""
    data = row(ticket)
    data.update({name: ticket.get(name) for name in DETAIL_FIELDS})
    data.update({name: stamp(ticket.get(name)) for name in STAMP_FIELDS})
    data["outcome_label"] = OUTCOME_LABELS.get(ticket.get("outcome") or "", "")
    data["conversation_id"] = ticket.get("conversation_id")
    data["events"] = [event_view(event) for event in ticket.get("events") or ()]
    data["notes"] = [{**note, "at": stamp(note.get("at"))} for note in ticket.get("notes") or ()]
    data["pauses"] = [_stamped(pause, ("started_at", "ended_at")) for pause in ticket.get("pauses") or ()]
    data["call_attempts"] = [
        {**_stamped(attempt, ("at",)), "outcome_label": CALL_OUTCOME_LABELS.get(attempt.get("outcome"), "")}
        for attempt in ticket.get("call_attempts") or ()
    ]
    return data


def event_view(event: Dict[str, Any]) -> Dict[str, Any]:
    """One audit entry: who changed which field when, old → new."""
    return {
        "id": event.get("id"),
        "ticket_no": event.get("ticket_no"),
        "at": stamp(event.get("at")),
        "actor": event.get("actor"),
        "field": event.get("field"),
        "old_value": event.get("old_value"),
        "new_value": event.get("new_value"),
    }


def _stamped(item: Dict[str, Any], names: Iterable[str]) -> Dict[str, Any]:
    return {**item, **{name: stamp(item.get(name)) for name in names}}
