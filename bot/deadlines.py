"""The handling deadline of a ticket (Art. 18, Order 2020/3): the one place it is computed.

Days are calendar days (Art. 43) of the configured time zone (Asia/Shanghai): the
clock starts on the local day of receipt, so a complaint received at 23:59 is due
a day earlier than one received two minutes later. The base period is
TICKET_DEADLINE_DAYS, or TICKET_COMPLEX_DEADLINE_DAYS for a complex ticket; a
supervisor may add up to TICKET_MAX_EXTENSION_DAYS; local days spent on an
external appraisal (鉴定/检测/评估) are added back, each day counted once however
many pauses overlap it. A pause from Monday to Wednesday stops the clock for two
days; one that starts and ends on the same day for none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Optional, Set
from zoneinfo import ZoneInfo

from bot.settings import Settings


class DueState(str, enum.Enum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return {"on_time": "未到期", "due_soon": "即将到期", "overdue": "已超期"}[self.value]


@dataclass(frozen=True)
class DeadlineRules:
    """The configurable numbers of Art. 18 and the zone whose calendar days count."""

    base_days: int = 15
    complex_days: int = 30
    max_extension_days: int = 30
    due_soon_days: int = 3
    zone: str = "Asia/Shanghai"

    @classmethod
    def of(cls, settings: Settings) -> "DeadlineRules":
        return cls(
            base_days=settings.handling_days,
            complex_days=settings.complex_deadline_days,
            max_extension_days=settings.max_extension_days,
            due_soon_days=settings.due_soon_days,
            zone=settings.timezone,
        )

    def local_day(self, moment: datetime) -> date:
        """The calendar day of `moment` in the rules' zone (naive moments are UTC, as stored)."""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return aware.astimezone(ZoneInfo(self.zone)).date()


@dataclass(frozen=True)
class Pause:
    started_at: datetime
    ended_at: Optional[datetime] = None  # None: still running


def paused_days(pauses: Iterable[Pause], rules: DeadlineRules, now: datetime) -> int:
    """Local days on which the clock stood still; a running pause counts up to today."""
    days: Set[date] = set()
    for pause in pauses:
        first = rules.local_day(pause.started_at)
        end = rules.local_day(pause.ended_at or now)
        days.update(first + timedelta(days=offset) for offset in range((end - first).days))
    return len(days)


def check_extension(days: int, rules: DeadlineRules) -> None:
    """Refuses an extension outside 1..TICKET_MAX_EXTENSION_DAYS, in words the desk shows."""
    if not 1 <= days <= rules.max_extension_days:
        raise ValueError(f"延长天数须在1至{rules.max_extension_days}天之间")


def effective_deadline(
    received_at: datetime,
    rules: DeadlineRules,
    now: datetime,
    is_complex: bool = False,
    extension_days: int = 0,
    pauses: Iterable[Pause] = (),
) -> date:
    """The last local day on which the decision is on time."""
    period = rules.complex_days if is_complex else rules.base_days
    extension = min(max(extension_days, 0), rules.max_extension_days)
    return rules.local_day(received_at) + timedelta(days=period + extension + paused_days(pauses, rules, now))


def days_left(deadline: date, today: date) -> int:
    """0 on the deadline day itself, negative once it has passed."""
    return (deadline - today).days


def due_state(deadline: date, today: date, rules: DeadlineRules) -> DueState:
    left = days_left(deadline, today)
    if left < 0:
        return DueState.OVERDUE
    if left <= rules.due_soon_days:
        return DueState.DUE_SOON
    return DueState.ON_TIME
