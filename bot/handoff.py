"""Handoff requests (转人工): the bot side of taking a conversation to a human.

The request record in the database is the source of truth for "a human owns
this conversation"; Rasa's pause flag is derived from it and re-applied when a
new session or a restart would otherwise lift it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy import and_, func, or_, select

from bot.db import Database
from bot.models import HandoffRequest, Ticket
from bot.tickets import Clock, utc_now


class HandoffReason(str, enum.Enum):
    THREAT = "escalation_threat"
    VALIDATION_FAILURE = "validation_failure"
    FALLBACK = "fallback"
    USER_REQUEST = "user_request"

    @property
    def priority(self) -> int:
        # Threats (media, lawsuit, regulator) are served first.
        return {"escalation_threat": 100, "validation_failure": 50,
                "fallback": 40, "user_request": 30}[self.value]


ACTIVE_STATUSES = ("waiting", "assigned")


@dataclass(frozen=True)
class QueuedHandoff:
    id: int
    priority: int
    position: int  # 1 = next to be served
    created: bool


class HandoffService:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    def request(
        self,
        conversation_id: str,
        channel: str,
        reason: HandoffReason,
        slots: Mapping[str, Any],
        ticket_no: Optional[str] = None,
    ) -> QueuedHandoff:
        """Queues the conversation once; asking again only raises its priority."""
        now = self.clock()
        with self.db.transaction() as session:
            current = self._active(session, conversation_id)
            created = current is None
            if current is None:
                current = HandoffRequest(
                    conversation_id=conversation_id, channel=channel, reason=reason.value,
                    priority=reason.priority, status="waiting", slots=dict(slots),
                    created_at=now, updated_at=now,
                )
                session.add(current)
            elif reason.priority > current.priority:
                current.reason, current.priority, current.updated_at = reason.value, reason.priority, now
            if ticket_no and current.ticket_id is None:
                current.ticket_id = session.execute(
                    select(Ticket.id).where(Ticket.ticket_no == ticket_no)
                ).scalar_one_or_none()
            session.flush()
            return QueuedHandoff(current.id, current.priority,
                                 self._position(session, current), created)

    @staticmethod
    def _active(session, conversation_id: str) -> Optional[HandoffRequest]:  # type: ignore[no-untyped-def]
        return session.execute(
            select(HandoffRequest)
            .where(HandoffRequest.conversation_id == conversation_id,
                   HandoffRequest.status.in_(ACTIVE_STATUSES))
            .order_by(HandoffRequest.id.desc())
        ).scalars().first()

    @staticmethod
    def _position(session, request: HandoffRequest) -> int:  # type: ignore[no-untyped-def]
        if request.status != "waiting":
            return 0
        ahead = session.execute(
            select(func.count()).select_from(HandoffRequest).where(
                HandoffRequest.status == "waiting",
                or_(
                    HandoffRequest.priority > request.priority,
                    and_(HandoffRequest.priority == request.priority,
                         HandoffRequest.id < request.id),
                ),
            )
        ).scalar_one()
        return ahead + 1

    def is_active(self, conversation_id: str) -> bool:
        with self.db.transaction() as session:
            return self._active(session, conversation_id) is not None

    def release(self, conversation_id: str, actor: str) -> bool:
        """Hands the conversation back to the bot; False if nothing was active."""
        with self.db.transaction() as session:
            current = self._active(session, conversation_id)
            if current is None:
                return False
            now = self.clock()
            current.status, current.ended_at, current.updated_at = "released", now, now
            current.assigned_to = current.assigned_to or actor
            return True

    def list(self, active_only: bool = False) -> List[Dict[str, Any]]:
        with self.db.transaction() as session:
            query = select(HandoffRequest).order_by(
                HandoffRequest.priority.desc(), HandoffRequest.id
            )
            if active_only:
                query = query.where(HandoffRequest.status.in_(ACTIVE_STATUSES))
            return [row.as_dict() for row in session.execute(query).scalars()]
