"""What a report covers: a period and optional filters (channel, category, region), as SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.analysis.local_time import LocalTime
from bot.analysis.periods import Period, PeriodError
from bot.models import Ticket
from bot.regions import UNKNOWN
from bot.taxonomy import Taxonomy

MAX_FILTER = 64
COMPLAINT = "complaint"  # callbacks (留言) are not complaints until they become one


@dataclass(frozen=True)
class Scope:
    period: Period
    channel: Optional[str] = None
    category: Optional[str] = None
    region: Optional[str] = None

    def __post_init__(self) -> None:
        for name, value in (("渠道", self.channel), ("类别", self.category), ("地区", self.region)):
            if value is not None and (not value.strip() or len(value) > MAX_FILTER):
                raise PeriodError(f"{name}筛选条件无效")

    def over(self, period: Period) -> "Scope":
        """The same filters over another period (the comparison periods)."""
        return replace(self, period=period)

    def bounds(self, zone: ZoneInfo) -> Tuple[datetime, datetime]:
        return self.period.utc_bounds(zone)

    def conditions(self, zone: ZoneInfo, table: Any = Ticket) -> ColumnElement[bool]:
        """Complaints received in the period that match the filters."""
        start, end = self.bounds(zone)
        found: List[Any] = [table.kind == COMPLAINT, table.received_at >= start, table.received_at < end]
        if self.channel:
            found.append(table.channel == self.channel)
        if self.category:
            found.append(table.category == self.category)
        if self.region == UNKNOWN:
            found.append(or_(table.region == UNKNOWN, table.region.is_(None)))
        elif self.region:
            found.append(table.region == self.region)
        return and_(*found)


@dataclass(frozen=True)
class Frame:
    """What every section's queries need besides the scope: the session, the zone, the taxonomy's labels and
    whether the daily roll-up (bot/analysis/daily.py) counts in this zone's days."""

    session: Session
    zone: ZoneInfo
    local: LocalTime
    taxonomy: Taxonomy
    daily: bool = False

    def where(self, scope: Scope) -> ColumnElement[bool]:
        return scope.conditions(self.zone)

    def rolled_up(self, scope: Scope) -> bool:
        """Whether the roll-up answers `scope`: it has no filter dimensions (periods are whole days)."""
        return self.daily and scope.channel is None and scope.category is None and scope.region is None
