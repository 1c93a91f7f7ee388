"""The analysis page in a real browser: a supervisor opens /analysis on demo data, sees the charts drawn by
ECharts under the desk's Content-Security-Policy, opens a chart's table and narrows the report by a filter.

Real parts only: the desk process, one SQLite database filled by the demo generator, Debian's Chromium.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Iterator, List

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from bot.agents import AgentService, Role
from bot.analysis.printable import SECTIONS
from bot.demo import DemoSeeder
from tests.bot.analysis.pdf_reading import pdf_text
from tests.bot.desk.client import PASSWORD
from tests.bot.desk.server import DeskServer, start_desk, stop_desk
from tests.e2e.browser import DESKTOP, save_screenshot

CHARTS = ("months", "channels", "categories", "controllability", "regions", "handling", "satisfaction", "priorities")


@pytest.fixture
def seeded_desk(tmp_path: Path) -> Iterator[DeskServer]:
    server = start_desk(tmp_path, {})
    DemoSeeder(server.db, server.settings, seed=11, now=datetime.now(timezone.utc)).seed(
        1500, 10
    )  # ten months: all inside the default last twelve whole months
    AgentService(server.db).add("boss", "赵主管", PASSWORD, Role.SUPERVISOR)
    yield server
    stop_desk(server)


def _console(message: ConsoleMessage, problems: List[str]) -> None:
    # The browser's own favicon request is the one expected 404 (the desk has no icon).
    where = str(message.location.get("url", ""))
    if message.type == "error" and not where.endswith("/favicon.ico"):
        problems.append(f"{message.text} ({where})")


def _log_in(browser: Browser, desk: DeskServer, problems: List[str]) -> Page:
    page = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True).new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda message: _console(message, problems))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{desk.url}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{desk.url}/")
    return page


def test_a_supervisor_reads_the_year_s_analysis_and_narrows_it(chromium: Browser, seeded_desk: DeskServer) -> None:
    problems: List[str] = []
    page = _log_in(chromium, seeded_desk, problems)
    page.click("a[href='/analysis']")
    page.wait_for_url(f"{seeded_desk.url}/analysis")
    expect(page.locator("h2")).to_contain_text("投诉分析")
    for name in CHARTS:
        expect(page.locator(f"#chart-{name} canvas").first).to_be_visible()
    total = int(page.locator("#total-count").inner_text())
    assert total == 1500
    save_screenshot(page, "analysis-year", full_page=True)

    page.locator("#chart-categories + details summary").click()
    expect(page.locator("#chart-categories + details table")).to_contain_text("理赔纠纷")

    page.select_option("select[name=category]", "claims")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**/analysis?*category=claims*")
    narrowed = int(page.locator("#total-count").inner_text())
    assert 0 < narrowed < total
    expect(page.locator("#chart-months canvas").first).to_be_visible()
    save_screenshot(page, "analysis-claims")

    with page.expect_download() as download:
        page.click("#download-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    overview = load_workbook(BytesIO(download.value.path().read_bytes()))["概况"]
    assert {row[0]: row[1] for row in overview.iter_rows(values_only=True)}["投诉总量"] == narrowed

    # The printable report of what is shown, as PDF (the desk prints it with the same Debian Chromium).
    with page.expect_download(timeout=90_000) as download:
        page.click("#download-report-pdf")
    assert download.value.suggested_filename.endswith(".pdf")
    text = pdf_text(download.value.path().read_bytes())
    assert all(title in text for title in SECTIONS) and "筛选:类别:理赔纠纷" in text and "演示" in text

    # The unmasked CSV is a form: a reason, the session's CSRF token, what is shown; the browser downloads it.
    page.fill("#unmasked-export input[name=reason]", "配合监管检查")
    with page.expect_download() as download:
        page.click("#download-csv-unmasked")
    assert (
        download.value.suggested_filename.endswith(".csv") and "tickets-unmasked" in download.value.suggested_filename
    )
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    phones = [row[rows[0].index("手机号")] for row in rows[1:]]
    assert len(phones) == narrowed and all(len(phone) == 11 and phone.isdigit() for phone in phones)
    assert problems == []  # no script error, no Content-Security-Policy refusal
