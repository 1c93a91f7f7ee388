"""Risk flags of a ticket: the threats the seeds escalate (media, regulator, lawsuit, violence)."""

from __future__ import annotations

from typing import Iterable, List, Optional

# Stored as a comma list in tickets.risk_flags, in this order.
RISK_FLAG_LABELS = {
    "media": "媒体曝光",
    "regulator": "监管投诉",
    "lawsuit": "诉讼",
    "violence": "人身安全",
}
# A flagged ticket goes before every other (tickets.priority).
RISK_PRIORITY = 100


def flags_of(stored: Optional[str]) -> List[str]:
    """The flags of a tickets.risk_flags value, known ones only, in canonical order."""
    present = {part.strip() for part in (stored or "").split(",")}
    return [flag for flag in RISK_FLAG_LABELS if flag in present]


def stored_flags(flags: Iterable[str]) -> Optional[str]:
    """The tickets.risk_flags value for these flags (None when there are none)."""
    wanted = set(flags)
    unknown = wanted - set(RISK_FLAG_LABELS)
    if unknown:
        raise ValueError(f"unknown risk flags {sorted(unknown)}")
    return ",".join(flag for flag in RISK_FLAG_LABELS if flag in wanted) or None
