"""The printable report: seed 003's sections, charts as images inside the page, user content escaped."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path

from bot.analysis.periods import Period
from bot.analysis.printable import SECTIONS, printable_html
from bot.analysis.report import Analysis
from bot.analysis.scope import Scope
from bot.case_review import CaseReview
from bot.db import Database
from bot.models import Ticket
from tests.bot.analysis.dataset import january_2026
from tests.databases import make_settings


def _page(db: Database, tmp_path: Path) -> str:
    with db.transaction() as session:
        january_2026(session)
        closed = session.query(Ticket.ticket_no).filter(Ticket.status == "closed").order_by(Ticket.id).first()
    assert closed is not None
    CaseReview(db).mark_typical(closed[0], "<script>alert(1)</script>材料齐全仍拖延", "审核积压", "设置提醒", "boss")
    analysis = Analysis(db, make_settings(tmp_path, DATABASE_URL=db.url))
    report = analysis.report(Scope(Period.month(2026, 1)))
    return printable_html(report, datetime(2026, 2, 3, 9, 30))


def test_the_report_has_seed_003_s_sections_in_order_and_the_typical_case(db: Database, tmp_path: Path) -> None:
    page = _page(db, tmp_path)
    positions = [page.index(f"<h2>{title}</h2>") for title in SECTIONS]
    assert positions == sorted(positions)
    assert "投诉情况分析报告" in page and "2026年1月" in page and "生成时间：2026-02-03 09:30" in page
    assert "案件情况：</strong>&lt;script&gt;alert(1)&lt;/script&gt;材料齐全仍拖延" in page
    assert "<script" not in page  # nothing runs: the page prints as it is


def test_charts_are_svg_images_inside_the_page_and_nothing_is_fetched(db: Database, tmp_path: Path) -> None:
    page = _page(db, tmp_path)
    images = re.findall(r'<img class="chart" alt="([^"]+)" src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert [alt for alt, _ in images] == ["月度趋势", "投诉渠道", "地区分布", "投诉类型分布", "各原因投诉量"]
    months = base64.b64decode(images[0][1]).decode("utf-8")
    assert months.startswith("<svg") and ">2026-01<" in months and ">6件<" in months
    assert not re.search(r'(src|href)="(https?:)?//', page)
