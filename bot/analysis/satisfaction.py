"""Satisfaction (满意/基本满意/不满意) by category, and seed 003's priorities: volume against dissatisfaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from sqlalchemy import case, func, select

from bot.analysis import daily
from bot.analysis.figures import ratio
from bot.analysis.scope import Frame, Scope
from bot.models import Ticket

SATISFIED, BASICALLY, DISSATISFIED = "satisfied", "basically_satisfied", "dissatisfied"
RATING_LABELS = {SATISFIED: "满意", BASICALLY: "基本满意", DISSATISFIED: "不满意"}
# The quadrants of the priority view: (many complaints?, above-average dissatisfaction?) → what to do.
QUADRANTS: Dict[Tuple[bool, bool], str] = {
    (True, True): "优先改进",
    (False, True): "重点关注",
    (True, False): "持续优化",
    (False, False): "保持",
}


@dataclass(frozen=True)
class CategorySatisfaction:
    category: str
    label: str
    complaints: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    rated: int
    satisfaction_rate: Optional[float]  # (满意 + 基本满意) / rated
    dissatisfaction_rate: Optional[float]


@dataclass(frozen=True)
class Priority:
    category: str
    category_label: str
    sub_reason: str
    sub_reason_label: str
    complaints: int
    volume_share: Optional[float]
    rated: int
    dissatisfied: int
    dissatisfaction_rate: Optional[float]
    quadrant: str


def _rolled_up(frame: Frame, scope: Scope, width: int) -> List[Tuple[object, ...]]:
    """The raw query's rows from the roll-up: the first `width` of (category, sub-reason), complaints and the
    three ratings' counts."""
    merged: Dict[Tuple[object, ...], List[int]] = {}
    for category, reason, rating, count in daily.sums(
        frame.session, scope.period, daily.REASON, "key1", "key2", "key3"
    ):
        sums = merged.setdefault((category, reason)[:width], [0, 0, 0, 0])
        sums[0] += count
        if rating in RATING_LABELS:
            sums[1 + list(RATING_LABELS).index(rating)] += count
    return [key + tuple(sums) for key, sums in merged.items()]


def _counts(frame: Frame, scope: Scope, *keys: object) -> List[Tuple[object, ...]]:
    if frame.rolled_up(scope):
        return _rolled_up(frame, scope, len(keys))

    def rated(value: str) -> object:
        return func.sum(case((Ticket.satisfaction == value, 1), else_=0))

    return [
        tuple(row)
        for row in frame.session.execute(
            select(*keys, func.count(), rated(SATISFIED), rated(BASICALLY), rated(DISSATISFIED))
            .where(frame.where(scope))
            .group_by(*keys)
        )
    ]


def by_category(frame: Frame, scope: Scope) -> List[CategorySatisfaction]:
    found = []
    for category, complaints, satisfied, basically, dissatisfied in _counts(frame, scope, Ticket.category):
        counts = [int(value or 0) for value in (complaints, satisfied, basically, dissatisfied)]  # type: ignore[call-overload]
        rated = sum(counts[1:])
        found.append(
            CategorySatisfaction(
                category=str(category),
                label=frame.taxonomy.category_label(str(category)),
                complaints=counts[0],
                satisfied=counts[1],
                basically_satisfied=counts[2],
                dissatisfied=counts[3],
                rated=rated,
                satisfaction_rate=ratio(counts[1] + counts[2], rated),
                dissatisfaction_rate=ratio(counts[3], rated),
            )
        )
    return sorted(found, key=lambda item: (-item.complaints, item.category))


def priorities(frame: Frame, scope: Scope) -> List[Priority]:
    """Each sub-reason placed by its volume (above the average sub-reason's) and its dissatisfaction (above
    the overall rate): many complaints and unhappy complainants come first (优先改进)."""
    rows = _counts(frame, scope, Ticket.category, Ticket.sub_reason)
    if not rows:
        return []
    merged: Dict[Tuple[str, str], List[int]] = {}
    for row in rows:
        key = (str(row[0]), frame.taxonomy.sub_reason_code(str(row[0]), row[1] or None))  # type: ignore[arg-type]
        sums = merged.setdefault(key, [0, 0, 0, 0])
        for index, value in enumerate(row[2:]):
            sums[index] += int(value or 0)  # type: ignore[call-overload]
    counted: List[Tuple[str, str, int, int, int, int]] = [
        (category, reason, sums[0], sums[1], sums[2], sums[3]) for (category, reason), sums in merged.items()
    ]
    total = sum(row[2] for row in counted)
    rated_total = sum(row[3] + row[4] + row[5] for row in counted)
    overall = ratio(sum(row[5] for row in counted), rated_total)
    average_volume = total / len(counted)
    taxonomy = frame.taxonomy
    found = []
    for category, reason, complaints, satisfied, basically, dissatisfied in counted:
        rated = satisfied + basically + dissatisfied
        rate = ratio(dissatisfied, rated)
        unhappy = rate is not None and overall is not None and rate > overall
        found.append(
            Priority(
                category,
                taxonomy.category_label(category),
                reason,
                taxonomy.sub_reason_label(category, reason or None),
                complaints,
                ratio(complaints, total),
                rated,
                dissatisfied,
                rate,
                QUADRANTS[(complaints >= average_volume, unhappy)],
            )
        )
    order = list(QUADRANTS.values())
    return sorted(
        found, key=lambda item: (order.index(item.quadrant), -item.complaints, item.category, item.sub_reason)
    )
