"""The bodies of the ticket actions: each field typed, bounded and named in Chinese when it is wrong.

Whether a step has all the content it needs is the lifecycle's decision (bot/lifecycle.py);
here only the shape and size of what arrives is checked.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.desk import fields
from bot.desk.fields import InvalidInput
from bot.desk.ticket_views import CALL_OUTCOME_LABELS, OUTCOME_LABELS
from bot.desk.workspace import first_values
from bot.settings import Settings
from bot.tickets import TicketStatus

MAX_CONTENT = 5000
MAX_REASON = 500
MAX_SHORT = 200
MAX_VERSION = 2**31 - 1
MAX_CHANGES_PAGE = 500
USERNAME = re.compile(r"^[a-z0-9_.@-]{1,64}$")
PAUSE_KINDS = {"appraisal": "鉴定", "inspection": "检测", "assessment": "评估"}
STEP_TARGETS = {status.value for status in TicketStatus if status is not TicketStatus.ACCEPTED}


def version(body: Any) -> int:
    """The ticket version the page was loaded with (optimistic concurrency)."""
    value = fields.integer(body, "version", 0, MAX_VERSION, "工单版本")
    if value is None:
        raise InvalidInput("缺少工单版本，请刷新页面后重试")
    return value


def _optional(body: Any, name: str, label: str, limit: int = MAX_CONTENT) -> Optional[str]:
    return fields.text(body, name, limit, required=False, label=label) or None


def _optional_flag(body: Any, name: str, label: str) -> Optional[bool]:
    value = body.get(name) if isinstance(body, dict) else None
    return None if value in (None, "") else fields.flag(body, name, label)


def step(body: Any) -> Tuple[str, Dict[str, Any]]:
    """The target status and the content of the step; missing content is left for the lifecycle to refuse."""
    target = fields.choice(body, "target", STEP_TARGETS, "目标环节")
    assert target is not None  # required
    content: Dict[str, Any] = {}
    if target == TicketStatus.INVESTIGATING.value:
        content["findings"] = _optional(body, "findings", "核实情况")
    elif target == TicketStatus.PROCESSING.value:
        content["decision"] = _optional(body, "decision", "处理结果")
        content["decision_basis"] = _optional(body, "decision_basis", "依据和理由")
        content["outcome"] = fields.choice(body, "outcome", OUTCOME_LABELS, "投诉结论", required=False)
    elif target == TicketStatus.FEEDBACK.value:
        content["result_notice"] = _optional(body, "result_notice", "处理结果告知内容")
    elif target == TicketStatus.FOLLOW_UP.value:
        content["follow_up_reached"] = _optional_flag(body, "follow_up_reached", "是否联系上投诉人")
        content["follow_up_satisfied"] = _optional_flag(body, "follow_up_satisfied", "投诉人是否满意")
        content["follow_up_note"] = _optional(body, "follow_up_note", "回访记录", 2000)
    else:
        content["root_cause_controllable"] = _optional_flag(body, "root_cause_controllable", "是否可控")
        content["root_cause_category"] = _optional(body, "root_cause_category", "根因类别", 64)
        content["improvement_action"] = _optional(body, "improvement_action", "整改措施")
    return target, content


def reason(body: Any, label: str = "原因") -> str:
    return fields.text(body, "reason", MAX_REASON, label=label)


def assignee(body: Any) -> str:
    value = fields.text(body, "assignee", 64, label="处理人").lower()
    if not USERNAME.match(value):
        raise InvalidInput("处理人无效")
    return value


def subject_staff(body: Any) -> Optional[str]:
    return _optional(body, "subject_staff", "被投诉人员", 64)


def extension_days(body: Any, maximum: int) -> int:
    days = fields.integer(body, "days", 1, maximum, "延长天数")
    if days is None:
        raise InvalidInput("请填写延长天数")
    return days


def pause_kind(body: Any) -> str:
    kind = fields.choice(body, "kind", PAUSE_KINDS, "中止事由")
    assert kind is not None  # required
    return kind


def call_attempt(body: Any) -> Tuple[str, Optional[str]]:
    outcome = fields.choice(body, "outcome", CALL_OUTCOME_LABELS, "回电结果")
    assert outcome is not None  # required
    return outcome, _optional(body, "note", "回电备注", 1000)


def note(body: Any) -> str:
    return fields.text(body, "body", MAX_CONTENT, label="备注")


def changes_query(args: Mapping[str, Any]) -> Tuple[int, int]:
    """The change feed's cursor (the last event id read) and page size."""
    values = first_values(args)
    after = fields.integer(values, "after", 0, 2**63 - 1, "起始编号", default=0) or 0
    limit = fields.integer(values, "limit", 1, MAX_CHANGES_PAGE, "条数", default=100) or 100
    return after, limit


def root_cause_choices(settings: Settings) -> List[Tuple[str, str]]:
    """The configurable root-cause categories for 结案."""
    return []


def max_extension_days(settings: Settings) -> int:
    return settings.max_extension_days


def complex_days(settings: Settings) -> int:
    return settings.complex_deadline_days
