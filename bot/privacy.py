"""Masking of phone and ID numbers for displays and logs."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any, Callable, List, Optional, Tuple

# Free text is matched on a normalised copy (see `_normalised`): every digit
# form the validators accept (full-width, circled, Arabic-Indic, mathematical…)
# becomes an ASCII digit, every separator a space (spaces, hyphens and dashes,
# parentheses, dots, full-width ones too), x a capital X. Masks are then cut out
# of the original text at the same positions.
_SEP = "[ ]*"
_PHONE_IN_TEXT = re.compile(
    r"(?<![0-9])"
    # +86, 0086, +0086, 86 and a national 0, as phonenumbers accepts them.
    rf"(?:(?:\+{_SEP})?(?:0{_SEP}0{_SEP})?8{_SEP}6{_SEP})?(?:0{_SEP})?"
    rf"(1{_SEP}[3-9](?:{_SEP}[0-9]){{9}})(?![0-9])"
)
_ID_IN_TEXT = re.compile(rf"(?<![0-9A-Za-z])([0-9](?:{_SEP}[0-9]){{16}}{_SEP}[0-9X])(?![0-9A-Za-z])")


def _is_separator(char: str) -> bool:
    return char.isspace() or char in "-()." or unicodedata.category(char) == "Pd"


@lru_cache(maxsize=8192)
def _normalised_char(char: str) -> str:
    """ASCII digits for a digit (⑽ gives "10"), " " for a separator, "X" for x, else one character."""
    kept = "".join(c for c in unicodedata.normalize("NFKC", char) if not _is_separator(c))
    if not kept:
        return " "
    if all(unicodedata.decimal(c, None) is not None for c in kept):
        return "".join(str(unicodedata.decimal(c)) for c in kept)
    if unicodedata.decimal(char, None) is not None:
        return str(unicodedata.decimal(char))
    if kept in ("x", "X"):
        return "X"
    return kept if len(kept) == 1 and kept.isascii() else char


_ASCII = str.maketrans({chr(code): _normalised_char(chr(code)) for code in range(128)})


def _normalised(text: str) -> Tuple[str, Optional[List[int]]]:
    """The normalised copy and, unless it is aligned with `text`, each of its characters' origin."""
    if text.isascii():
        return text.translate(_ASCII), None
    pieces = [_normalised_char(char) for char in text]
    if all(len(piece) == 1 for piece in pieces):
        return "".join(pieces), None
    origins = [index for index, piece in enumerate(pieces) for _ in piece]
    return "".join(pieces), origins


def _mask_matches(text: str, pattern: "re.Pattern[str]", render: Callable[[str], str]) -> str:
    normalised, origins = _normalised(text)
    pieces, last = [], 0
    for match in pattern.finditer(normalised):
        start, end = match.span()
        if origins is not None:
            start, end = origins[start], origins[end - 1] + 1
        if start < last:  # two matches inside one character such as ⑽
            continue
        if start > last and text[start - 1] in "(（" and any(c in text[start:end] for c in ")）"):
            start -= 1  # "(+86)138…": the opening parenthesis goes with its prefix
        pieces.append(text[last:start])
        pieces.append(render(match.group(1).replace(" ", "")))
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    """First 6 and last 4 characters, as domain-facts §4.1 recommends."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_text(text: str) -> str:
    """Masks every ID and mobile number in free text, in any form the validators accept."""
    if len(text) < 11 or text.isascii() and sum(map(text.count, "0123456789")) < 11:
        return text
    text = _mask_matches(text, _ID_IN_TEXT, mask_id_number)
    return _mask_matches(text, _PHONE_IN_TEXT, mask_phone)


def install_log_masking() -> None:
    """Masks PII in every log record of this process, whatever logger emits it.

    A record factory (rather than a handler filter) also covers loggers and
    handlers that third-party code, such as Rasa, configures later.
    """
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "_masks_pii", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # malformed log call: leave it to logging's own error path
            return record
        record.msg, record.args = mask_text(message), None
        return record

    factory._masks_pii = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
