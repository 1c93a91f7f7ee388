"""The ticket workspace API against a real desk process: roles, filters, hiding, CSRF, escaping, the change feed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Dict

import pytest

from bot import materials
from bot.agents import Role
from tests.bot.desk.client import DeskClient
from tests.bot.desk.server import DeskServer
from tests.bot.sample_tickets import submit

HIDDEN = {"error": "工单不存在或您无权查看"}
XSS = '<img src=x onerror="document.title=1">'


@pytest.fixture
def desk(ticket_desk: DeskServer) -> DeskServer:
    """The workspace on SQLite and PostgreSQL."""
    return ticket_desk


def days_ago(days: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


@pytest.fixture
def tickets(desk: DeskServer) -> Dict[str, str]:
    """li's overdue ticket, an unassigned flagged one due soon, wang's on-time one."""
    return {
        "li": submit(desk.db, desk.settings, days_ago(20), {"assignee": "li"}, complainant_name="李四"),
        "pool": submit(
            desk.db,
            desk.settings,
            days_ago(13),
            {"risk_flags": "media", "priority": 100},
            phone_number="13900001111",
            description=XSS,
        ),
        "wang": submit(desk.db, desk.settings, days_ago(1), {"assignee": "wang"}, category="sales"),
    }


def numbers(response) -> set:
    assert response.status_code == 200, response.text
    return {row["ticket_no"] for row in response.json()["tickets"]}


def test_without_login_the_workspace_is_refused(desk, tickets):
    anonymous = DeskClient(desk.url)
    for path in ("/api/tickets", f"/api/tickets/{tickets['li']}", "/api/ticket-changes", "/api/canned-replies"):
        response = anonymous.get(path)
        assert response.status_code == 401 and response.json() == {"error": "请先登录"}, path
    assert anonymous.post(f"/api/tickets/{tickets['pool']}/claim", csrf=False).status_code == 401
    for page in ("/tickets", f"/tickets/{tickets['li']}", "/alerts"):
        assert anonymous.get(page).headers["Location"] == "/login"


def test_agents_see_their_own_and_the_pool_supervisors_everything(desk, tickets):
    li, wang = desk.agent("li"), desk.agent("wang")
    boss = desk.agent("boss", Role.SUPERVISOR)
    assert numbers(li.get("/api/tickets")) == {tickets["li"], tickets["pool"]}
    assert numbers(wang.get("/api/tickets")) == {tickets["wang"], tickets["pool"]}
    everything = boss.get("/api/tickets").json()
    assert {row["ticket_no"] for row in everything["tickets"]} == set(tickets.values())
    assert everything["total"] == 3 and everything["counts"]["status"]["accepted"] == 3
    assert everything["counts"]["deadline_state"] == {"on_time": 1, "due_soon": 1, "overdue": 1}
    # Another agent's ticket answers exactly like a missing one, on the API and the page.
    for path in (f"/api/tickets/{tickets['wang']}", "/api/tickets/TS20200101999999"):
        response = li.get(path)
        assert (response.status_code, response.json()) == (404, HIDDEN), path
    for page in (f"/tickets/{tickets['wang']}", "/tickets/TS20200101999999"):
        response = li.get(page)
        assert response.status_code == 404 and "工单不存在或您无权查看" in response.text
    assert li.get("/tickets/not-a-ticket").status_code == 404
    assert boss.get(f"/api/tickets/{tickets['wang']}").json()["assignee"] == "wang"


def test_the_list_filters_sorts_and_pages(desk, tickets):
    boss = desk.agent("boss", Role.SUPERVISOR)
    rows = boss.get("/api/tickets").json()["tickets"]
    # Default sort: the deadline, overdue first; each row carries its owner and deadline marking.
    assert [row["ticket_no"] for row in rows] == [tickets["li"], tickets["pool"], tickets["wang"]]
    overdue = rows[0]
    assert overdue["deadline_state"] == "overdue" and overdue["deadline_state_label"] == "已超期"
    assert overdue["days_left"] < 0 and overdue["assignee"] == "li"
    assert overdue["received_at"].endswith("+00:00") and overdue["phone_masked"] == "138****5678"
    assert rows[1]["risk_flags"] == ["media"] and rows[1]["risk_labels"] == ["媒体曝光"]
    assert numbers(boss.get("/api/tickets?deadline_state=overdue")) == {tickets["li"]}
    assert numbers(boss.get("/api/tickets?risk_flag=media")) == {tickets["pool"]}
    assert numbers(boss.get("/api/tickets?assignee=unassigned")) == {tickets["pool"]}
    assert numbers(boss.get("/api/tickets?category=sales")) == {tickets["wang"]}
    assert numbers(boss.get("/api/tickets?search=1111")) == {tickets["pool"]}
    assert numbers(boss.get("/api/tickets?search=13900001111")) == {tickets["pool"]}
    assert numbers(boss.get(f"/api/tickets?search={tickets['wang'].lower()}")) == {tickets["wang"]}
    assert numbers(boss.get("/api/tickets?search=李四")) == {tickets["li"]}
    by_priority = boss.get("/api/tickets?sort=priority").json()["tickets"]
    assert by_priority[0]["ticket_no"] == tickets["pool"]
    second = boss.get("/api/tickets?page=2&page_size=2").json()
    assert [row["ticket_no"] for row in second["tickets"]] == [tickets["wang"]] and second["total"] == 3
    # The agent's "mine" is its own tickets only.
    assert numbers(desk.agent("li").get("/api/tickets?assignee=mine")) == {tickets["li"]}


@pytest.mark.parametrize(
    "query, message",
    [
        ("status=lost", "未知的处理状态"),
        ("deadline_state=soonish", "未知的期限状态"),
        ("page=0", "页码不正确"),
        ("page_size=1000", "每页条数须在1至200之间"),
        ("page_size=1e3", "请输入数字"),
        ("received_from=2026-13-01", "日期格式应为 YYYY-MM-DD"),
        ("search=" + "x" * 65, "搜索内容过长，请控制在64字以内"),
        ("sort=random()", "未知的排序方式"),
    ],
)
def test_wrong_filters_are_refused_in_chinese(desk, query, message):
    response = desk.agent("li").get(f"/api/tickets?{query}")
    assert response.status_code == 400 and response.json() == {"error": message}


def test_policyholder_text_is_returned_as_data_never_put_in_the_page(desk, tickets):
    boss = desk.agent("boss", Role.SUPERVISOR)
    assert boss.get(f"/api/tickets/{tickets['pool']}").json()["description"] == XSS
    page = boss.get(f"/tickets/{tickets['pool']}")
    assert page.status_code == 200 and XSS not in page.text and "onerror" not in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]


def test_the_change_feed_follows_a_cursor_and_the_roles(desk, tickets):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    everything = boss.get("/api/ticket-changes").json()
    assert {change["ticket_no"] for change in everything["changes"]} == set(tickets.values())
    assert all(change["at"].endswith("+00:00") for change in everything["changes"])
    first = boss.get("/api/ticket-changes?limit=1").json()
    assert len(first["changes"]) == 1
    rest = boss.get(f"/api/ticket-changes?after={first['next_after']}").json()["changes"]
    assert [c["id"] for c in first["changes"] + rest] == [c["id"] for c in everything["changes"]]
    assert {change["ticket_no"] for change in li.get("/api/ticket-changes").json()["changes"]} == {
        tickets["li"],
        tickets["pool"],
    }
    assert li.get("/api/ticket-changes?limit=501").status_code == 400


def test_canned_replies_are_the_reviewed_texts(desk):
    canned = desk.agent("li").get("/api/canned-replies").json()
    script = materials.load(desk.settings.materials_file)
    assert [(item["title"], item["text"]) for item in canned["materials"]] == [
        (script.claim_type_name(kind), script.render(kind)) for kind in script.claim_types
    ]
    titles = {item["title"] for item in canned["templates"]}
    assert {"受理确认", "处理结果告知"} <= titles
    assert all(0 < len(item["text"]) <= 2000 for item in canned["templates"])


def test_every_timestamp_in_the_ticket_json_carries_its_utc_offset(desk, tickets):
    boss = desk.agent("boss", Role.SUPERVISOR)
    boss.post(f"/api/tickets/{tickets['pool']}/notes", json={"body": "已联系"})
    moments = []

    def collect(value):
        if isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", value):
            moments.append(value)

    collect(boss.get(f"/api/tickets/{tickets['pool']}").json())
    collect(boss.get("/api/tickets").json())
    collect(boss.get("/api/ticket-changes").json())
    assert len(moments) > 10
    assert all(re.search(r"[+-]\d{2}:\d{2}$", moment) for moment in moments), moments
