"""Reading a printed PDF's text back (pypdf), as a person copying it would get it."""

from __future__ import annotations

import unicodedata
from io import BytesIO

from pypdf import PdfReader


def pdf_text(content: bytes) -> str:
    """All pages' text; NFKC because Chromium's CJK fonts map some characters to their radical forms (⼀ → 一)."""
    return unicodedata.normalize("NFKC", "".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages))
