"""Tickets as the workspace and the JSON API show them: labels, masked phone, timestamps with their UTC offset."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Dict, Iterable, Optional

from bot.callbacks import OUTCOME_LABELS as CALL_OUTCOME_LABELS
from bot.deadlines import DueState
from bot.desk.casework import CHANNEL_LABELS as CONVERSATION_CHANNELS
from bot.models import CASE_FIELDS
from bot.notices import ATTEMPT_OUTCOME_LABELS, NOTICE_STATUS_LABELS, ROUTE_LABELS
from bot.replies import RATING_LABELS
from bot.risk import RISK_FLAG_LABELS
from bot.step_content import FIELD_LABELS, OUTCOME_LABELS
from bot.tickets import TicketStatus
from bot.timekeeping import PAUSE_KINDS

CHANNEL_LABELS = {**CONVERSATION_CHANNELS, "desk": "工作台"}
DUE_STATE_LABELS = {state.value: state.label for state in DueState}
STATUS_LABELS = {status.value: status.label for status in TicketStatus}
# How the audit trail names what changed.
EVENT_LABELS = {
    **FIELD_LABELS,
    "status": "状态",
    "assignee": "负责人",
    "subject_staff": "被投诉人员",
    "category": "投诉类别",
    "sub_reason": "细分原因",
    "note": "内部备注",
    "phone_viewed": "查看完整号码",
    "deadline": "办结期限",
    "is_complex": "复杂案件",
    "complex_reason": "复杂案件理由",
    "extension_days": "延长天数",
    "extension_requested_days": "申请延长天数",
    "extension_requested_by": "延期申请人",
    "extension_reason": "延期理由",
    "extension_approved_by": "延期批准人",
    "paused_since": "暂停计时",
    "withdrawn": "撤诉",
    "reopened": "重新打开",
    "typical_case": "典型案例",
    "malicious_mark": "恶意投诉标记",
    "follow_up_question": "回访问题",
    "satisfaction": "投诉人评价",
    "satisfaction_at": "评价时间",
    "satisfaction_reason": "不满意原因",
}

# Fields a ticket page shows as they are (text the handler or policyholder typed, flags, numbers).
DETAIL_FIELDS = (
    "sub_reason",
    "policy_number",
    "description",
    "customer_request",
    "privacy_notice_version",
    "linked_ticket_no",
    *(name for name in CASE_FIELDS if name not in ("due_state", "linked_ticket_id")),
)
STAMP_FIELDS = (
    "received_at",
    "updated_at",
    "closed_at",
    "withdrawn_at",
    "paused_since",
    "escalated_at",
    "unreachable_at",
)


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


def row(ticket: Dict[str, Any]) -> Dict[str, Any]:
    """One line of the ticket list (bot.workspace's row), with the labels the desk shows."""
    state = ticket.get("deadline_state")
    return {
        **ticket,
        "channel_label": CHANNEL_LABELS.get(ticket["channel"], ticket["channel"]),
        "risk_labels": [RISK_FLAG_LABELS.get(flag, flag) for flag in ticket.get("risk_flags") or ()],
        "deadline_state_label": DUE_STATE_LABELS.get(state, "") if state else "",
        "received_at": stamp(ticket["received_at"]),
        "deadline": stamp(ticket["deadline"]),
    }


def detail(listed: Dict[str, Any], ticket: Dict[str, Any]) -> Dict[str, Any]:
    """Everything about one ticket: its list row and the stored fields; the phone stays masked."""
    data = row(listed)
    data.update({name: ticket.get(name) for name in DETAIL_FIELDS})
    data.update({name: stamp(ticket.get(name)) for name in STAMP_FIELDS})
    data["outcome_label"] = OUTCOME_LABELS.get(ticket.get("outcome") or "", "")
    # The complainant's own rating (bot/satisfaction.py), beside what the handler records in 跟进.
    data["satisfaction_label"] = RATING_LABELS.get(ticket.get("satisfaction") or "", "")
    data["follow_up_refusal"] = ticket.get("follow_up_refusal")
    data["conversation_id"] = ticket.get("conversation_id")
    data["events"] = [event_view(event) for event in ticket.get("events") or ()]
    data["notes"] = [{**note, "at": stamp(note.get("at"))} for note in ticket.get("notes") or ()]
    data["pauses"] = [
        {**_stamped(pause, ("started_at", "ended_at")), "kind_label": PAUSE_KINDS.get(pause.get("kind"), "")}
        for pause in ticket.get("pauses") or ()
    ]
    data["wechat_without_link"] = ticket.get("wechat_without_link")
    data["notices"] = [notice_view(notice) for notice in ticket.get("notices") or ()]
    # SMS reaches complainants of the desk and phone, and is every route's fallback: say when it is off.
    data["sms_unavailable"] = ticket.get("sms_unavailable")
    # An SMS without the notice link: its reader cannot see the full notice nor rate it.
    data["sms_without_link"] = ticket.get("sms_without_link")
    data["linked_from"] = list(ticket.get("linked_from") or ())
    data["call_attempts"] = [
        {**_stamped(attempt, ("at",)), "outcome_label": CALL_OUTCOME_LABELS.get(attempt.get("outcome"), "")}
        for attempt in ticket.get("call_attempts") or ()
    ]
    return data


def notice_view(notice: Dict[str, Any]) -> Dict[str, Any]:
    """A notice to the complainant with every delivery attempt: when, which route, how it ended, why."""
    return {
        **_stamped(notice, ("created_at", "sent_at", "next_attempt_at")),
        "status_label": NOTICE_STATUS_LABELS.get(notice.get("status") or "", notice.get("status")),
        "route_label": ROUTE_LABELS.get(notice.get("sent_via") or "", notice.get("sent_via") or ""),
        "delivery_attempts": [
            {
                **_stamped(attempt, ("at",)),
                "route_label": ROUTE_LABELS.get(attempt.get("route") or "", attempt.get("route")),
                "outcome_label": ATTEMPT_OUTCOME_LABELS.get(attempt.get("outcome") or "", attempt.get("outcome")),
            }
            for attempt in notice.get("delivery_attempts") or ()
        ],
    }


def event_view(event: Dict[str, Any]) -> Dict[str, Any]:
    """One audit entry: who changed which field when, old → new."""
    field = str(event.get("field"))
    return {
        "id": event.get("id"),
        "ticket_no": event.get("ticket_no"),
        "at": stamp(event.get("at")),
        "actor": event.get("actor"),
        "field": field,
        "field_label": EVENT_LABELS.get(field, field),
        "old_value": event.get("old_value"),
        "new_value": event.get("new_value"),
    }


def _stamped(item: Dict[str, Any], names: Iterable[str]) -> Dict[str, Any]:
    return {**item, **{name: stamp(item.get(name)) for name in names}}
