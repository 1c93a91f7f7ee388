"""The bodies of the ticket actions: each field typed, bounded and named in Chinese when it is wrong.

Whether a step has all the content it needs is the lifecycle's decision (bot/lifecycle.py);
here only the shape and size of what arrives is checked.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional, Tuple

from bot import step_content
from bot.callbacks import OUTCOME_LABELS as CALL_OUTCOME_LABELS
from bot.desk import fields
from bot.desk.fields import InvalidInput
from bot.desk.workspace import first_values
from bot.tickets import CATEGORY_LABELS, TicketStatus
from bot.timekeeping import PAUSE_KINDS

MAX_CONTENT = 5000
MAX_REASON = 500
MAX_VERSION = 2**31 - 1
MAX_CHANGES_PAGE = 500
USERNAME = re.compile(r"^[a-z0-9_.@-]{1,64}$")
STEP_TARGETS = {status.value for status in TicketStatus if status is not TicketStatus.ACCEPTED}


def version(body: Any) -> int:
    """The ticket version the page was loaded with (optimistic concurrency)."""
    value = fields.integer(body, "version", 0, MAX_VERSION, "工单版本")
    if value is None:
        raise InvalidInput("缺少工单版本，请刷新页面后重试")
    return value


def _optional(body: Any, name: str, label: str, limit: int = MAX_CONTENT) -> Optional[str]:
    return fields.text(body, name, limit, required=False, label=label) or None


def step_content_of(body: Any) -> Dict[str, Any]:
    """The step content fields sent, as sent (bot/step_content.py checks them); other fields are ignored."""
    sent = body if isinstance(body, dict) else {}
    names = [name for step in step_content.ORDER[1:] for name in step_content.STEP_FIELDS[step]]
    return {name: sent[name] for name in names if name in sent}


def step(body: Any) -> Tuple[str, Dict[str, Any]]:
    """The target status and the content of the steps the move completes."""
    target = fields.choice(body, "target", STEP_TARGETS, "目标环节")
    assert target is not None  # required
    return target, step_content_of(body)


def reason(body: Any, label: str = "原因") -> str:
    return fields.text(body, "reason", MAX_REASON, label=label)


def typical_case(body: Any) -> Tuple[str, str, str]:
    """案件情况, 案件分析, 案件启示 of a typical case."""
    return (
        fields.text(body, "situation", MAX_CONTENT, label="案件情况"),
        fields.text(body, "analysis", MAX_CONTENT, label="案件分析"),
        fields.text(body, "lessons", MAX_CONTENT, label="案件启示"),
    )


def _username(body: Any, name: str, label: str) -> Optional[str]:
    """A desk username chosen on the page, or None; whether the account exists is the domain's check."""
    value = fields.text(body, name, 64, required=False, label=label).lower()
    if value and not USERNAME.match(value):
        raise InvalidInput(f"{label}无效")
    return value or None


def assignee(body: Any) -> Optional[str]:
    """The agent's username, or None for the unassigned pool."""
    return _username(body, "assignee", "处理人")


def subject_staff(body: Any) -> Optional[str]:
    """The username of the person complained about, or None."""
    return _username(body, "subject_staff", "被投诉人员")


def extension(body: Any, maximum: int) -> Tuple[int, str]:
    days = fields.integer(body, "days", 1, maximum, "延长天数")
    if days is None:
        raise InvalidInput("请填写延长天数")
    return days, reason(body, "延长原因")


def pause(body: Any) -> Tuple[str, str]:
    kind = fields.choice(body, "kind", PAUSE_KINDS, "暂停事由")
    assert kind is not None  # required
    return kind, fields.text(body, "note", MAX_REASON, label="说明")


def call_attempt(body: Any) -> Tuple[str, Optional[str]]:
    outcome = fields.choice(body, "outcome", CALL_OUTCOME_LABELS, "回电结果")
    assert outcome is not None  # required
    return outcome, _optional(body, "note", "回电备注", 1000)


def conversion(body: Any) -> Tuple[str, Optional[str], Optional[str]]:
    """The complaint's category, and the description and request when the agent rewrites them."""
    category = fields.choice(body, "category", CATEGORY_LABELS, "投诉类别")
    assert category is not None  # required
    return category, _optional(body, "description", "投诉事项"), _optional(body, "customer_request", "诉求")


def note(body: Any) -> str:
    return fields.text(body, "body", MAX_CONTENT, label="备注")


def changes_query(args: Mapping[str, Any]) -> Tuple[int, int]:
    """The change feed's cursor (the last event id read) and page size."""
    values = first_values(args)
    after = fields.integer(values, "after", 0, 2**63 - 1, "起始编号", default=0) or 0
    limit = fields.integer(values, "limit", 1, MAX_CHANGES_PAGE, "条数", default=100) or 100
    return after, limit
