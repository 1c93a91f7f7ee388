"""The unit of work of every change a handler makes to a ticket: version check, permission, audit.

Every change is audited in ticket_events (who, when, old → new) and checked
against the version the handler's page was loaded with: a ticket changed since
is refused with StaleTicket. Errors carry the Chinese sentence the desk shows.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import step_content
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.deadlines import DeadlineRules, Pause, effective_deadline
from bot.models import Ticket, TicketEvent, TicketPause
from bot.settings import Settings
from bot.step_content import ContentError, RootCauses
from bot.tickets import LifecycleError, TicketNotFound, TicketStatus
from bot.workspace import Viewer

STALE_MESSAGE = "工单已被他人修改，请刷新页面后重试"
MAX_REASON = 500
CLOSED = TicketStatus.CLOSED.value


class StaleTicket(LifecycleError):
    """The ticket changed since the page was loaded."""

    def __init__(self) -> None:
        super().__init__(STALE_MESSAGE)


def audit_value(value: Any) -> Optional[str]:
    """How a value appears in the audit trail."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def set_audited(session: Session, ticket: Ticket, field: str, new: Any, actor: str, now: datetime) -> bool:
    """Sets one column and records old → new; False when nothing changed."""
    old = getattr(ticket, field)
    if old == new:
        return False
    setattr(ticket, field, new)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            actor=actor,
            field=field,
            old_value=audit_value(old),
            new_value=audit_value(new),
        )
    )
    return True


def audit_note(session: Session, ticket: Ticket, field: str, value: str, actor: str, now: datetime) -> None:
    """An audit row that records an act (a reason, a call, a link) rather than a column's change."""
    session.add(TicketEvent(ticket_id=ticket.id, at=now, actor=actor, field=field, new_value=value))


def sync_deadline(session: Session, ticket: Ticket, rules: DeadlineRules, actor: str, now: datetime) -> None:
    """Recomputes the effective deadline (bot/deadlines.py); the reminder pass marks its due state."""
    pauses = session.execute(
        select(TicketPause.started_at, TicketPause.ended_at).where(TicketPause.ticket_id == ticket.id)
    ).all()
    deadline = effective_deadline(
        ticket.received_at,
        rules,
        now,
        is_complex=ticket.is_complex,
        extension_days=ticket.extension_days,
        pauses=[Pause(started, ended) for started, ended in pauses],
    )
    set_audited(session, ticket, "deadline", deadline, actor, now)


def reason_text(reason: Any, what: str = "原因") -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise LifecycleError(f"请填写{what}")
    if len(reason.strip()) > MAX_REASON:
        raise LifecycleError(f"{what}过长，请控制在{MAX_REASON}字以内")
    return reason.strip()


class TicketEditor:
    """Base of the lifecycle services: one audited, version-checked unit of work per change."""

    def __init__(
        self, db: Database, settings: Settings, clock: Clock = utc_now, root_causes: Optional[RootCauses] = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.rules = DeadlineRules.of(settings)
        self.root_causes = root_causes or RootCauses.load(settings.taxonomy_file)

    # -- the unit of work every change goes through ---------------------------

    @contextmanager
    def _editing(self, ticket_no: str, expected_version: int, actor: Viewer) -> Iterator[Any]:
        """The ticket, if unchanged since `expected_version` and this actor may work on it."""
        try:
            with self.db.transaction() as session:
                ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
                if ticket is None:
                    raise TicketNotFound(ticket_no)
                if ticket.version != expected_version:
                    raise StaleTicket()
                if not actor.is_supervisor and ticket.assignee != actor.username:
                    raise LifecycleError("请先认领该工单" if ticket.assignee is None else "该工单不由您负责")
                # One flush at the end: one version step per change, whatever the work reads meanwhile.
                with session.no_autoflush:
                    yield session, ticket
                    ticket.updated_at = self.clock()
                session.flush()
        except StaleDataError as exc:  # another transaction changed it between our read and write
            raise StaleTicket() from exc

    def _change(
        self, ticket_no: str, expected_version: int, actor: Viewer, work: Callable[[Session, Ticket, datetime], None]
    ) -> Dict[str, Any]:
        with self._editing(ticket_no, expected_version, actor) as (session, ticket):
            work(session, ticket, self.clock())
        return ticket.as_dict()

    def _content(self, session: Session, ticket: Ticket, content: Mapping[str, Any], actor: str, now: datetime) -> None:
        try:
            values = step_content.clean(content, self.root_causes)
        except ContentError as exc:
            raise LifecycleError(str(exc)) from exc
        for name, value in values.items():
            set_audited(session, ticket, name, value, actor, now)

    @staticmethod
    def _open(ticket: Ticket) -> None:
        if ticket.status == CLOSED:
            raise LifecycleError("工单已结案")
