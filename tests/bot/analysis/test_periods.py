"""Report periods: parsing, 环比 and 同比 across year boundaries, local midnights."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.periods import Period, PeriodError


def test_the_month_before_january_is_december_of_the_year_before() -> None:
    assert Period.month(2026, 1).previous() == Period(date(2025, 12, 1), date(2026, 1, 1))
    assert Period.month(2026, 3).previous() == Period(date(2026, 2, 1), date(2026, 3, 1))  # a month, not 31 days


def test_the_quarter_and_year_before() -> None:
    assert Period.quarter(2026, 1).previous() == Period.quarter(2025, 4)
    assert Period.quarter(2026, 1).year_before() == Period.quarter(2025, 1)
    assert Period.year(2026).previous() == Period.year(2025) == Period.year(2026).year_before()


def test_a_custom_range_compares_with_the_days_just_before_it() -> None:
    period = Period(date(2025, 12, 20), date(2026, 1, 10))  # 21 days across new year
    assert period.previous() == Period(date(2025, 11, 29), date(2025, 12, 20))
    assert period.year_before() == Period(date(2024, 12, 20), date(2025, 1, 10))


def test_29_february_a_year_earlier_is_28_february() -> None:
    assert Period(date(2028, 2, 29), date(2028, 3, 2)).year_before() == Period(date(2027, 2, 28), date(2027, 3, 2))


def test_bounds_are_local_midnights_in_utc() -> None:
    start, end = Period.month(2026, 1).utc_bounds(ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2025, 12, 31, 16, tzinfo=timezone.utc)
    assert end == datetime(2026, 1, 31, 16, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, period, label",
    [
        ("2026", Period.year(2026), "2026年"),
        ("2026-q2", Period.quarter(2026, 2), "2026年第2季度"),
        ("2026-03", Period.month(2026, 3), "2026年3月"),
        ("2026-01-05..2026-02-05", Period(date(2026, 1, 5), date(2026, 2, 5)), "2026-01-05至2026-02-04"),
    ],
)
def test_periods_are_read_from_the_page_s_values(text: str, period: Period, label: str) -> None:
    assert Period.parse(text) == period
    assert period.label == label


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "格式不正确"),
        ("2026-13", "日期无效"),
        ("2026-02-30..2026-03-01", "日期无效"),
        ("2026-02-01..2026-01-01", "晚于开始日期"),
        ("2000-01-01..2026-01-01", "不能超过5年"),
        ("2026-Q5", "格式不正确"),
    ],
)
def test_a_bad_period_is_refused_in_chinese(text: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        Period.parse(text)


def test_months_lists_every_month_the_period_touches() -> None:
    assert Period(date(2025, 12, 15), date(2026, 2, 2)).months() == ("2025-12", "2026-01", "2026-02")
