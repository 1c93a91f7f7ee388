"""Filling a fixed-format template (WeChat template message, SMS) from a notice's fields.

A mapping is configured as ``template_key=notice_field`` pairs separated by commas, e.g.
``keyword1=ticket_no,keyword2=kind_label``; the notice field ``text`` stands for the whole notice text.
"""

from __future__ import annotations

import re
from typing import Dict, Mapping

from bot.notice_routes.route import OutgoingNotice

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
WHOLE_TEXT = "text"
# A placeholder for a field the notice lacks: the template would otherwise be refused or show a gap.
MISSING = "-"
_MAX_PAIRS = 20


def parse_field_mapping(spec: str) -> Dict[str, str]:
    """``"keyword1=ticket_no,keyword2=kind_label"`` → ``{"keyword1": "ticket_no", …}``; ValueError if malformed."""
    mapping: Dict[str, str] = {}
    for pair in (piece.strip() for piece in spec.split(",")):
        if not pair:
            continue
        key, sep, field = (part.strip() for part in pair.partition("="))
        if not sep or not _KEY.fullmatch(key) or not _KEY.fullmatch(field):
            raise ValueError(f"not a template_key=notice_field pair: {pair!r}")
        if key in mapping:
            raise ValueError(f"template key {key!r} is mapped twice")
        mapping[key] = field
    if not mapping:
        raise ValueError("the mapping is empty")
    if len(mapping) > _MAX_PAIRS:
        raise ValueError(f"at most {_MAX_PAIRS} template keys")
    return mapping


def shorten(value: str, max_chars: int) -> str:
    """One line of at most ``max_chars`` characters, ending in … when cut."""
    line = " ".join(value.split())
    if len(line) <= max_chars:
        return line
    return line[: max(0, max_chars - 1)] + "…"


def fill(mapping: Mapping[str, str], notice: OutgoingNotice, max_chars: int) -> Dict[str, str]:
    """The template's values: each key gets its notice field, shortened; a missing field gets a dash."""
    values: Dict[str, str] = {}
    for key, field in mapping.items():
        raw = notice.text if field == WHOLE_TEXT else notice.fields.get(field)
        value = shorten(str(raw), max_chars) if raw is not None else ""
        values[key] = value or MISSING
    return values
