"""Waiting in the queue for a human: where a user stands, roughly how long, and giving up the place.

The estimate is deliberately rough: the median time recent users waited from
joining the queue to an agent taking them, times the user's position. With
too few recent waits to go by there is no estimate rather than a made-up one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from statistics import median
from typing import List, Optional, Sequence, Set

from sqlalchemy import select

from bot.clock import Clock, utc_now
from bot.db import Database
from bot.handoff import HandoffService
from bot.models import HandoffRequest

RECENT_CLAIMS = 20  # the waits the estimate is taken from
RECENT_HOURS = 24
MIN_WAITS = 3  # fewer recent waits than this: no estimate

# What a queued user types to leave a message instead (留言) — and refusals of it.
_LEAVE_MESSAGE = ("留言", "留个言", "回电", "回个电话", "打电话给我", "给我打电话", "打给我")
_NOT_LEAVE_MESSAGE = ("不留", "不用留", "不要留", "不需要留", "不想留")


def wants_to_leave_message(text: str) -> bool:
    """Whether a queued user asks to leave a message for a callback instead of waiting."""
    return any(word in text for word in _LEAVE_MESSAGE) and not any(word in text for word in _NOT_LEAVE_MESSAGE)


def estimate_minutes(waits: Sequence[timedelta], position: int) -> Optional[int]:
    """A rough wait in whole minutes (at least 1) for this position; None without enough history."""
    if len(waits) < MIN_WAITS or position < 1:
        return None
    typical = median(wait.total_seconds() for wait in waits)
    return max(1, math.ceil(typical * position / 60))


@dataclass(frozen=True)
class Standing:
    position: int  # 1 = next to be served
    minutes: Optional[int]


class QueueWaits:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    def recent_waits(self) -> List[timedelta]:
        """How long the latest users taken by an agent had waited."""
        since = self.clock() - timedelta(hours=RECENT_HOURS)
        with self.db.transaction() as session:
            rows = session.execute(
                select(HandoffRequest.created_at, HandoffRequest.claimed_at)
                .where(HandoffRequest.claimed_at.is_not(None), HandoffRequest.claimed_at >= since)
                .order_by(HandoffRequest.claimed_at.desc())
                .limit(RECENT_CLAIMS)
            ).all()
        return [claimed - created for created, claimed in rows if claimed >= created]

    def standing(self, conversation_id: str) -> Optional[Standing]:
        """The user's place and rough wait, or None when not waiting (an agent holds it, or no request)."""
        with self.db.transaction() as session:
            row = HandoffService._active(session, conversation_id)
            if row is None or row.status != "waiting":
                return None
            position = HandoffService._position(session, row)
        return Standing(position, estimate_minutes(self.recent_waits(), position))

    def withdraw(self, conversation_id: str) -> bool:
        """The user gives up their place (to leave a message); False if they were not waiting."""
        with self.db.transaction() as session:
            row = HandoffService._active(session, conversation_id)
            if row is None or row.status != "waiting":
                return False
            now = self.clock()
            row.status, row.ended_at, row.updated_at = "released", now, now
            return True

    def waiting_conversations(self) -> List[str]:
        with self.db.transaction() as session:
            return list(
                session.execute(
                    select(HandoffRequest.conversation_id)
                    .where(HandoffRequest.status == "waiting")
                    .order_by(HandoffRequest.id)
                ).scalars()
            )


@dataclass
class OfflineNotices:
    """Who still has to be told that no agent is left: each waiting user once per spell without agents."""

    told: Set[str] = field(default_factory=set)

    def due(self, agents_available: bool, waiting: Sequence[str]) -> List[str]:
        if agents_available:
            self.told.clear()
            return []
        self.told &= set(waiting)  # those who left the queue need no notice
        return [conversation for conversation in waiting if conversation not in self.told]

    def sent(self, conversation_id: str) -> None:
        self.told.add(conversation_id)
