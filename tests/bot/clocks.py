"""A clock the test moves by hand, for services that take one (bot/clock.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

MONDAY_NOON_IN_SHANGHAI = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


class Clock:
    """Tells `now`, which the test sets or advances."""

    def __init__(self, now: datetime = MONDAY_NOON_IN_SHANGHAI) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
