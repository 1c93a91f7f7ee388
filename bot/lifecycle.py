"""Working a ticket from 受理 to 结案: steps with their content (bot/step_content.py), the follow-up
question of 跟进 (bot/follow_up.py), withdrawal (Art. 15) and reopening; deadline changes come from
bot/timekeeping.py.

Every change is version-checked and audited (bot/ticket_editing.py); errors are
LifecycleError (StaleTicket when the page is out of date) with the Chinese
sentence the desk shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import follow_up, step_content
from bot.models import CallAttempt, Notice, NoticeAttempt, Ticket, TicketPause
from bot.notices import queue_notice
from bot.ticket_editing import CLOSED, STALE_MESSAGE, StaleTicket, audit_note, reason_text, set_audited, sync_deadline
from bot.tickets import LifecycleError, TicketNotFound, TicketStatus
from bot.timekeeping import PAUSE_KINDS, Timekeeping
from bot.workspace import Viewer

__all__ = ["Lifecycle", "LifecycleError", "PAUSE_KINDS", "STALE_MESSAGE", "StaleTicket"]


class Lifecycle(Timekeeping):
    """Every action of the ticket page: steps, withdrawal, reopening, complex, extensions, pauses."""

    def case_file(self, ticket_no: str) -> Dict[str, Any]:
        """What the ticket page shows beside the ticket: pauses, call attempts, notices, links."""
        with self.db.transaction() as session:
            ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
            if ticket is None:
                raise TicketNotFound(ticket_no)

            def rows(model: Any) -> List[Dict[str, Any]]:
                found = session.execute(select(model).where(model.ticket_id == ticket.id).order_by(model.id))
                return [row.as_dict() for row in found.scalars()]

            linked_from = session.execute(
                select(Ticket.ticket_no).where(Ticket.linked_ticket_id == ticket.id).order_by(Ticket.id)
            ).scalars()
            linked_to = (
                session.execute(select(Ticket.ticket_no).where(Ticket.id == ticket.linked_ticket_id)).scalar()
                if ticket.linked_ticket_id
                else None
            )
            notices = rows(Notice)
            attempts = session.execute(
                select(NoticeAttempt)
                .join(Notice, Notice.id == NoticeAttempt.notice_id)
                .where(Notice.ticket_id == ticket.id)
                .order_by(NoticeAttempt.id)
            ).scalars()
            tried: Dict[int, List[Dict[str, Any]]] = {}
            for attempt in attempts:
                tried.setdefault(attempt.notice_id, []).append(attempt.as_dict())
            return {
                "pauses": rows(TicketPause),
                "call_attempts": rows(CallAttempt),
                "notices": [
                    {
                        **notice,
                        "kind_label": self.texts.label(notice["kind"]),
                        "delivery_attempts": tried.get(notice["id"], []),
                    }
                    for notice in notices
                ],
                "linked_ticket_no": linked_to,  # the complaint this callback became
                "linked_from": list(linked_from),  # callbacks that became this complaint
                # Why the follow-up question cannot be sent now (the page hides its button), or None.
                "follow_up_refusal": follow_up.refusal(session, ticket),
            }

    # -- steps -----------------------------------------------------------------

    def record(
        self, ticket_no: str, content: Mapping[str, Any], expected_version: int, actor: Viewer
    ) -> Dict[str, Any]:
        """Saves step content without moving the ticket (a draft the handler completes later)."""

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            self._content(session, ticket, content, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def advance(
        self,
        ticket_no: str,
        target_status: str,
        content: Mapping[str, Any],
        expected_version: int,
        actor: Viewer,
    ) -> Dict[str, Any]:
        """Moves forward (or to 结案) once the content of the steps it completes is there."""

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            try:
                source, target = TicketStatus(ticket.status), TicketStatus(target_status)
            except ValueError as exc:
                raise LifecycleError("未知的处理状态") from exc
            if source is TicketStatus.CLOSED:
                raise LifecycleError("工单已结案，如需继续处理请由主管重新打开")
            if not source.can_move_to(target):
                raise LifecycleError(f"不能从{source.label}变更为{target.label}")
            self._content(session, ticket, content, actor.username, now)
            values = {name: getattr(ticket, name) for name in step_content.FIELD_LABELS}
            missing = step_content.missing_for(source.value, target.value, values)
            if missing:
                raise LifecycleError(step_content.missing_message(missing))
            set_audited(session, ticket, "status", target.value, actor.username, now)
            if target is TicketStatus.CLOSED:
                ticket.closed_at = now
            if TicketStatus.FEEDBACK.value in step_content.steps_left(source.value, target.value):
                # 反馈 done: the complainant is told the result (Art. 19) and asked to rate it.
                queue_notice(session, ticket, "result", now, asks_rating=True, texts=self.texts)

        return self._change(ticket_no, expected_version, actor, work)

    def ask_follow_up(self, ticket_no: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        """跟进: the complainant is asked on their own channel to rate the handling (the follow_up notice)."""

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            follow_up.ask(session, ticket, self.texts, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def withdraw(self, ticket_no: str, expected_version: int, actor: Viewer, note: str = "") -> Dict[str, Any]:
        """Art. 15: the complainant withdrew; the procedure ends the day it is received."""

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            if ticket.status == CLOSED:
                raise LifecycleError("工单已结案")
            set_audited(session, ticket, "status", CLOSED, actor.username, now)
            ticket.withdrawn_at = ticket.closed_at = now
            if note.strip():
                audit_note(session, ticket, "withdrawn", reason_text(note, "撤诉说明"), actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def reopen(self, ticket_no: str, reason: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        """A supervisor reopens a closed ticket, with a reason; it goes back to 调查."""
        if not actor.is_supervisor:
            raise LifecycleError("只有主管可以重新打开工单")
        why = reason_text(reason, "重新打开的原因")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            if ticket.status != CLOSED:
                raise LifecycleError("只有已结案的工单可以重新打开")
            set_audited(session, ticket, "status", TicketStatus.INVESTIGATING.value, actor.username, now)
            audit_note(session, ticket, "reopened", why, actor.username, now)
            ticket.closed_at = ticket.withdrawn_at = None
            ticket.reopened_count += 1
            sync_deadline(session, ticket, self.rules, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)
