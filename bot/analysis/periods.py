"""Report periods in local days, [start, end), with the periods they are compared with (同比, 环比)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Tuple
from zoneinfo import ZoneInfo

MAX_DAYS = 366 * 5  # a longer custom range would only be a slow page
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    """A period the supervisor must correct; the message is shown as it is."""


def _shift_months(day: date, months: int) -> date:
    """The same day `months` later (earlier when negative), clamped to the month's end (29 Feb → 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PeriodError("结束日期必须晚于开始日期")
        if (self.end - self.start).days > MAX_DAYS:
            raise PeriodError("统计区间不能超过5年")

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        start = date(year, month, 1)
        return cls(start, _shift_months(start, 1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> "Period":
        start = date(year, 3 * quarter - 2, 1)
        return cls(start, _shift_months(start, 3))

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year + 1, 1, 1))

    @classmethod
    def parse(cls, text: str) -> "Period":
        """'2026', '2026-Q1', '2026-03' or '2026-01-05..2026-02-05' (a custom range, its end excluded)."""
        text = (text or "").strip()[:40]
        try:
            if "..." not in text and ".." in text:
                first, last = text.split("..", 1)
                return cls(date.fromisoformat(first.strip()), date.fromisoformat(last.strip()))
            found = _MONTH.match(text)
            if found:
                return cls.month(int(found.group(1)), int(found.group(2)))
            found = _QUARTER.match(text)
            if found:
                return cls.quarter(int(found.group(1)), int(found.group(2)))
            found = _YEAR.match(text)
            if found:
                return cls.year(int(found.group(1)))
        except ValueError as exc:
            if isinstance(exc, PeriodError):
                raise
            raise PeriodError("统计区间的日期无效") from exc
        raise PeriodError("统计区间格式不正确，请用“2026”“2026-Q1”“2026-03”或“2026-01-05..2026-02-05”")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def _whole_months(self) -> int:
        """How many calendar months the period spans exactly, or 0 when it is not whole months."""
        if self.start.day != 1 or self.end.day != 1:
            return 0
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def previous(self) -> "Period":
        """环比: the period just before, of equal length (in months when the period is whole months)."""
        months = self._whole_months()
        if months:
            return Period(_shift_months(self.start, -months), self.start)
        return Period(self.start - timedelta(days=self.days), self.start)

    def year_before(self) -> "Period":
        """同比: the same dates a year earlier (29 Feb counts as 28 Feb)."""
        return Period(_shift_months(self.start, -12), _shift_months(self.end, -12))

    def utc_bounds(self, zone: ZoneInfo) -> Tuple[datetime, datetime]:
        """The period's first and after-last moments, local midnights as UTC (what the database stores)."""
        return tuple(  # type: ignore[return-value]
            datetime.combine(day, time(), zone).astimezone(timezone.utc) for day in (self.start, self.end)
        )

    def months(self) -> Tuple[str, ...]:
        """The local months the period touches, 'YYYY-MM', for a trend with every month present."""
        found, day = [], date(self.start.year, self.start.month, 1)
        while day < self.end:
            found.append(f"{day.year:04d}-{day.month:02d}")
            day = _shift_months(day, 1)
        return tuple(found)

    @property
    def label(self) -> str:
        months = self._whole_months()
        if months == 12 and self.start.month == 1:
            return f"{self.start.year}年"
        if months == 3 and self.start.month % 3 == 1:
            return f"{self.start.year}年第{(self.start.month + 2) // 3}季度"
        if months == 1:
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.isoformat()}至{(self.end - timedelta(days=1)).isoformat()}"
