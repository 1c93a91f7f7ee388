"""The XLSX workbook, opened back with openpyxl: one sheet per section, numbers as numbers."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook

from bot.analysis.periods import Period
from bot.analysis.report import Analysis
from bot.analysis.scope import Scope
from bot.analysis.workbook import workbook
from bot.db import Database
from tests.bot.analysis.dataset import PHONE_A, january_2026
from tests.databases import make_settings


def test_the_workbook_holds_every_section_with_numbers_as_numbers(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        january_2026(session)
    settings = make_settings(tmp_path, DATABASE_URL=sqlite_db.url)
    report = Analysis(sqlite_db, settings).report(Scope(Period.month(2026, 1)), as_of=date(2026, 2, 10))
    book = load_workbook(BytesIO(workbook(report)))

    assert book.sheetnames == [
        "概况", "渠道", "月度趋势", "类型及原因", "可控性", "地区", "处理时效", "满意度", "优先改进", "重复投诉",
        "典型案例", "恶意投诉", "智能助手",
    ]  # fmt: skip
    overview = {row[0]: row[1] for row in book["概况"].iter_rows(values_only=True)}
    assert overview["统计区间"] == "2026年1月" and overview["投诉总量"] == 6 and overview["已结案"] == 4
    assert overview["同比变化"] == 0.5 and book["概况"]["B7"].number_format == "0.0%"
    assert (overview["结案天数中位数"], overview["结案天数P90"]) == (4, 41)

    reasons = list(book["类型及原因"].iter_rows(min_row=2, values_only=True))
    assert reasons[0] == ("理赔纠纷", "合计", 3, 0.5)
    assert reasons[1][:3] == ("理赔纠纷", "理赔结果（拒赔、赔付金额）", 2)
    assert list(book["月度趋势"].iter_rows(min_row=2, values_only=True)) == [("2026-01", 6)]
    controllable = list(book["可控性"].iter_rows(min_row=2, values_only=True))[0]
    assert controllable[:5] == ("理赔纠纷", 1, 2, 0, 1 / 3)
    priorities = list(book["优先改进"].iter_rows(min_row=2, values_only=True))
    assert priorities[0][:4] == ("优先改进", "理赔纠纷", "理赔结果（拒赔、赔付金额）", 2)
    repeats = list(book["重复投诉"].iter_rows(min_row=2, values_only=True))
    assert repeats[0] == ("*******" + PHONE_A[-4:], 3) and PHONE_A not in str(repeats)  # masked
