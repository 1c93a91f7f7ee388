"""Handoff requests (转人工): the bot side of taking a conversation to a human.

The request record in the database is the source of truth for "a human owns
this conversation"; Rasa's pause flag is derived from it and re-applied when a
new session or a restart would otherwise lift it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Set
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.agents import AgentAccount, AgentService
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import Agent, HandoffRequest, Ticket
from bot.settings import Settings


class HandoffReason(str, enum.Enum):
    THREAT = "escalation_threat"
    VALIDATION_FAILURE = "validation_failure"
    FALLBACK = "fallback"
    USER_REQUEST = "user_request"

    @property
    def priority(self) -> int:
        # Threats (media, lawsuit, regulator) are served first.
        return {"escalation_threat": 100, "validation_failure": 50, "fallback": 40, "user_request": 30}[self.value]


ACTIVE_STATUSES = ("waiting", "assigned")

_WEEKDAYS = "一二三四五六日"


@dataclass(frozen=True)
class ServiceHours:
    """When human agents answer: a daily window on some ISO weekdays, local time."""

    days: FrozenSet[int]
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, hours: str, days: str, zone: str) -> "ServiceHours":
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", hours)
        if not match:
            raise ValueError(f"SERVICE_HOURS must look like 09:00-21:00, got {hours!r}")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        start = time(h1, m1)
        end = time.max if (h2, m2) == (24, 0) else time(h2, m2)
        if start >= end:
            raise ValueError(f"SERVICE_HOURS must start before it ends, got {hours!r}")
        chosen: Set[int] = set()
        for part in days.split(","):
            first, _, last = part.strip().partition("-")
            if not (first.isdigit() and (not last or last.isdigit())):
                raise ValueError(f"SERVICE_DAYS must look like 1-5 or 1,3,5, got {days!r}")
            chosen.update(range(int(first), int(last or first) + 1))
        if not chosen or not chosen <= set(range(1, 8)):
            raise ValueError(f"SERVICE_DAYS must be ISO weekdays 1-7, got {days!r}")
        return cls(frozenset(chosen), start, end, ZoneInfo(zone))

    @classmethod
    def of(cls, settings: Settings) -> "ServiceHours":
        return cls.parse(settings.service_hours, settings.service_days, settings.timezone)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.isoweekday() in self.days and self.start <= local.time() < self.end

    def describe(self) -> str:
        days = sorted(self.days)
        if len(days) == 7:
            label = "每天"
        elif days == list(range(days[0], days[-1] + 1)):
            label = f"周{_WEEKDAYS[days[0] - 1]}至周{_WEEKDAYS[days[-1] - 1]}"
        else:
            label = "、".join(f"周{_WEEKDAYS[day - 1]}" for day in days)
        end = "24:00" if self.end == time.max else self.end.strftime("%H:%M")
        return f"{label} {self.start.strftime('%H:%M')}-{end}"


class Availability(str, enum.Enum):
    OPEN = "open"
    OUTSIDE_HOURS = "outside_hours"
    NO_AGENT_ONLINE = "no_agent_online"


class ClaimError(Exception):
    """A claim, reply or hand-back on a conversation this agent does not hold."""

    def __init__(self, message: str) -> None:  # message is shown to the agent, in Chinese
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PositionUpdate:
    conversation_id: str
    position: int


@dataclass(frozen=True)
class QueuedHandoff:
    id: int
    priority: int
    position: int  # 1 = next to be served
    created: bool


def _holder_name(session: Session, row: HandoffRequest) -> str:
    """The holding agent as the desk shows people: by display name."""
    name = session.execute(select(Agent.display_name).where(Agent.username == row.assigned_to)).scalar_one_or_none()
    return name or str(row.assigned_to)


class HandoffService:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.hours = ServiceHours.of(settings)

    def availability(self) -> Availability:
        """Whether a handoff would reach a human now, or the user should leave a message."""
        if not self.hours.is_open(self.clock()):
            return Availability.OUTSIDE_HOURS
        presence = timedelta(seconds=self.settings.agent_presence_seconds)
        if AgentService(self.db, self.clock).online_count(presence) == 0:
            return Availability.NO_AGENT_ONLINE
        return Availability.OPEN

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
                    conversation_id=conversation_id,
                    channel=channel,
                    reason=reason.value,
                    priority=reason.priority,
                    status="waiting",
                    slots=dict(slots),
                    created_at=now,
                    updated_at=now,
                )
                session.add(current)
            elif reason.priority > current.priority:
                current.reason, current.priority, current.updated_at = reason.value, reason.priority, now
            if ticket_no and current.ticket_id is None:
                current.ticket_id = session.execute(
                    select(Ticket.id).where(Ticket.ticket_no == ticket_no)
                ).scalar_one_or_none()
            session.flush()
            position = self._position(session, current)
            current.notified_position = position
            return QueuedHandoff(current.id, current.priority, position, created)

    @staticmethod
    def _active(session: Session, conversation_id: str) -> Optional[HandoffRequest]:
        return (
            session.execute(
                select(HandoffRequest)
                .where(HandoffRequest.conversation_id == conversation_id, HandoffRequest.status.in_(ACTIVE_STATUSES))
                .order_by(HandoffRequest.id.desc())
            )
            .scalars()
            .first()
        )

    @staticmethod
    def _position(session: Session, request: HandoffRequest) -> int:
        if request.status != "waiting":
            return 0
        ahead = session.execute(
            select(func.count())
            .select_from(HandoffRequest)
            .where(
                HandoffRequest.status == "waiting",
                or_(
                    HandoffRequest.priority > request.priority,
                    and_(HandoffRequest.priority == request.priority, HandoffRequest.id < request.id),
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

    # -- the desk -------------------------------------------------------------

    def claim(self, request_id: int, agent: AgentAccount) -> Dict[str, Any]:
        """Exactly one of several agents clicking at once wins; the others get ClaimError."""
        now = self.clock()
        with self.db.transaction() as session:
            # A conditional UPDATE is atomic on both SQLite and PostgreSQL.
            won = (
                session.execute(
                    update(HandoffRequest)
                    .where(HandoffRequest.id == request_id, HandoffRequest.status == "waiting")
                    .values(
                        status="assigned",
                        assigned_to=agent.username,
                        claimed_at=now,
                        last_activity_at=now,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
            row = session.get(HandoffRequest, request_id)
            if row is None:
                raise ClaimError("该会话不存在")
            if not won:
                if row.status == "assigned":
                    raise ClaimError(f"该会话已被 {_holder_name(session, row)} 接入")
                raise ClaimError("该会话已结束，无法接入")
            return row.as_dict()

    def held(self, request_id: int, agent: AgentAccount) -> Dict[str, Any]:
        """The request if this agent may work on it (its holder, or any supervisor)."""
        with self.db.transaction() as session:
            return self._held(session, request_id, agent).as_dict()

    def _held(self, session: Session, request_id: int, agent: AgentAccount) -> HandoffRequest:
        row = session.get(HandoffRequest, request_id)
        if row is None:
            raise ClaimError("该会话不存在")
        if row.status != "assigned":
            raise ClaimError("该会话未被接入或已结束")
        if row.assigned_to != agent.username and not agent.is_supervisor:
            raise ClaimError(f"该会话由 {_holder_name(session, row)} 处理")
        return row

    def touch(self, request_id: int, agent: AgentAccount) -> Dict[str, Any]:
        """Records agent activity (a reply, a ticket edit) so the idle timer restarts."""
        with self.db.transaction() as session:
            row = self._held(session, request_id, agent)
            row.last_activity_at = row.updated_at = self.clock()
            return row.as_dict()

    def finish(self, request_id: int, agent: AgentAccount, outcome: str) -> Dict[str, Any]:
        """Hand back to the bot ("released") or close the conversation ("closed")."""
        if outcome not in ("released", "closed"):
            raise ValueError(f"unknown outcome {outcome!r}")
        with self.db.transaction() as session:
            row = self._held(session, request_id, agent)
            now = self.clock()
            row.status, row.ended_at, row.updated_at = outcome, now, now
            return row.as_dict()

    def link_ticket(self, request_id: int, agent: AgentAccount, ticket_no: str) -> None:
        with self.db.transaction() as session:
            row = self._held(session, request_id, agent)
            row.ticket_id = session.execute(select(Ticket.id).where(Ticket.ticket_no == ticket_no)).scalar_one()

    def requeue_idle(self) -> List[Dict[str, Any]]:
        """Conversations an agent left untouched for too long go back to the queue."""
        now = self.clock()
        cutoff = now - timedelta(minutes=self.settings.agent_idle_minutes)
        with self.db.transaction() as session:
            rows = (
                session.execute(
                    select(HandoffRequest)
                    .where(HandoffRequest.status == "assigned", HandoffRequest.last_activity_at < cutoff)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for row in rows:
                row.status, row.assigned_to, row.claimed_at = "waiting", None, None
                row.updated_at = now
            return [row.as_dict() for row in rows]

    def position_updates(self) -> List[PositionUpdate]:
        """Waiting users whose place in the queue improved since they were last told."""
        updates = []
        with self.db.transaction() as session:
            for position, row in enumerate(self._waiting(session), start=1):
                if row.notified_position is None or position < row.notified_position:
                    row.notified_position = position
                    updates.append(PositionUpdate(row.conversation_id, position))
        return updates

    @staticmethod
    def _waiting(session: Session) -> List[HandoffRequest]:
        return list(
            session.execute(
                select(HandoffRequest)
                .where(HandoffRequest.status == "waiting")
                .order_by(HandoffRequest.priority.desc(), HandoffRequest.id)
            ).scalars()
        )

    def queue(self) -> List[Dict[str, Any]]:
        """Waiting requests, threats first, then by waiting time, with their position."""
        with self.db.transaction() as session:
            return [
                dict(row.as_dict(), position=position) for position, row in enumerate(self._waiting(session), start=1)
            ]

    def assigned(self, agent: Optional[AgentAccount] = None) -> List[Dict[str, Any]]:
        """Conversations held by this agent, or by anyone when agent is None."""
        with self.db.transaction() as session:
            query = select(HandoffRequest).where(HandoffRequest.status == "assigned")
            if agent is not None:
                query = query.where(HandoffRequest.assigned_to == agent.username)
            return [row.as_dict() for row in session.execute(query.order_by(HandoffRequest.claimed_at)).scalars()]

    def get(self, request_id: int) -> Optional[Dict[str, Any]]:
        with self.db.transaction() as session:
            row = session.get(HandoffRequest, request_id)
            return row.as_dict() if row else None

    def list(self, active_only: bool = False) -> List[Dict[str, Any]]:
        with self.db.transaction() as session:
            query = select(HandoffRequest).order_by(HandoffRequest.priority.desc(), HandoffRequest.id)
            if active_only:
                query = query.where(HandoffRequest.status.in_(ACTIVE_STATUSES))
            return [row.as_dict() for row in session.execute(query).scalars()]
