"""A supervisor marks a closed ticket as a typical case and a complaint as malicious on the ticket page, in a
real browser; the analysis lists the case. Real parts only: the desk process, SQLite, Debian's Chromium."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, expect

from bot.agents import AgentService, Role
from tests.bot.desk.client import PASSWORD
from tests.bot.desk.server import DeskServer, start_desk, stop_desk
from tests.bot.sample_tickets import submit
from tests.e2e.browser import DESKTOP, save_screenshot


@pytest.fixture
def desk_only(tmp_path: Path) -> Iterator[DeskServer]:
    server = start_desk(tmp_path, {})
    AgentService(server.db).add("boss", "赵主管", PASSWORD, Role.SUPERVISOR)
    yield server
    stop_desk(server)


def test_a_supervisor_marks_a_typical_case_and_a_malicious_complaint(chromium: Browser, desk_only) -> None:
    received = datetime.now(timezone.utc) - timedelta(days=3)
    number = submit(desk_only.db, desk_only.settings, received, {"status": "closed", "closed_at": received})
    problems: List[str] = []
    page = chromium.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    page.set_default_timeout(20_000)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{desk_only.url}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{desk_only.url}/")

    page.goto(f"{desk_only.url}/tickets/{number}")
    form = page.locator("#typical-case")
    expect(form).to_be_visible()
    form.locator("textarea[name=situation]").fill("客户理赔材料齐全后仍被拖延二十日")
    form.locator("textarea[name=analysis]").fill("审核岗积压，无超时提醒")
    form.locator("textarea[name=lessons]").fill("审核环节设置超时提醒")
    form.locator("button[type=submit]").click()
    expect(page.locator("#typical-info")).to_contain_text("已标记为典型案例")
    expect(form.locator("textarea[name=lessons]")).to_have_value("审核环节设置超时提醒")  # kept as saved
    page.fill("#malicious input[name=reason]", "同一事项已多次答复，仍反复索要额外赔偿")
    page.click("#malicious button[type=submit]")
    expect(page.locator("#malicious-info")).to_contain_text("已标记为恶意投诉")
    expect(page.locator("#audit")).to_contain_text("恶意投诉标记")
    save_screenshot(page, "ticket-typical-case", full_page=True)

    page.goto(f"{desk_only.url}/analysis")
    expect(page.locator("#typical-cases")).to_contain_text("客户理赔材料齐全后仍被拖延二十日")
    expect(page.locator("#malicious-marks")).to_contain_text("主管标记为恶意投诉 1 件")
    assert problems == []
