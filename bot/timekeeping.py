"""Changes to a ticket's deadline (Art. 18): complex cases, supervisor-approved extensions,
external appraisal pauses; each recomputes the deadline through bot/deadlines.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.deadlines import check_extension
from bot.models import Ticket, TicketPause
from bot.notices import NoticeTexts, queue_notice
from bot.ticket_editing import TicketEditor, audit_note, reason_text, set_audited, sync_deadline
from bot.tickets import LifecycleError
from bot.workspace import Viewer

PAUSE_KINDS = {"appraisal": "鉴定", "inspection": "检测", "assessment": "评估"}


def owe_notice(session: Session, texts: NoticeTexts, ticket: Ticket, kind: str, detail: str, now: datetime) -> None:
    """Something the complainant must be told (Art. 18), rendered and queued for the notice sender."""
    queue_notice(session, ticket, kind, now, detail=detail, texts=texts)


class Timekeeping(TicketEditor):
    @property
    def texts(self) -> NoticeTexts:
        """The notices' texts (the templates file is read once per process)."""
        return NoticeTexts(self.settings)

    # -- the deadline: complex cases, extensions, appraisal pauses -----------------

    def mark_complex(self, ticket_no: str, reason: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        """Art. 18: a complex case has TICKET_COMPLEX_DEADLINE_DAYS instead of the base period."""
        why = reason_text(reason, "复杂案件的理由")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            self._open(ticket)
            if ticket.is_complex:
                raise LifecycleError("工单已是复杂案件")
            set_audited(session, ticket, "is_complex", True, actor.username, now)
            audit_note(session, ticket, "complex_reason", why, actor.username, now)
            sync_deadline(session, ticket, self.rules, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def request_extension(
        self, ticket_no: str, days: int, reason: str, expected_version: int, actor: Viewer
    ) -> Dict[str, Any]:
        """A handler asks a supervisor for more days on a complex case."""
        why = reason_text(reason, "延期理由")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            self._extensible(ticket, days)
            set_audited(session, ticket, "extension_requested_days", days, actor.username, now)
            set_audited(session, ticket, "extension_requested_by", actor.username, actor.username, now)
            set_audited(session, ticket, "extension_reason", why, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def approve_extension(
        self,
        ticket_no: str,
        expected_version: int,
        actor: Viewer,
        days: Optional[int] = None,
        reason: Optional[str] = None,
    ) -> Dict[str, Any]:
        """A supervisor grants the pending request (or extends directly with days and reason);
        the complainant must be told, so a notice is owed."""
        if not actor.is_supervisor:
            raise LifecycleError("延期须由主管审批")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            granted = days if days is not None else ticket.extension_requested_days
            if granted is None:
                raise LifecycleError("没有待审批的延期申请")
            why = (
                reason_text(reason, "延期理由")
                if reason is not None
                else reason_text(ticket.extension_reason, "延期理由")
            )
            self._extensible(ticket, granted)
            set_audited(session, ticket, "extension_days", ticket.extension_days + granted, actor.username, now)
            set_audited(session, ticket, "extension_reason", why, actor.username, now)
            set_audited(session, ticket, "extension_approved_by", actor.username, actor.username, now)
            set_audited(session, ticket, "extension_requested_days", None, actor.username, now)
            set_audited(session, ticket, "extension_requested_by", None, actor.username, now)
            sync_deadline(session, ticket, self.rules, actor.username, now)
            owe_notice(session, self.texts, ticket, "extension", why, now)

        return self._change(ticket_no, expected_version, actor, work)

    def reject_extension(self, ticket_no: str, reason: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        if not actor.is_supervisor:
            raise LifecycleError("延期须由主管审批")
        why = reason_text(reason, "驳回理由")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            if ticket.extension_requested_days is None:
                raise LifecycleError("没有待审批的延期申请")
            set_audited(session, ticket, "extension_requested_days", None, actor.username, now)
            set_audited(session, ticket, "extension_requested_by", None, actor.username, now)
            audit_note(session, ticket, "extension_rejected", why, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    def start_pause(self, ticket_no: str, kind: str, note: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        """An external 鉴定/检测/评估 starts: its days do not count; the complainant must be told."""
        if kind not in PAUSE_KINDS:
            raise LifecycleError("请选择鉴定、检测或评估")
        why = reason_text(note, "说明")

        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            self._open(ticket)
            if ticket.paused_since is not None:
                raise LifecycleError("工单已在暂停计时中")
            session.add(
                TicketPause(ticket_id=ticket.id, kind=kind, note=why, started_at=now, started_by=actor.username)
            )
            set_audited(session, ticket, "paused_since", now, actor.username, now)
            owe_notice(session, self.texts, ticket, "pause", f"{PAUSE_KINDS[kind]}（{why}）", now)

        return self._change(ticket_no, expected_version, actor, work)

    def end_pause(self, ticket_no: str, expected_version: int, actor: Viewer) -> Dict[str, Any]:
        def work(session: Session, ticket: Ticket, now: datetime) -> None:
            if ticket.paused_since is None:
                raise LifecycleError("工单没有在暂停计时")
            pause = session.execute(
                select(TicketPause).where(TicketPause.ticket_id == ticket.id, TicketPause.ended_at.is_(None))
            ).scalar_one()
            pause.ended_at, pause.ended_by = now, actor.username
            set_audited(session, ticket, "paused_since", None, actor.username, now)
            sync_deadline(session, ticket, self.rules, actor.username, now)

        return self._change(ticket_no, expected_version, actor, work)

    # -- checks ------------------------------------------------------------------

    def _extensible(self, ticket: Ticket, days: Any) -> None:
        self._open(ticket)
        if not ticket.is_complex:
            raise LifecycleError("请先将工单标记为复杂案件，再申请延期")
        if not isinstance(days, int) or isinstance(days, bool):
            raise LifecycleError("请填写延长天数")
        try:
            check_extension(days, self.rules)
        except ValueError as exc:
            raise LifecycleError(str(exc)) from exc
        if ticket.extension_days + days > self.rules.max_extension_days:
            left = self.rules.max_extension_days - ticket.extension_days
            raise LifecycleError(f"延期合计不能超过{self.rules.max_extension_days}天，最多还可延长{left}天")
