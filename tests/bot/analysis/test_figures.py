"""Shares, changes and nearest-rank percentiles from grouped counts."""

from __future__ import annotations

from bot.analysis.figures import change, percentile, shares


def test_percentiles_take_the_nearest_rank_of_the_grouped_values() -> None:
    histogram = [(3, 5), (1, 4), (10, 1)]  # ten values: 1×4, 3×5, 10×1
    assert percentile(histogram, 0.5) == 3  # the 5th value
    assert percentile(histogram, 0.4) == 1  # the 4th value
    assert percentile(histogram, 0.9) == 3  # the 9th value
    assert percentile(histogram, 0.91) == 10  # rank ⌈9.1⌉ = 10
    assert percentile([], 0.5) is None and percentile([(4, 0)], 0.5) is None


def test_shares_are_largest_first_and_change_needs_a_base() -> None:
    assert [(row.key, row.share) for row in shares([("b", "B", 1), ("a", "A", 3), ("c", "C", 1)])] == [
        ("a", 0.6),
        ("b", 0.2),
        ("c", 0.2),
    ]
    assert shares([("a", "A", 0)])[0].share is None
    assert change(6, 4) == 0.5 and change(3, 0) is None
