"""Supervisor alerts: overdue and due-soon tickets, risk flags, unreachable callers, notices not delivered.

Each alert has a dedupe key (e.g. "overdue:<ticket id>:<deadline>"): however many
job runners or requests raise it, the unique key stores it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.clock import Clock, utc_now
from bot.db import Database
from bot.leases import dialect_insert
from bot.models import Alert, Ticket

if TYPE_CHECKING:  # the workspace imports the tickets, which raise alerts
    from bot.workspace import Viewer

KIND_LABELS = {
    "overdue": "已超期",
    "due_soon": "即将到期",
    "risk": "风险投诉",
    "unreachable": "多次联系不上",
    "notice_failed": "通知发送失败",
    "notice_uncertain": "通知送达状态不明",
    "dissatisfied": "投诉人不满意",
}
MAX_LIST = 200


class AlertError(ValueError):
    """Refused; the message is shown as it is."""


def raise_alerts(session: Session, alerts: Sequence[Dict[str, Any]]) -> None:
    """Stores alerts (kind, ticket_id, message, dedupe_key, created_at); ones already raised are skipped."""
    if alerts:
        insert = dialect_insert(session)
        session.execute(insert(Alert).on_conflict_do_nothing(index_elements=["dedupe_key"]), list(alerts))


def raise_alert(
    session: Session, kind: str, ticket_id: Optional[int], message: str, dedupe_key: str, now: datetime
) -> bool:
    """One alert; False when it had been raised already."""
    insert = dialect_insert(session)
    values = dict(kind=kind, ticket_id=ticket_id, message=message, dedupe_key=dedupe_key[:128], created_at=now)
    return session.execute(insert(Alert).values(**values).on_conflict_do_nothing()).rowcount == 1


class Alerts:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    @staticmethod
    def _scope(viewer: "Viewer") -> List[Any]:
        # Supervisors see every alert; an agent those on the tickets they own.
        return [] if viewer.is_supervisor else [Ticket.assignee == viewer.username]

    def list(
        self, viewer: "Viewer", unacknowledged_only: bool = False, after_id: int = 0, limit: int = 100
    ) -> List[Dict[str, Any]]:
        """Newest first (or, with after_id, those raised after it, oldest first: for a live feed)."""
        where = [*self._scope(viewer), Alert.id > max(after_id, 0)]
        if unacknowledged_only:
            where.append(Alert.acknowledged_at.is_(None))
        order = Alert.id if after_id else Alert.id.desc()
        with self.db.transaction() as session:
            rows = session.execute(
                select(Alert, Ticket.ticket_no)
                .outerjoin(Ticket, Ticket.id == Alert.ticket_id)
                .where(*where)
                .order_by(order)
                .limit(min(max(limit, 1), MAX_LIST))
            ).all()
            return [self._row(alert, ticket_no) for alert, ticket_no in rows]

    @staticmethod
    def _row(alert: Alert, ticket_no: Optional[str]) -> Dict[str, Any]:
        data = alert.as_dict()
        data.update(
            ticket_no=ticket_no,
            kind_label=KIND_LABELS.get(alert.kind, alert.kind),
        )
        return data

    def unacknowledged_count(self, viewer: "Viewer") -> int:
        with self.db.transaction() as session:
            return session.execute(
                select(func.count())
                .select_from(Alert)
                .outerjoin(Ticket, Ticket.id == Alert.ticket_id)
                .where(*self._scope(viewer), Alert.acknowledged_at.is_(None))
            ).scalar_one()

    def acknowledge(self, alert_id: int, viewer: "Viewer") -> bool:
        """A supervisor marks an alert seen; False when it was already (or does not exist)."""
        if not viewer.is_supervisor:
            raise AlertError("只有主管可以确认提醒")
        with self.db.transaction() as session:
            return (
                session.execute(
                    update(Alert)
                    .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
                    .values(acknowledged_by=viewer.username, acknowledged_at=self.clock())
                ).rowcount
                == 1
            )
