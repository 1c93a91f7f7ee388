"""Pure functions over what a benchmark run recorded: latency statistics,
throughput, ticket reconciliation and the checks against the targets.

Nothing here measures or talks to a server, so tests/bench/ checks it on
synthetic data.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile (0–100), linear between closest ranks (numpy's default)."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0–100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Turn:
    """One message sent and its answer (or failure)."""

    started: float  # monotonic seconds
    latency: float  # seconds until the whole answer arrived (or the failure)
    ok: bool  # HTTP 200 with a JSON list
    error: Optional[str] = None  # transport/HTTP failure, e.g. "timeout", "http 502"
    script: str = ""  # which scripted conversation sent it


@dataclass(frozen=True)
class LatencySummary:
    turns: int
    errors: int
    p50_ms: Optional[float]
    p95_ms: Optional[float]
    p99_ms: Optional[float]
    max_ms: Optional[float]
    throughput: float  # successful turns per second of wall time

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


def summarize(turns: Iterable[Turn], wall_seconds: float) -> LatencySummary:
    """Latency percentiles of the successful turns; throughput over `wall_seconds`."""
    turns = list(turns)
    good = [t.latency * 1000 for t in turns if t.ok]
    errors = sum(1 for t in turns if not t.ok)

    def rounded(value: Optional[float]) -> Optional[float]:
        return None if value is None else round(value, 1)

    return LatencySummary(
        turns=len(turns),
        errors=errors,
        p50_ms=rounded(percentile(good, 50)),
        p95_ms=rounded(percentile(good, 95)),
        p99_ms=rounded(percentile(good, 99)),
        max_ms=rounded(max(good)) if good else None,
        throughput=round(len(good) / wall_seconds, 2) if wall_seconds > 0 else 0.0,
    )


# -- tickets ------------------------------------------------------------------


@dataclass(frozen=True)
class TicketClaim:
    """What one simulated conversation knows about the ticket it asked for."""

    sender: str
    step_sent: bool  # the message that files the ticket ("确认", the name of a 留言) was sent
    step_answered: bool  # ... and answered with HTTP 200
    ticket_no: Optional[str] = None  # the number the bot quoted in that answer


@dataclass
class Reconciliation:
    expected: int  # answered ticket steps that quoted a number
    written: int  # tickets in the database for this run's conversations
    missing: List[str] = field(default_factory=list)  # quoted, but not in the database
    duplicates: List[str] = field(default_factory=list)  # conversations with more than one ticket
    mismatched: List[str] = field(default_factory=list)  # database number differs from the quoted one
    unexpected: List[str] = field(default_factory=list)  # a ticket nobody asked for
    unanswered: List[str] = field(default_factory=list)  # step sent, answer lost: may or may not exist
    unquoted: List[str] = field(default_factory=list)  # answered without a number (e.g. spooled)

    # Tickets written for steps whose answer was lost: neither lost nor duplicated.
    unanswered_written: int = 0

    @property
    def ok(self) -> bool:
        return (
            not (self.missing or self.duplicates or self.mismatched or self.unexpected or self.unquoted)
            and self.expected + self.unanswered_written == self.written
        )

    def as_dict(self) -> Dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def reconcile(claims: Iterable[TicketClaim], written: Iterable[Tuple[str, str]]) -> Reconciliation:
    """Checks the tickets in the database (conversation id, ticket number) against
    what the conversations were told: one ticket per answered step, with the
    quoted number, none elsewhere, none twice."""
    claims = list(claims)
    rows = list(written)
    by_sender: Dict[str, List[str]] = {}
    for sender, ticket_no in rows:
        by_sender.setdefault(sender, []).append(ticket_no)
    number_counts = Counter(ticket_no for _, ticket_no in rows)

    result = Reconciliation(expected=0, written=len(rows))
    claimed = {claim.sender: claim for claim in claims}
    for claim in claims:
        found = by_sender.get(claim.sender, [])
        if len(found) > 1:
            result.duplicates.append(claim.sender)
        if not claim.step_sent:
            if found:
                result.unexpected.append(claim.sender)
            continue
        if not claim.step_answered:
            result.unanswered.append(claim.sender)
            result.unanswered_written += min(len(found), 1)
            continue
        if claim.ticket_no is None:
            result.unquoted.append(claim.sender)
            continue
        result.expected += 1
        if not found:
            result.missing.append(claim.sender)
        elif claim.ticket_no not in found:
            result.mismatched.append(claim.sender)
    for sender, numbers in by_sender.items():
        if sender not in claimed:
            result.unexpected.append(sender)
            if len(numbers) > 1:
                result.duplicates.append(sender)
    # The same number on two conversations would be a numbering bug.
    result.duplicates.extend(sorted(f"ticket {number}" for number, count in number_counts.items() if count > 1))
    return result


# -- levels and targets -------------------------------------------------------


def saturation(levels: Mapping[int, LatencySummary]) -> Optional[Tuple[int, float]]:
    """(concurrency, turns/s) of the level with the highest error-free throughput."""
    clean = [(n, s.throughput) for n, s in levels.items() if s.errors == 0 and s.turns > 0]
    if not clean:
        return None
    return max(clean, key=lambda item: item[1])


def capacity(levels: Mapping[int, LatencySummary], p95_limit_ms: float = 500.0) -> Optional[int]:
    """The largest concurrency at which p95 stays within the limit without errors,
    provided every lower level did too (a dip does not count as capacity)."""
    held = None
    for n in sorted(levels):
        summary = levels[n]
        if summary.errors or summary.p95_ms is None or summary.p95_ms > p95_limit_ms:
            break
        held = n
    return held


def growth(turns: Sequence[Turn], window: int = 10) -> Optional[Tuple[float, float]]:
    """p50 latency (ms) of the first and of the last `window` turns of one
    conversation, or None when it has fewer than two windows of good turns."""
    good = [t.latency * 1000 for t in turns if t.ok]
    if window < 1 or len(good) < 2 * window:
        return None
    first, last = percentile(good[:window], 50), percentile(good[-window:], 50)
    assert first is not None and last is not None
    return round(first, 1), round(last, 1)


def ratio(value: Optional[float], baseline: Optional[float]) -> Optional[float]:
    if value is None or not baseline:
        return None
    return round(value / baseline, 2)


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: Optional[bool]  # None: not measured in this run


def verdict(met: Optional[bool]) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]
