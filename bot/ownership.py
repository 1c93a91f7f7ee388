"""Who handles a ticket (首问负责制): an agent claims one from the pool, a supervisor assigns
or reassigns with a reason, and the person complained about never handles it (回避)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.agents import HANDLER_ROLES
from bot.models import Agent, Ticket
from bot.ticket_editing import CLOSED, TicketEditor, audit_note, reason_text, set_audited
from bot.tickets import LifecycleError, TicketNotFound
from bot.workspace import Viewer

MAX_STAFF = 64


class OwnershipError(LifecycleError):
    """A claim or assignment refused; the message is shown as it is."""


class Ownership(TicketEditor):
    def claim(self, ticket_no: str, agent: Viewer) -> Dict[str, Any]:
        """Exactly one of several agents claiming at once wins; the others get OwnershipError."""
        now = self.clock()
        with self.db.transaction() as session:
            # A conditional UPDATE is atomic on both SQLite and PostgreSQL (as bot/handoff.py's claim).
            won = session.execute(
                update(Ticket)
                .where(
                    Ticket.ticket_no == ticket_no,
                    Ticket.assignee.is_(None),
                    Ticket.status != CLOSED,
                    or_(Ticket.subject_staff.is_(None), Ticket.subject_staff != agent.username),
                )
                .values(assignee=agent.username, version=Ticket.version + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
            if ticket is None:
                raise TicketNotFound(ticket_no)
            if not won:
                raise OwnershipError(self._why_not(ticket, agent.username))
            audit_note(session, ticket, "assignee", agent.username, agent.username, now)
            return ticket.as_dict()

    @staticmethod
    def _why_not(ticket: Ticket, username: str) -> str:
        if ticket.subject_staff == username:
            return "您是本工单的被投诉人，需回避，不能处理该工单"
        if ticket.status == CLOSED:
            return "工单已结案"
        if ticket.assignee == username:
            return "您已认领该工单"
        return f"该工单已由 {ticket.assignee} 负责"

    def assign(
        self, ticket_no: str, assignee: Optional[str], reason: str, expected_version: int, actor: Viewer
    ) -> Dict[str, Any]:
        """A supervisor gives the ticket to an active agent, or back to the pool (None), with a reason."""
        if not actor.is_supervisor:
            raise OwnershipError("只有主管可以分派或改派工单")
        why = reason_text(reason, "分派原因")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            self._open(ticket)
            if assignee is not None:
                self._check_agent(session, assignee)
                if ticket.subject_staff == assignee:
                    raise OwnershipError("该人员是本工单的被投诉人，需回避，不能分派给他")
            if ticket.assignee == assignee:
                raise OwnershipError("工单已由该人员负责")
            set_audited(session, ticket, "assignee", assignee, actor.username, now)
            audit_note(session, ticket, "assign_reason", why, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def release(self, ticket_no: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        """The owner gives the ticket back to the pool."""

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            set_audited(session, ticket, "assignee", None, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def set_subject_staff(
        self, ticket_no: str, staff: Optional[str], expected_version: int, actor: Viewer
    ) -> Dict[str, Any]:
        """Records the agent complained about (an active handler's username); they can no longer handle it.
        One recorded before stays when the form is saved unchanged, even after their account was closed."""
        value = (staff or "").strip() or None
        if value is not None and len(value) > MAX_STAFF:
            raise OwnershipError(f"被投诉人员不能超过{MAX_STAFF}个字符")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            if value is not None and value != ticket.subject_staff:
                self._check_agent(session, value)
            if value is not None and value == ticket.assignee:
                raise OwnershipError("被投诉人员不能处理本工单，请先由主管改派给其他人员")
            set_audited(session, ticket, "subject_staff", value, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    @staticmethod
    def _check_agent(session: Session, username: str) -> None:
        active = session.execute(
            select(Agent.id).where(
                and_(Agent.username == username, Agent.active.is_(True), Agent.role.in_(HANDLER_ROLES))
            )
        ).scalar_one_or_none()
        if active is None:
            raise OwnershipError("没有这个在职的坐席账号")
