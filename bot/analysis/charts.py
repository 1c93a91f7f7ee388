"""Charts of the printable report drawn as plain SVG images, so the report needs no script to show them."""

from __future__ import annotations

import base64
from html import escape
from typing import List, Sequence, Tuple

BAR = "#5470c6"  # ECharts' first series colour: the printed charts look like the page's
WIDTH = 640
ROW = 26
LABEL_WIDTH = 200
MAX_BARS = 30


def bars(rows: Sequence[Tuple[str, int]], unit: str = "件") -> str:
    """A horizontal bar chart of (label, count) rows, in the given order; at most MAX_BARS."""
    shown = list(rows)[:MAX_BARS]
    largest = max((count for _, count in shown), default=0) or 1
    span = WIDTH - LABEL_WIDTH - 80
    height = ROW * max(len(shown), 1) + 10
    parts: List[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Noto Sans CJK SC, sans-serif" font-size="13">'
    ]
    if not shown:
        parts.append('<text x="10" y="22" fill="#666">本期无数据</text>')
    for index, (label, count) in enumerate(shown):
        y = 5 + index * ROW
        length = round(span * count / largest)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end">{escape(label[:24])}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length}" height="{ROW - 8}" fill="{BAR}"/>'
            f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 17}">{count}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def data_uri(svg: str) -> str:
    """The SVG as an image address the HTML carries inside itself."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
