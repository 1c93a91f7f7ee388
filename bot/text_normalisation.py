"""What a policyholder typed, normalised for NLU, with a map back to the characters they typed.

Full-width digits and letters (NFKC), traditional characters (OpenCC t2s), stray
whitespace and repeated punctuation become what the training data is written in.
Every normalised character remembers the original characters it came from, so an
entity found in the normalised text points at the user's own characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Tuple

import opencc

# Invisible characters that only get in the way (zero-width space, BOM, direction marks).
# The zero-width joiner stays: it is part of emoji sequences.
_INVISIBLE = {"\u200b", "\u200c", "\u200e", "\u200f", "\u2060", "\ufeff"}


@dataclass(frozen=True)
class Piece:
    """One normalised character and the original span [start, end) it came from."""

    char: str
    start: int
    end: int


@dataclass(frozen=True)
class NormalisedText:
    """The normalised text and, per normalised character, the original span it came from."""

    original: str
    text: str
    starts: Tuple[int, ...]
    ends: Tuple[int, ...]

    def original_span(self, start: int, end: int) -> Tuple[int, int]:
        """The original span of the normalised span [start, end)."""
        start = max(0, min(start, len(self.text)))
        end = max(start, min(end, len(self.text)))
        if start == end:
            position = self.starts[start] if start < len(self.text) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]

    def normalised_span(self, start: int, end: int) -> Optional[Tuple[int, int]]:
        """The normalised span of the original span [start, end), or None when all of it was dropped."""
        inside = [i for i in range(len(self.text)) if self.starts[i] >= start and self.ends[i] <= end]
        if not inside:
            return None
        return inside[0], inside[-1] + 1


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x3000 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF


def _is_surrogate(char: str) -> bool:
    return 0xD800 <= ord(char) <= 0xDFFF


def _half_width(text: str) -> List[Piece]:
    # NFKC character by character, so each output character knows its source.
    pieces: List[Piece] = []
    for index, char in enumerate(text):
        if char in _INVISIBLE:
            continue
        folded = char if _is_surrogate(char) else unicodedata.normalize("NFKC", char)
        pieces.extend(Piece(out, index, index + 1) for out in folded)
    return pieces


def _simplified(pieces: List[Piece]) -> List[Piece]:
    # OpenCC converts phrase by phrase; t2s keeps the length, and where it does not
    # (or a lone surrogate, which OpenCC cannot encode, splits the text) the
    # characters are converted one at a time so that the map stays exact.
    result: List[Piece] = []
    run: List[Piece] = []

    def flush() -> None:
        if not run:
            return
        converted = _converter().convert("".join(piece.char for piece in run))
        if len(converted) == len(run):
            result.extend(Piece(char, piece.start, piece.end) for char, piece in zip(converted, run))
        else:
            for piece in run:
                result.extend(Piece(char, piece.start, piece.end) for char in _converter().convert(piece.char))
        run.clear()

    for piece in pieces:
        if _is_surrogate(piece.char):
            flush()
            result.append(piece)
        else:
            run.append(piece)
    flush()
    return result


def _tidied(pieces: List[Piece]) -> List[Piece]:
    # Whitespace runs: dropped at the ends and between Chinese characters (voice
    # input "我 要 投诉"), otherwise one space ("138 1234 5678" keeps its groups).
    # A run of the same punctuation mark ("！！！", "？？？") becomes one.
    result: List[Piece] = []
    index = 0
    while index < len(pieces):
        piece = pieces[index]
        if piece.char.isspace():
            end = index
            while end < len(pieces) and pieces[end].char.isspace():
                end += 1
            before = result[-1].char if result else None
            after = pieces[end].char if end < len(pieces) else None
            if before is not None and after is not None and not (_is_cjk(before) and _is_cjk(after)):
                result.append(Piece(" ", piece.start, pieces[end - 1].end))
            index = end
            continue
        if result and piece.char == result[-1].char and unicodedata.category(piece.char).startswith("P"):
            last = result[-1]
            result[-1] = Piece(last.char, last.start, piece.end)
        else:
            result.append(piece)
        index += 1
    return result


def normalise(text: str) -> NormalisedText:
    """`text` in half-width, simplified characters with tidy whitespace and punctuation, and the map back."""
    pieces = _tidied(_simplified(_half_width(text)))
    return NormalisedText(
        original=text,
        text="".join(piece.char for piece in pieces),
        starts=tuple(piece.start for piece in pieces),
        ends=tuple(piece.end for piece in pieces),
    )
