"""The ticket workspace: every ticket, filtered, sorted and paginated in the database, with counts.

Agents see the tickets they own and the unassigned pool (never one naming them
as the person complained about, 回避); supervisors see all. Deadline states are
computed from `tickets.deadline` and today's local date, so the list is right
between reminder passes; closed and paused tickets are in none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql import ColumnElement

from bot.clock import Clock, utc_now
from bot.db import Database
from bot.deadlines import DeadlineRules, DueState, days_left, due_state
from bot.models import Ticket
from bot.privacy import mask_phone
from bot.risk import RISK_FLAG_LABELS, flags_of
from bot.settings import Settings
from bot.tickets import CATEGORY_LABELS, TicketNotFound, TicketStatus

KIND_LABELS = {"complaint": "投诉", "callback": "留言"}
ASSIGNEE_SCOPES = ("mine", "unassigned", "anyone")
SORTS = ("deadline", "received", "priority")
MAX_PAGE_SIZE = 200
MAX_SEARCH = 64
CLOSED = TicketStatus.CLOSED.value
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


class InvalidFilter(ValueError):
    """A filter value the desk or CLI cannot use; the message is shown as it is."""


class Viewer(Protocol):
    """Who looks or acts: an agent account (bot/agents.py) or anything shaped like one."""

    @property
    def username(self) -> str: ...

    @property
    def is_supervisor(self) -> bool: ...


@dataclass(frozen=True)
class TicketFilter:
    status: Optional[str] = None
    category: Optional[str] = None
    kind: Optional[str] = None
    channel: Optional[str] = None
    assignee: str = "anyone"  # mine | unassigned | anyone | a username
    deadline_state: Optional[str] = None  # on_time | due_soon | overdue
    due_within_days: Optional[int] = None
    risk_flag: Optional[str] = None
    received_from: Optional[date] = None  # local days, inclusive
    received_to: Optional[date] = None
    search: str = ""
    sort: str = "deadline"
    page: int = 1
    page_size: int = 50

    def __post_init__(self) -> None:
        checks = [
            (self.status is None or self.status in {s.value for s in TicketStatus}, "未知的处理状态"),
            (self.category is None or self.category in CATEGORY_LABELS, "未知的投诉类别"),
            (self.kind is None or self.kind in KIND_LABELS, "未知的工单类型"),
            (self.channel is None or 0 < len(self.channel) <= 64, "渠道名称不正确"),
            (self.assignee in ASSIGNEE_SCOPES or bool(_USERNAME.fullmatch(self.assignee)), "处理人不正确"),
            (self.deadline_state is None or self.deadline_state in {s.value for s in DueState}, "未知的期限状态"),
            (self.due_within_days is None or 0 <= self.due_within_days <= 365, "到期天数须在0至365之间"),
            (self.risk_flag is None or self.risk_flag in RISK_FLAG_LABELS, "未知的风险标记"),
            (len(self.search) <= MAX_SEARCH, f"搜索内容过长，请控制在{MAX_SEARCH}字以内"),
            (self.sort in SORTS, "未知的排序方式"),
            (1 <= self.page <= 100_000, "页码不正确"),
            (1 <= self.page_size <= MAX_PAGE_SIZE, f"每页条数须在1至{MAX_PAGE_SIZE}之间"),
        ]
        if self.received_from and self.received_to and self.received_from > self.received_to:
            checks.append((False, "开始日期不能晚于结束日期"))
        for ok, message in checks:
            if not ok:
                raise InvalidFilter(message)

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> "TicketFilter":
        """From query-string values (all text); blanks mean 'not filtered'."""
        values: Dict[str, Any] = {}
        for spec in fields(cls):
            raw = params.get(spec.name)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            if not isinstance(raw, str):
                raise InvalidFilter("筛选条件格式不正确")
            raw = raw.strip()
            if spec.name in ("due_within_days", "page", "page_size"):
                if not raw.isdigit() or len(raw) > 6:
                    raise InvalidFilter("请输入数字")
                values[spec.name] = int(raw)
            elif spec.name in ("received_from", "received_to"):
                try:
                    values[spec.name] = date.fromisoformat(raw)
                except ValueError as exc:
                    raise InvalidFilter("日期格式应为 YYYY-MM-DD") from exc
            else:
                values[spec.name] = raw
        return cls(**values)


@dataclass(frozen=True)
class TicketPage:
    rows: List[Dict[str, Any]]
    total: int
    page: int
    page_size: int
    status_counts: Dict[str, int]
    deadline_counts: Dict[str, int]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "rows": self.rows,
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "status_counts": self.status_counts,
            "deadline_counts": self.deadline_counts,
        }


def aware(moment: datetime) -> datetime:
    """Stored moments are UTC; SQLite hands them back naive."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Workspace:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.rules = DeadlineRules.of(settings)

    # -- conditions ------------------------------------------------------------

    @staticmethod
    def visibility(viewer: Viewer) -> Optional[ColumnElement]:
        if viewer.is_supervisor:
            return None
        return and_(
            or_(Ticket.assignee == viewer.username, Ticket.assignee.is_(None)),
            or_(Ticket.subject_staff.is_(None), Ticket.subject_staff != viewer.username),
        )

    def _state_condition(self, state: str, today: date) -> ColumnElement:
        open_running = and_(Ticket.status != CLOSED, Ticket.paused_since.is_(None))
        soon = today + timedelta(days=self.rules.due_soon_days)
        if state == DueState.OVERDUE.value:
            return and_(open_running, Ticket.deadline < today)
        if state == DueState.DUE_SOON.value:
            return and_(open_running, Ticket.deadline >= today, Ticket.deadline <= soon)
        return and_(Ticket.status != CLOSED, or_(Ticket.paused_since.isnot(None), Ticket.deadline > soon))

    def _search(self, text: str) -> ColumnElement:
        upper = text.upper()
        options: List[ColumnElement] = [
            Ticket.ticket_no == upper,
            Ticket.policy_number == upper,
            Ticket.complainant_name == text,
            Ticket.complainant_name.like(_like_prefix(text), escape="\\"),
        ]
        digits = text.replace(" ", "").replace("-", "")
        if digits.isdigit() and len(digits) == 4:
            options.append(Ticket.phone_last4 == digits)
        elif digits.isdigit() and len(digits) >= 7:
            options.append(Ticket.phone_hash == self.db.crypto.digest(digits))
        return or_(*options)

    def _base(self, viewer: Viewer, query: TicketFilter, today: date) -> List[ColumnElement]:
        """Every condition but status and deadline state (the counts break those down)."""
        where: List[ColumnElement] = []
        seen = self.visibility(viewer)
        if seen is not None:
            where.append(seen)
        for column, value in ((Ticket.category, query.category), (Ticket.kind, query.kind)):
            if value is not None:
                where.append(column == value)
        if query.channel is not None:
            where.append(Ticket.channel == query.channel)
        if query.assignee == "mine":
            where.append(Ticket.assignee == viewer.username)
        elif query.assignee == "unassigned":
            where.append(Ticket.assignee.is_(None))
        elif query.assignee != "anyone":
            where.append(Ticket.assignee == query.assignee)
        if query.risk_flag is not None:
            # IS NOT NULL lets PostgreSQL use the partial index of flagged tickets.
            where.append(and_(Ticket.risk_flags.isnot(None), Ticket.risk_flags.like(f"%{query.risk_flag}%")))
        zone = self.rules.zone
        if query.received_from is not None:
            start = datetime.combine(query.received_from, datetime.min.time(), tzinfo=ZoneInfo(zone))
            where.append(Ticket.received_at >= start.astimezone(timezone.utc))
        if query.received_to is not None:
            end = datetime.combine(query.received_to + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(zone))
            where.append(Ticket.received_at < end.astimezone(timezone.utc))
        if query.search.strip():
            where.append(self._search(query.search.strip()))
        return where

    # -- reading ---------------------------------------------------------------

    def _where(self, base: List[ColumnElement], query: TicketFilter, today: date) -> List[ColumnElement]:
        where = list(base)
        if query.status is not None:
            where.append(Ticket.status == query.status)
        if query.deadline_state is not None:
            where.append(self._state_condition(query.deadline_state, today))
        if query.due_within_days is not None:
            where.append(Ticket.status != CLOSED)
            where.append(Ticket.deadline <= today + timedelta(days=query.due_within_days))
        return where

    @staticmethod
    def _rows(session: Any, where: List[ColumnElement], order: List[Any], offset: int, limit: int) -> List[Ticket]:
        found = session.execute(select(Ticket).where(*where).order_by(*order).offset(offset).limit(limit))
        return list(found.scalars())

    def _page(self, session: Any, where: List[ColumnElement], query: TicketFilter, open_total: int) -> List[Ticket]:
        offset, size = (query.page - 1) * query.page_size, query.page_size
        if query.sort != "deadline":
            return self._rows(session, where, self._order(query.sort), offset, size)
        # Open tickets first, the most overdue on top, then closed ones: two index range scans
        # (ix_tickets_open_deadline, ix_tickets_status_deadline) instead of sorting every row.
        by_deadline = [Ticket.deadline, Ticket.id]
        rows = (
            self._rows(session, [*where, Ticket.status != CLOSED], by_deadline, offset, size)
            if offset < open_total
            else []
        )
        if len(rows) < size:
            closed = [*where, Ticket.status == CLOSED]
            rows += self._rows(session, closed, by_deadline, max(offset - open_total, 0), size - len(rows))
        return rows

    @staticmethod
    def _count(session: Any, where: List[ColumnElement]) -> int:
        return session.execute(select(func.count()).select_from(Ticket).where(*where)).scalar_one()

    def records(self, viewer: Viewer, query: TicketFilter) -> List[Dict[str, Any]]:
        """One page of whole tickets (every field, full phone) with the list's labels: for operators."""
        today = self.rules.local_day(self.clock())
        where = self._where(self._base(viewer, query, today), query, today)
        with self.db.transaction() as session:
            open_total = self._count(session, [*where, Ticket.status != CLOSED])
            page = self._page(session, where, query, open_total)
            return [{**ticket.as_dict(), **self.row(ticket, today)} for ticket in page]

    def list(self, viewer: Viewer, query: TicketFilter) -> TicketPage:
        today = self.rules.local_day(self.clock())
        base = self._base(viewer, query, today)
        where = self._where(base, query, today)
        state = case(
            (Ticket.paused_since.isnot(None), DueState.ON_TIME.value),
            (Ticket.deadline < today, DueState.OVERDUE.value),
            (Ticket.deadline <= today + timedelta(days=self.rules.due_soon_days), DueState.DUE_SOON.value),
            else_=DueState.ON_TIME.value,
        )
        with self.db.transaction() as session:
            by_status = dict(
                session.execute(select(Ticket.status, func.count()).where(*base).group_by(Ticket.status)).all()
            )
            by_state = dict(
                session.execute(select(state, func.count()).where(*base, Ticket.status != CLOSED).group_by(state)).all()
            )
            # The counts already hold the total, unless several filters combine.
            only_state = query.status is None and query.due_within_days is None
            if len(where) == len(base):
                total = sum(by_status.values())
            elif only_state and query.deadline_state is not None:
                total = by_state.get(query.deadline_state, 0)
            elif query.status is not None and query.deadline_state is None and query.due_within_days is None:
                total = by_status.get(query.status, 0)
            else:
                total = self._count(session, where)
            if len(where) == len(base):
                open_total = total - by_status.get(CLOSED, 0)
            else:  # every filter but the status keeps open tickets only
                open_total = 0 if query.status == CLOSED else total
            listed = [self.row(ticket, today) for ticket in self._page(session, where, query, open_total)]
        return TicketPage(
            rows=listed,
            total=total,
            page=query.page,
            page_size=query.page_size,
            status_counts={status.value: by_status.get(status.value, 0) for status in TicketStatus},
            deadline_counts={state.value: by_state.get(state.value, 0) for state in DueState},
        )

    @staticmethod
    def _order(sort: str) -> List[Any]:
        if sort == "received":
            return [Ticket.received_at.desc(), Ticket.id.desc()]
        return [Ticket.priority.desc(), Ticket.deadline, Ticket.id]

    def row(self, ticket: Ticket, today: date) -> Dict[str, Any]:
        """A ticket as the list shows it: labels, masked phone, deadline state and days left."""
        running = ticket.status != CLOSED and ticket.paused_since is None
        return {
            "ticket_no": ticket.ticket_no,
            "kind": ticket.kind,
            "kind_label": KIND_LABELS.get(ticket.kind, ticket.kind),
            "status": ticket.status,
            "status_label": TicketStatus(ticket.status).label,
            "category": ticket.category,
            "category_label": CATEGORY_LABELS.get(ticket.category, ticket.category),
            "channel": ticket.channel,
            "complainant_name": ticket.complainant_name,
            "phone_masked": mask_phone(ticket.phone_number or ""),
            "policy_number": ticket.policy_number,
            "assignee": ticket.assignee,
            "priority": ticket.priority,
            "risk_flags": flags_of(ticket.risk_flags),
            "is_complex": ticket.is_complex,
            "paused": ticket.paused_since is not None,
            "unreachable": ticket.unreachable_at is not None,
            "received_at": aware(ticket.received_at).isoformat(),
            "deadline": ticket.deadline.isoformat(),
            "days_left": days_left(ticket.deadline, today) if running else None,
            "deadline_state": due_state(ticket.deadline, today, self.rules).value if running else None,
            "version": ticket.version,
        }

    def visible(self, viewer: Viewer, ticket_no: str) -> Dict[str, Any]:
        """One ticket's row if this viewer may see it; TicketNotFound whether missing or not theirs."""
        where = [Ticket.ticket_no == ticket_no.strip().upper()[:32]]
        seen = self.visibility(viewer)
        if seen is not None:
            where.append(seen)
        with self.db.transaction() as session:
            ticket = session.execute(select(Ticket).where(*where)).scalar_one_or_none()
            if ticket is None:
                raise TicketNotFound(ticket_no)
            return self.row(ticket, self.rules.local_day(self.clock()))
