"""溯源: per category, how many complaints were controllable (业管可控) and which root causes lay behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select

from bot.analysis import daily
from bot.analysis.figures import Share, ratio, shares
from bot.analysis.scope import Frame, Scope
from bot.models import Ticket


@dataclass(frozen=True)
class Controllability:
    category: str
    label: str
    controllable: int
    uncontrollable: int
    unassessed: int  # not yet closed, or closed before root causes were recorded
    controllable_share: Optional[float]  # of the assessed ones
    controllable_causes: List[Share]  # shares within the controllable ones
    uncontrollable_causes: List[Share]


_FLAGS = {"": None, "1": True, "0": False}  # the roll-up's keys for root_cause_controllable


def controllability(frame: Frame, scope: Scope) -> List[Controllability]:
    rows: Sequence[Any]
    if frame.rolled_up(scope):
        rows = [
            (category, _FLAGS[flag], cause, count)
            for category, flag, cause, count in daily.sums(
                frame.session, scope.period, daily.CAUSE, "key1", "key2", "key3"
            )
        ]
    else:
        rows = frame.session.execute(
            select(Ticket.category, Ticket.root_cause_controllable, Ticket.root_cause_category, func.count())
            .where(frame.where(scope))
            .group_by(Ticket.category, Ticket.root_cause_controllable, Ticket.root_cause_category)
        ).all()
    counted: Dict[str, Dict[Optional[bool], Dict[str, int]]] = {}
    for category, controllable, cause, count in rows:
        flag = None if controllable is None else bool(controllable)
        causes = counted.setdefault(category, {}).setdefault(flag, {})
        causes[cause or ""] = causes.get(cause or "", 0) + int(count)
    taxonomy = frame.taxonomy

    def listed(causes: Dict[str, int]) -> List[Share]:
        return shares((cause, taxonomy.root_cause_label(cause or None), count) for cause, count in causes.items())

    found: List[Tuple[int, Controllability]] = []
    for category, by_flag in counted.items():
        yes, no = by_flag.get(True, {}), by_flag.get(False, {})
        controllable, uncontrollable = sum(yes.values()), sum(no.values())
        unassessed = sum(by_flag.get(None, {}).values())
        found.append(
            (
                controllable + uncontrollable + unassessed,
                Controllability(
                    category,
                    taxonomy.category_label(category),
                    controllable,
                    uncontrollable,
                    unassessed,
                    ratio(controllable, controllable + uncontrollable),
                    listed(yes),
                    listed(no),
                ),
            )
        )
    return [item for _, item in sorted(found, key=lambda pair: (-pair[0], pair[1].category))]
