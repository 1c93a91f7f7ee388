"""Local calendar days and months of stored UTC moments, in SQL that SQLite and PostgreSQL evaluate alike.

Both databases shift by the zone's fixed UTC offset (China has kept +08:00 without daylight saving since
1991), so a day or a month is the same on either. Every piece is a literal, never a bound parameter, so an
expression repeated in GROUP BY is textually the one in the select list (PostgreSQL requires that).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, cast, func, literal_column, type_coerce
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class LocalTime:
    dialect: str  # "sqlite" or "postgresql"
    offset_minutes: int

    @classmethod
    def of(cls, dialect: str, zone: ZoneInfo, at: date) -> "LocalTime":
        offset = datetime(at.year, at.month, at.day, 12, tzinfo=zone).utcoffset()
        return cls(dialect, int(offset.total_seconds() // 60) if offset else 0)

    def _sqlite_shift(self) -> Any:
        return literal_column(f"'{self.offset_minutes:+d} minutes'")

    def _postgres_local(self, moment: Any) -> Any:
        return func.timezone(literal_column("'UTC'"), moment) + literal_column(
            f"interval '{self.offset_minutes} minutes'"
        )

    def day(self, moment: Any) -> ColumnElement[Any]:
        """The local date of a moment ('YYYY-MM-DD' text on SQLite, a date on PostgreSQL)."""
        if self.dialect == "sqlite":
            return func.date(moment, self._sqlite_shift())
        return cast(self._postgres_local(moment), Date)

    def month(self, moment: Any) -> ColumnElement[Any]:
        """The local month of a moment as 'YYYY-MM'."""
        if self.dialect == "sqlite":
            return func.strftime(literal_column("'%Y-%m'"), moment, self._sqlite_shift())
        return func.to_char(self._postgres_local(moment), literal_column("'YYYY-MM'"))

    def days_between(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        """Whole local calendar days from `earlier` to `later` (same day: 0)."""
        if self.dialect == "sqlite":
            return cast(func.julianday(self.day(later)) - func.julianday(self.day(earlier)), Integer)
        return type_coerce(self.day(later) - self.day(earlier), Integer)

    def on_or_before(self, moment: Any, day: Any) -> ColumnElement[Any]:
        """Whether a moment's local date is on or before a stored date column."""
        if self.dialect == "sqlite":
            return self.day(moment) <= func.date(day)
        return self.day(moment) <= day

    def days_earlier(self, moment: Any, days: int) -> ColumnElement[Any]:
        """The moment `days` whole days earlier, comparable with stored moments."""
        days = int(days)
        if self.dialect == "sqlite":
            return func.strftime(literal_column("'%Y-%m-%d %H:%M:%f'"), moment, literal_column(f"'-{days} days'"))
        return moment - literal_column(f"interval '{days} days'")
