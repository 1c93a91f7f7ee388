"""The time source: services take a `Clock` so tests can fix the moment; `utc_now` is the real one."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current moment, timezone-aware in UTC (the database stores UTC)."""
    return datetime.now(timezone.utc)
