"""The ticket list's query string: every filter, sort and page parameter checked and bounded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, Mapping, Optional

from bot.desk import fields
from bot.desk.fields import InvalidInput
from bot.desk.ticket_views import CHANNEL_LABELS, DUE_STATE_LABELS, KIND_LABELS, RISK_FLAG_LABELS, STATUS_LABELS
from bot.tickets import CATEGORY_LABELS

ASSIGNEE_CHOICES = {"mine": "我的", "unassigned": "未分派", "anyone": "全部"}
SORT_LABELS = {"deadline": "办结期限（超期在前）", "received": "受理时间（最新在前）", "priority": "优先级"}
USERNAME = re.compile(r"^[a-z0-9_.-]{1,64}$")
MAX_SEARCH = 64
MAX_PAGE = 10_000
PAGE_SIZES = (10, 20, 50, 100)


@dataclass(frozen=True)
class ListQuery:
    """What the list was asked for; None is "any"."""

    status: Optional[str] = None
    category: Optional[str] = None
    kind: Optional[str] = None
    channel: Optional[str] = None
    assignee: str = "anyone"
    due_state: Optional[str] = None
    due_within_days: Optional[int] = None
    risk_flag: Optional[str] = None
    received_from: Optional[date] = None
    received_to: Optional[date] = None
    search: str = ""
    sort: str = "deadline"
    page: int = 1
    page_size: int = 20


def first_values(args: Mapping[str, Any]) -> Dict[str, Any]:
    """A query string as one value per name (a repeated name counts once)."""
    return {name: values[0] if isinstance(values, list) else values for name, values in args.items()}


def list_query(args: Mapping[str, Any]) -> ListQuery:
    """The checked query; InvalidInput names the first wrong parameter."""
    values = first_values(args)
    assignee = fields.text(values, "assignee", 64, required=False, label="处理人") or "anyone"
    if assignee not in ASSIGNEE_CHOICES and not USERNAME.match(assignee):
        raise InvalidInput("处理人无效")
    received_from = fields.day(values, "received_from", "受理起始日期")
    received_to = fields.day(values, "received_to", "受理截止日期")
    if received_from and received_to and received_from > received_to:
        raise InvalidInput("受理起始日期不能晚于截止日期")
    page_size = fields.integer(values, "page_size", 1, 100, "每页条数", default=20)
    return ListQuery(
        status=fields.choice(values, "status", STATUS_LABELS, "处理状态", required=False),
        category=fields.choice(values, "category", CATEGORY_LABELS, "投诉类别", required=False),
        kind=fields.choice(values, "kind", KIND_LABELS, "工单类型", required=False),
        channel=fields.choice(values, "channel", CHANNEL_LABELS, "渠道", required=False),
        assignee=assignee,
        due_state=fields.choice(values, "due", DUE_STATE_LABELS, "期限状态", required=False),
        due_within_days=fields.integer(values, "due_within", 0, 60, "到期天数"),
        risk_flag=fields.choice(values, "flag", RISK_FLAG_LABELS, "风险标记", required=False),
        received_from=received_from,
        received_to=received_to,
        search=fields.text(values, "q", MAX_SEARCH, required=False, label="搜索内容"),
        sort=fields.choice(values, "sort", SORT_LABELS, "排序方式", required=False) or "deadline",
        page=fields.integer(values, "page", 1, MAX_PAGE, "页码", default=1) or 1,
        page_size=page_size or 20,
    )
