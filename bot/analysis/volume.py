"""How many complaints: totals against 同比 and 环比, per channel, per month, by category and sub-reason, by region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sqlalchemy import func, select

from bot.analysis import daily
from bot.analysis.figures import Share, change, shares
from bot.analysis.scope import Frame, Scope
from bot.models import Ticket
from bot.regions import UNKNOWN


@dataclass(frozen=True)
class Totals:
    count: int
    closed: int
    year_before: int  # 同比 base
    previous: int  # 环比 base
    year_on_year: Optional[float]
    period_on_period: Optional[float]


@dataclass(frozen=True)
class CategoryBreakdown:
    category: Share
    sub_reasons: List[Share]  # shares within the category


def _count(frame: Frame, scope: Scope) -> Tuple[int, int]:
    if frame.rolled_up(scope):
        closed = dict(daily.sums(frame.session, scope.period, daily.CHANNEL, "key2"))
        return sum(closed.values()), closed.get("1", 0)
    row = frame.session.execute(select(func.count(), func.count(Ticket.closed_at)).where(frame.where(scope))).one()
    return int(row[0] or 0), int(row[1] or 0)


def totals(frame: Frame, scope: Scope) -> Totals:
    """The period's complaints and closed ones, and the 同比 and 环比 bases: one index range each (a single
    query over the three ranges joined by OR cannot use the index's order and reads more)."""
    count, closed = _count(frame, scope)
    year_before, _ = _count(frame, scope.over(scope.period.year_before()))
    previous, _ = _count(frame, scope.over(scope.period.previous()))
    return Totals(count, closed, year_before, previous, change(count, year_before), change(count, previous))


def by_channel(frame: Frame, scope: Scope, labels: Dict[str, str]) -> List[Share]:
    if frame.rolled_up(scope):
        rows = daily.sums(frame.session, scope.period, daily.CHANNEL, "key1")
    else:
        rows = frame.session.execute(
            select(Ticket.channel, func.count()).where(frame.where(scope)).group_by(Ticket.channel)
        ).all()
    return shares((channel, labels.get(channel, channel), int(count)) for channel, count in rows)


def by_month(frame: Frame, scope: Scope) -> List[Tuple[str, int]]:
    """Complaints per local month of receipt, every month of the period present (0 where none)."""
    counted: Dict[str, int] = {}
    if frame.rolled_up(scope):
        for day, count in daily.sums(frame.session, scope.period, daily.CHANNEL, "day"):
            counted[f"{day:%Y-%m}"] = counted.get(f"{day:%Y-%m}", 0) + count
    else:
        month = frame.local.month(Ticket.received_at).label("month_key")
        rows = frame.session.execute(select(month, func.count()).where(frame.where(scope)).group_by("month_key"))
        counted = {str(key): int(count) for key, count in rows}
    return [(key, counted.get(key, 0)) for key in scope.period.months()]


def by_category(frame: Frame, scope: Scope) -> List[CategoryBreakdown]:
    """Each category with its share of all complaints, and its sub-reasons with their share within it."""
    if frame.rolled_up(scope):
        rows = daily.sums(frame.session, scope.period, daily.REASON, "key1", "key2")
    else:
        rows = frame.session.execute(
            select(Ticket.category, Ticket.sub_reason, func.count())
            .where(frame.where(scope))
            .group_by(Ticket.category, Ticket.sub_reason)
        ).all()
    per_category: Dict[str, Dict[str, int]] = {}
    for category, sub_reason, count in rows:
        reasons = per_category.setdefault(category, {})
        code = frame.taxonomy.sub_reason_code(category, sub_reason)
        reasons[code] = reasons.get(code, 0) + int(count)
    taxonomy = frame.taxonomy
    categories = shares(
        (category, taxonomy.category_label(category), sum(reasons.values()))
        for category, reasons in per_category.items()
    )
    return [
        CategoryBreakdown(
            item,
            shares(
                (reason, taxonomy.sub_reason_label(item.key, reason or None), count)
                for reason, count in per_category[item.key].items()
            ),
        )
        for item in categories
    ]


def by_region(frame: Frame, scope: Scope) -> List[Share]:
    if frame.rolled_up(scope):
        rows = daily.sums(frame.session, scope.period, daily.REGION, "key1")
    else:
        region = func.coalesce(Ticket.region, UNKNOWN).label("region_name")
        rows = frame.session.execute(select(region, func.count()).where(frame.where(scope)).group_by("region_name"))
    return shares((str(name), str(name), int(count)) for name, count in rows)
