"""A clock the test moves by hand, for services that take one (bot/clock.py)."""

from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    """Tells `now`, which the test sets; it starts on a Monday at 12:00 in Shanghai."""

    def __init__(self, now: datetime = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
