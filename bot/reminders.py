"""The reminder pass (`python -m bot tickets remind`): marks due-soon and overdue tickets,
alerts supervisors, escalates overdue ones.

One runner at a time works (a maintenance lease, bot/leases.py), and alerts are
keyed on the ticket and its deadline, so several desk replicas or job runners
raise each alert once. A ticket alerts again only when its deadline changed (an
extension, a pause) and the new one is near or passed in its turn. Running
pauses move their ticket's deadline on day by day here.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.alerts import raise_alerts
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.deadlines import DeadlineRules, DueState, Pause, effective_deadline
from bot.leases import Lease, runner_name
from bot.models import Ticket, TicketPause
from bot.settings import Settings
from bot.tickets import TicketStatus

log = logging.getLogger(__name__)

LEASE_NAME = "reminders"
LEASE_SECONDS = 300
BATCH = 5000
CLOSED = TicketStatus.CLOSED.value


@dataclass(frozen=True)
class ReminderReport:
    due_soon: int  # tickets newly marked due soon
    overdue: int  # tickets newly marked overdue (and escalated)
    deadlines_moved: int  # paused tickets whose deadline moved on


class ReminderPass:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now, runner: Optional[str] = None) -> None:
        self.db = db
        self.clock = clock
        self.rules = DeadlineRules.of(settings)
        self.lease = Lease(db, LEASE_NAME, LEASE_SECONDS, runner or runner_name(), clock)

    def run_once(self) -> Optional[ReminderReport]:
        """One pass; None when another runner holds the lease."""
        now = self.clock()
        if not self.lease.take(now):
            log.info("reminders: another runner is working; skipped")
            return None
        try:
            today = self.rules.local_day(now)
            moved = self._move_paused_deadlines(now)
            soon = self._mark(DueState.DUE_SOON, today, now)
            overdue = self._mark(DueState.OVERDUE, today, now)
            self._settle(today)
            report = ReminderReport(due_soon=soon, overdue=overdue, deadlines_moved=moved)
            log.info("reminders: %s", report)
            return report
        finally:
            self.lease.release()

    def _running(self) -> Any:
        return and_(Ticket.status != CLOSED, Ticket.paused_since.is_(None))

    def _move_paused_deadlines(self, now: datetime) -> int:
        moved = 0
        with self.db.transaction() as session:
            paused = session.execute(
                select(Ticket.id, Ticket.received_at, Ticket.is_complex, Ticket.extension_days, Ticket.deadline).where(
                    Ticket.status != CLOSED, Ticket.paused_since.isnot(None)
                )
            ).all()
            for ticket_id, received_at, is_complex, extension_days, deadline in paused:
                pauses = [Pause(start, end) for start, end in self._pauses(session, ticket_id)]
                current = effective_deadline(received_at, self.rules, now, is_complex, extension_days, pauses)
                if current != deadline:
                    # System bookkeeping, not a handler's change: no version step, no audit row.
                    session.execute(
                        update(Ticket)
                        .where(Ticket.id == ticket_id)
                        .values(deadline=current)
                        .execution_options(synchronize_session=False)
                    )
                    moved += 1
        return moved

    @staticmethod
    def _pauses(session: Session, ticket_id: int) -> List[Any]:
        return list(
            session.execute(
                select(TicketPause.started_at, TicketPause.ended_at).where(TicketPause.ticket_id == ticket_id)
            ).all()
        )

    def _condition(self, state: DueState, today: date) -> Any:
        if state is DueState.OVERDUE:
            return Ticket.deadline < today
        return and_(Ticket.deadline >= today, Ticket.deadline <= today + timedelta(days=self.rules.due_soon_days))

    def _mark(self, state: DueState, today: date, now: datetime) -> int:
        """Tickets entering `state`: alert (once per deadline), then mark; overdue ones are escalated."""
        with self.db.transaction() as session:
            rows = session.execute(
                select(Ticket.id, Ticket.ticket_no, Ticket.deadline, Ticket.assignee)
                .where(self._running(), self._condition(state, today), Ticket.due_state != state.value)
                .order_by(Ticket.deadline, Ticket.id)
            ).all()
        values: Dict[str, Any] = {"due_state": state.value}
        if state is DueState.OVERDUE:
            values["escalated_at"] = now
        marked = 0
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            with self.db.transaction() as session:
                raise_alerts(session, [self._alert(state, row, now) for row in chunk])
                marked += session.execute(
                    update(Ticket)
                    .where(Ticket.id.in_([row.id for row in chunk]), Ticket.due_state != state.value)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                ).rowcount
        return marked

    @staticmethod
    def _alert(state: DueState, row: Any, now: datetime) -> Dict[str, Any]:
        owner = row.assignee or "未认领"
        if state is DueState.OVERDUE:
            message = (
                f"工单 {row.ticket_no} 已超过处理期限（{row.deadline.isoformat()}），负责人：{owner}，已升级至主管"
            )
        else:
            message = f"工单 {row.ticket_no} 将于 {row.deadline.isoformat()} 到期，负责人：{owner}"
        return {
            "kind": state.value,
            "ticket_id": row.id,
            "message": message,
            "dedupe_key": f"{state.value}:{row.id}:{row.deadline.isoformat()}",
            "created_at": now,
        }

    def _settle(self, today: date) -> None:
        """Tickets no longer near their deadline (extended, paused, closed) go back to on time."""
        soon = today + timedelta(days=self.rules.due_soon_days)
        with self.db.transaction() as session:
            session.execute(
                update(Ticket)
                .where(
                    Ticket.due_state != DueState.ON_TIME.value,
                    or_(Ticket.status == CLOSED, Ticket.paused_since.isnot(None), Ticket.deadline > soon),
                )
                .values(due_state=DueState.ON_TIME.value)
                .execution_options(synchronize_session=False)
            )

    def run_forever(self, every: timedelta, stop: threading.Event) -> None:
        """A pass every `every` until `stop` is set; replicas running this take turns."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 (the next period tries again)
                log.exception("reminder pass failed; retrying in %s", every)
            stop.wait(every.total_seconds())
