"""The conversation page's sub-reason select in a real browser: it lists the chosen category's sub-reasons from
the taxonomy file, follows a change of category, keeps a retired code as itself, and saves a code.

Real parts only: the desk process, one SQLite database, Debian's Chromium (Rasa is not needed here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, List

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update

from bot.models import Ticket
from tests.bot.desk.client import PASSWORD
from tests.bot.desk.server import DeskServer, start_desk, stop_desk
from tests.e2e.browser import DESKTOP, save_screenshot


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DeskServer]:
    server = start_desk(tmp_path, {})
    yield server
    stop_desk(server)


def _options(page, selector: str) -> List[str]:
    return page.eval_on_selector_all(f"{selector} option", "nodes => nodes.map(node => node.textContent)")


def test_an_agent_chooses_the_sub_reason_from_the_category_s_list(chromium: Browser, desk: DeskServer) -> None:
    request_id = desk.handoff("conv-sub-reason-e2e", slots={"phone_number": "13812345678"})
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    ticket = li.post(
        f"/api/handoffs/{request_id}/ticket",
        json={
            "category": "claims",
            "complainant_name": "张三",
            "description": "理赔一个月没有结果",
            "customer_request": "尽快赔付",
        },
    ).json()
    with desk.db.transaction() as session:  # classified before the taxonomy file dropped this code
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket["ticket_no"]).values(sub_reason="old_code"))

    page = chromium.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    problems: List[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{desk.url}/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{desk.url}/conversations/{request_id}")
    form = "#ticket-edit"
    expect(page.locator(f"{form} select[name=sub_reason]")).to_have_value("old_code")
    claims = _options(page, f"{form} select[name=sub_reason]")
    assert claims[0] == "未细分" and "理赔时效" in claims and claims[-1] == "old_code（已停用）"

    page.select_option(f"{form} select[name=category]", "sales")
    sales = _options(page, f"{form} select[name=sub_reason]")
    assert "夸大收益或承诺收益" in sales and "理赔时效" not in sales and "old_code（已停用）" not in sales
    page.select_option(f"{form} select[name=sub_reason]", "misleading_returns")
    save_screenshot(page, "desk-sub-reason-select")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#notice >> text=已保存")
    with desk.db.transaction() as session:
        stored = session.execute(
            select(Ticket.category, Ticket.sub_reason).where(Ticket.ticket_no == ticket["ticket_no"])
        ).one()
    assert tuple(stored) == ("sales", "misleading_returns")
    assert problems == []
