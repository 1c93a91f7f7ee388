"""How complaints were handled: days to 结案, closed within the 15 days or the extended deadline, open by age."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Tuple

from sqlalchemy import and_, case, func, literal, select

from bot.analysis import daily
from bot.analysis.figures import Share, percentile, ratio
from bot.analysis.scope import Frame, Scope
from bot.models import Ticket

WITHIN_STANDARD = "within_standard"
WITHIN_EXTENDED = "within_extended"
OVERDUE = "overdue"
_OUTCOME_LABELS = {WITHIN_STANDARD: "{days}日内结案", WITHIN_EXTENDED: "延期期限内结案", OVERDUE: "超期结案"}
# Open tickets by age in local days since receipt: (lowest age, label); each band runs to the next one.
AGE_BANDS: Tuple[Tuple[int, str], ...] = (
    (0, "7日内"),
    (8, "8–15日"),
    (16, "16–30日"),
    (31, "31–60日"),
    (61, "60日以上"),
)


@dataclass(frozen=True)
class Handling:
    closed: int
    median_days: Optional[int]  # local calendar days from receipt to 结案
    p90_days: Optional[int]
    outcomes: List[Share]  # within the standard days / within the extended deadline / overdue, of the closed
    open: int
    open_by_age: List[Share]  # in band order, every band present


def _closing(frame: Frame, scope: Scope) -> List[Tuple[int, bool, int]]:
    """Closed complaints grouped by local days to 结案 and whether 结案 fell on or before the deadline."""
    if frame.rolled_up(scope):
        return [
            (int(days), on_time == "1", count)
            for days, on_time, count in daily.sums(frame.session, scope.period, daily.CLOSING, "key1", "key2")
        ]
    days = frame.local.days_between(Ticket.closed_at, Ticket.received_at).label("days_to_close")
    in_time = case((frame.local.on_or_before(Ticket.closed_at, Ticket.deadline), 1), else_=0).label("in_time")
    rows = frame.session.execute(
        select(days, in_time, func.count())
        .where(and_(frame.where(scope), Ticket.closed_at.isnot(None)))
        .group_by("days_to_close", "in_time")
    )
    return [(int(value), bool(on_time), int(count)) for value, on_time, count in rows]


def _outcomes(closing: List[Tuple[int, bool, int]], standard_days: int) -> List[Share]:
    """Within the standard days, else within the (extended) deadline, else overdue."""
    counted = dict.fromkeys(_OUTCOME_LABELS, 0)
    for days, in_time, count in closing:
        key = WITHIN_STANDARD if days <= standard_days else WITHIN_EXTENDED if in_time else OVERDUE
        counted[key] += count
    total = sum(counted.values())
    return [
        Share(key, label.format(days=standard_days), counted[key], ratio(counted[key], total))
        for key, label in _OUTCOME_LABELS.items()
    ]


def _local_midnight(day: date, frame: Frame) -> datetime:
    return datetime.combine(day, time(), frame.zone).astimezone(timezone.utc)


def _open_ages(frame: Frame, scope: Scope, as_of: date) -> List[Share]:
    """Open complaints by local days since receipt as of `as_of`: compared with the UTC moment each band starts."""
    if frame.rolled_up(scope):
        return _banded(daily.per_day(frame.session, scope.period, daily.CHANNEL, "0"), as_of)
    whens = []
    for lowest, label in reversed(AGE_BANDS[1:]):
        # Age ≥ lowest ⇔ received before the local midnight that starts day (as_of − lowest + 1).
        whens.append((Ticket.received_at < _local_midnight(as_of - timedelta(days=lowest - 1), frame), label))
    band = case(*[(condition, literal(label)) for condition, label in whens], else_=literal(AGE_BANDS[0][1]))
    rows = frame.session.execute(
        select(band.label("age_band"), func.count())
        .where(and_(frame.where(scope), Ticket.closed_at.is_(None)))
        .group_by("age_band")
    )
    counted = {str(key): int(count) for key, count in rows}
    total = sum(counted.values())
    return [Share(label, label, counted.get(label, 0), ratio(counted.get(label, 0), total)) for _, label in AGE_BANDS]


def _banded(open_per_day: Dict[date, int], as_of: date) -> List[Share]:
    """The same bands from open complaints per local day of receipt: the highest band the age reaches."""
    counted = dict.fromkeys((label for _, label in AGE_BANDS), 0)
    for day, count in open_per_day.items():
        age = (as_of - day).days
        label = next((label for lowest, label in reversed(AGE_BANDS) if age >= lowest), AGE_BANDS[0][1])
        counted[label] += count
    total = sum(counted.values())
    return [Share(label, label, counted[label], ratio(counted[label], total)) for _, label in AGE_BANDS]


def handling(frame: Frame, scope: Scope, standard_days: int, as_of: date) -> Handling:
    closing = _closing(frame, scope)
    histogram = [(days, count) for days, _, count in closing]
    ages = _open_ages(frame, scope, as_of)
    return Handling(
        closed=sum(count for _, count in histogram),
        median_days=percentile(histogram, 0.5),
        p90_days=percentile(histogram, 0.9),
        outcomes=_outcomes(closing, standard_days),
        open=sum(item.count for item in ages),
        open_by_age=ages,
    )
