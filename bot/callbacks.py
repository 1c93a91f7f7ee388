"""Calling back the people who left a 留言: call attempts, the unreachable mark, and turning
a callback into a complaint ticket when the call reveals one (the two stay linked)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.alerts import raise_alert
from bot.models import CallAttempt, Ticket
from bot.notices import NoticeTexts, queue_notice
from bot.replies import CALLBACK_REQUEST
from bot.ticket_editing import CLOSED, TicketEditor, audit_note, set_audited
from bot.tickets import CATEGORY_LABELS, ComplaintDraft, LifecycleError, TicketService
from bot.workspace import Viewer

OUTCOME_LABELS = {"reached": "已接通", "no_answer": "无人接听", "wrong_number": "号码错误"}
FAILED = ("no_answer", "wrong_number")
MAX_NOTE = 1000


class CallbackError(LifecycleError):
    """Refused; the message is shown as it is."""


class Callbacks(TicketEditor):
    def record_attempt(
        self, ticket_no: str, outcome: str, note: str, expected_version: int, actor: Viewer
    ) -> Dict[str, Any]:
        """One call; after CALLBACK_MAX_FAILED_ATTEMPTS failures since the last answered call the
        ticket is marked unreachable and a supervisor alerted (once)."""
        if outcome not in OUTCOME_LABELS:
            raise CallbackError("请选择通话结果：已接通、无人接听或号码错误")
        text = (note or "").strip()
        if len(text) > MAX_NOTE:
            raise CallbackError(f"通话备注过长，请控制在{MAX_NOTE}字以内")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            self._open(ticket)
            session.add(
                CallAttempt(ticket_id=ticket.id, at=now, outcome=outcome, note=text or None, actor=actor.username)
            )
            said = f"{OUTCOME_LABELS[outcome]}：{text}" if text else OUTCOME_LABELS[outcome]
            audit_note(session, ticket, "call_attempt", said, actor.username, now)
            if outcome == "reached":
                set_audited(session, ticket, "unreachable_at", None, actor.username, now)
                return
            session.flush()
            limit = self.settings.callback_max_failed_attempts
            if self._failures(session, ticket.id) >= limit:
                if ticket.unreachable_at is None:
                    set_audited(session, ticket, "unreachable_at", now, actor.username, now)
                raise_alert(
                    session,
                    "unreachable",
                    ticket.id,
                    f"工单 {ticket.ticket_no} 已{limit}次联系不上投诉人，请主管关注",
                    f"unreachable:{ticket.id}",
                    now,
                )

        return self._change(ticket_no, expected_version, actor, work)

    @staticmethod
    def _failures(session: Session, ticket_id: int) -> int:
        """Failed calls since the last answered one."""
        last_reached = session.execute(
            select(func.max(CallAttempt.id)).where(CallAttempt.ticket_id == ticket_id, CallAttempt.outcome == "reached")
        ).scalar()
        return session.execute(
            select(func.count())
            .select_from(CallAttempt)
            .where(
                CallAttempt.ticket_id == ticket_id,
                CallAttempt.outcome.in_(FAILED),
                CallAttempt.id > (last_reached or 0),
            )
        ).scalar_one()

    def convert(
        self,
        ticket_no: str,
        category: str,
        expected_version: int,
        actor: Viewer,
        description: Optional[str] = None,
        customer_request: Optional[str] = None,
    ) -> Dict[str, Any]:
        """A complaint ticket from a callback, prefilled from it and owned by the converting agent;
        the callback is closed and links to it. Returns the new complaint."""
        if category not in CATEGORY_LABELS:
            raise CallbackError("请选择投诉类别")
        created: Dict[str, Any] = {}

        def work(session: Session, callback: Ticket, now: datetime) -> None:
            if callback.kind != "callback":
                raise CallbackError("只有留言可以转为投诉工单")
            if callback.linked_ticket_id is not None:
                raise CallbackError("该留言已转为投诉工单")
            request = (customer_request or "").strip() or _request_of(callback.customer_request)
            draft = ComplaintDraft(
                conversation_id=callback.conversation_id,
                channel=callback.channel,
                category=category,
                complainant_name=callback.complainant_name,
                phone_number=callback.phone_number,
                description=(description or "").strip()[:5000] or callback.description,
                customer_request=request[:5000],
                policy_number=callback.policy_number,
                privacy_notice_version=callback.privacy_notice_version,
                health_consent=callback.health_consent,
            )
            complaint = TicketService(self.db, self.settings, self.clock).insert(
                session, draft, f"convert:{callback.id}", actor.username
            )
            complaint.assignee = actor.username
            complaint.risk_flags, complaint.priority = callback.risk_flags, callback.priority
            audit_note(session, complaint, "converted_from", callback.ticket_no, actor.username, now)
            # The complainant hears the new number and deadline as the bot's complaints are acknowledged.
            queue_notice(session, complaint, "acknowledgement", now, texts=NoticeTexts(self.settings))
            set_audited(session, callback, "linked_ticket_id", complaint.id, actor.username, now)
            set_audited(session, callback, "status", CLOSED, actor.username, now)
            callback.closed_at = now
            session.flush()
            created.update(complaint.as_dict())

        self._change(ticket_no, expected_version, actor, work)
        return created


def _request_of(callback_request: str) -> str:
    """The policyholder's own request inside a callback's '请回电；…' text, or that text."""
    rest = callback_request.removeprefix(CALLBACK_REQUEST).lstrip("；;").strip()
    return rest or callback_request
