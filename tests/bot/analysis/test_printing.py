"""The report printed to PDF by the real Debian Chromium, read back with pypdf."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.analysis.periods import Period
from bot.analysis.printable import SECTIONS, printable_html
from bot.analysis.printing import PrintUnavailable, print_pdf
from bot.analysis.report import Analysis
from bot.analysis.scope import Scope
from bot.db import Database
from tests.bot.analysis.dataset import january_2026
from tests.bot.analysis.pdf_reading import pdf_text
from tests.databases import make_settings
from tests.e2e.browser import chromium_path


@pytest.mark.skipif(not chromium_path().is_file(), reason="Debian Chromium not installed (scripts/install-chromium)")
def test_the_pdf_holds_the_report_s_sections(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        january_2026(session)
    report = Analysis(db, make_settings(tmp_path, DATABASE_URL=db.url)).report(Scope(Period.month(2026, 1)))
    content = print_pdf(printable_html(report, datetime(2026, 2, 3, 9, 30)), chromium_path())
    assert content.startswith(b"%PDF") and len(PdfReader(BytesIO(content)).pages) >= 2
    text = pdf_text(content)
    for title in ("投诉情况分析报告", *SECTIONS, "业管可控与不可控", "理赔纠纷"):
        assert title in text, title


def test_without_chromium_the_pdf_is_refused_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(PrintUnavailable, match="服务器未安装 Chromium"):
        print_pdf("<p>x</p>", tmp_path / "no-chromium")
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(PrintUnavailable, match="生成 PDF 失败"):
        print_pdf("<p>x</p>", broken)
