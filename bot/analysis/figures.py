"""The shapes every section shares: a counted row with its share, a change against a base, percentiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Share:
    key: str
    label: str
    count: int
    share: Optional[float]  # of the total the rows are part of; None when that total is 0


def ratio(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def change(current: int, base: int) -> Optional[float]:
    """Relative change against a base (0.25 = +25 %); None when the base is 0."""
    return (current - base) / base if base else None


def shares(rows: Iterable[Tuple[str, str, int]], total: Optional[int] = None) -> List[Share]:
    """Rows (key, label, count), largest first (then by key), with their share of `total` (default: their sum)."""
    listed = sorted(rows, key=lambda row: (-row[2], row[0]))
    whole = sum(row[2] for row in listed) if total is None else total
    return [Share(key, label, count, ratio(count, whole)) for key, label, count in listed]


def percentile(histogram: Sequence[Tuple[int, int]], fraction: float) -> Optional[int]:
    """Nearest-rank percentile of values given as (value, how many): the smallest value with at least
    ⌈fraction·n⌉ values at or below it. SQL groups the values; this walks the few groups."""
    ordered = sorted((value, count) for value, count in histogram if count > 0)
    total = sum(count for _, count in ordered)
    if not total:
        return None
    rank = max(1, -(-int(round(fraction * total * 1_000_000)) // 1_000_000))  # ceil without float drift
    seen = 0
    for value, count in ordered:
        seen += count
        if seen >= rank:
            return value
    return ordered[-1][0]
