"""Corrections typed at the read-back: "诉求改一下：…", "电话写错了，应该是139…", "姓名改成李建国"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from bot import given_fields

# What introduces the new value, after the field's name.
_MARKERS = re.compile(r"改成|改为|换成|换为|更正为|更改为|修改为|应该是|应当是|应是|应为|其实是|是|[:：]")
_EDGES = " \t\n，,。.;；:：、!！?？~～"


@dataclass(frozen=True)
class Correction:
    field: str
    value: Optional[str]  # None: the field was named, its new value not given


def _named_field(text: str, field_words: Mapping[str, Sequence[str]]) -> Optional[tuple[str, int]]:
    """The field whose name comes first in `text`, and where its name ends."""
    best: Optional[tuple[str, int, int]] = None
    for field, words in field_words.items():
        for word in words:
            at = text.find(word)
            if at >= 0 and (best is None or at < best[1]):
                best = (field, at, at + len(word))
    return (best[0], best[2]) if best else None


def parse(text: str, field_words: Mapping[str, Sequence[str]], policy_pattern: str) -> Optional[Correction]:
    """The correction `text` asks for, or None when it names no field and gives no recognisable value."""
    plain = text or ""  # free text is kept as typed; the number finders normalise for themselves
    named = _named_field(plain, field_words)
    if named is None:
        # "改成13912345678": a value whose form tells its field.
        if not _MARKERS.search(plain):
            return None
        for field in ("phone_number", "policy_number"):
            value = given_fields.volunteered(plain, policy_pattern).get(field)
            if value:
                return Correction(field, value)
        return None
    field, end = named
    marker = _MARKERS.search(plain, end)
    typed = plain[marker.end() :].strip(_EDGES) if marker else ""
    if field in ("phone_number", "policy_number"):
        # The number wherever it stands; else what follows "改成", for its validator to explain.
        return Correction(field, given_fields.volunteered(plain[end:], policy_pattern).get(field) or typed or None)
    return Correction(field, typed or None)
