"""Supervisors' review marks on tickets: typical cases (典型案例) for the report, malicious complaints (恶意投诉).

Both are audited on the ticket. A malicious mark is counted in the analysis only: nothing reads it to refuse
or slow down service to the complainant.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import MaliciousMark, Ticket, TicketEvent, TypicalCase
from bot.tickets import LifecycleError, TicketNotFound, TicketStatus

MAX_CASE_TEXT = 5000
MAX_MARK_REASON = 500
AUDITED_LENGTH = 200
TYPICAL_FIELD = "typical_case"
MALICIOUS_FIELD = "malicious_mark"


def _ticket(session: Session, ticket_no: str) -> Ticket:
    ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
    if ticket is None:
        raise TicketNotFound(ticket_no)
    return ticket


def _text(value: str, label: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise LifecycleError(f"请填写{label}")
    if len(text) > limit:
        raise LifecycleError(f"{label}不能超过{limit}字")
    return text


class CaseReview:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    def marks(self, ticket_no: str) -> Dict[str, Optional[Dict[str, Any]]]:
        """The ticket's typical case and malicious mark, None where there is none."""
        with self.db.transaction() as session:
            ticket = _ticket(session, ticket_no)
            typical = session.execute(select(TypicalCase).where(TypicalCase.ticket_id == ticket.id)).scalar()
            malicious = session.execute(select(MaliciousMark).where(MaliciousMark.ticket_id == ticket.id)).scalar()
            return {
                "typical_case": typical.as_dict() if typical else None,
                "malicious_mark": malicious.as_dict() if malicious else None,
            }

    def mark_typical(self, ticket_no: str, situation: str, analysis: str, lessons: str, actor: str) -> None:
        """Marks a closed ticket as a typical case, or rewrites its texts."""
        texts = (
            _text(situation, "案件情况", MAX_CASE_TEXT),
            _text(analysis, "案件分析", MAX_CASE_TEXT),
            _text(lessons, "案件启示", MAX_CASE_TEXT),
        )
        with self.db.transaction() as session:
            ticket = _ticket(session, ticket_no)
            if ticket.status != TicketStatus.CLOSED.value:
                raise LifecycleError("只有已结案的工单可以标记为典型案例")
            now = self.clock()
            case = session.execute(select(TypicalCase).where(TypicalCase.ticket_id == ticket.id)).scalar()
            old = case.situation[:AUDITED_LENGTH] if case else None
            if case is None:
                case = TypicalCase(ticket_id=ticket.id)
                session.add(case)
            case.situation, case.analysis, case.lessons = texts
            case.marked_by, case.marked_at = actor, now
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    actor=actor,
                    field=TYPICAL_FIELD,
                    old_value=old,
                    new_value=texts[0][:AUDITED_LENGTH],
                )
            )

    def unmark_typical(self, ticket_no: str, actor: str) -> None:
        with self.db.transaction() as session:
            ticket = _ticket(session, ticket_no)
            case = session.execute(select(TypicalCase).where(TypicalCase.ticket_id == ticket.id)).scalar()
            if case is None:
                raise LifecycleError("该工单不是典型案例")
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=self.clock(),
                    actor=actor,
                    field=TYPICAL_FIELD,
                    old_value=case.situation[:AUDITED_LENGTH],
                    new_value=None,
                )
            )
            session.delete(case)

    def mark_malicious(self, ticket_no: str, reason: str, actor: str) -> None:
        """Marks the complaint as malicious with the supervisor's reason (or replaces the reason)."""
        why = _text(reason, "认定恶意投诉的理由", MAX_MARK_REASON)
        with self.db.transaction() as session:
            ticket = _ticket(session, ticket_no)
            now = self.clock()
            mark = session.execute(select(MaliciousMark).where(MaliciousMark.ticket_id == ticket.id)).scalar()
            old = mark.reason[:AUDITED_LENGTH] if mark else None
            if mark is None:
                mark = MaliciousMark(ticket_id=ticket.id)
                session.add(mark)
            mark.reason, mark.marked_by, mark.marked_at = why, actor, now
            session.add(
                TicketEvent(
                    ticket_id=ticket.id, at=now, actor=actor, field=MALICIOUS_FIELD, old_value=old, new_value=why
                )
            )

    def unmark_malicious(self, ticket_no: str, actor: str) -> None:
        with self.db.transaction() as session:
            ticket = _ticket(session, ticket_no)
            mark = session.execute(select(MaliciousMark).where(MaliciousMark.ticket_id == ticket.id)).scalar()
            if mark is None:
                raise LifecycleError("该工单未被标记为恶意投诉")
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=self.clock(),
                    actor=actor,
                    field=MALICIOUS_FIELD,
                    old_value=mark.reason[:AUDITED_LENGTH],
                    new_value=None,
                )
            )
            session.delete(mark)
