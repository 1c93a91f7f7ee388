"""The ticket list: filters, search, sorting, pages, counts, role visibility, the change feed."""

from __future__ import annotations

from datetime import date

import pytest

from bot.ticket_feed import changes_since
from bot.tickets import TicketNotFound, TicketService
from bot.workspace import InvalidFilter, TicketFilter, Workspace
from tests.bot.sample_tickets import AGENT_LI, AGENT_WANG, SUPERVISOR, shanghai, submit

NOW = shanghai(2026, 6, 20, 10)  # today is 20 June in Shanghai


@pytest.fixture
def tickets(db, settings):
    """Six tickets whose deadlines (received + 15 days) fall around today."""
    made = {
        # deadline 19 June: overdue
        "overdue": submit(db, settings, shanghai(2026, 6, 4, 9), {"assignee": "li"}, complainant_name="李四"),
        # deadline 20 June (today): due soon, unassigned, flagged
        "today": submit(
            db,
            settings,
            shanghai(2026, 6, 5, 23, 59),
            {"risk_flags": "media,lawsuit", "priority": 100},
            phone_number="13900001111",
        ),
        # deadline 23 June: due soon (3 days), wang's
        "soon": submit(db, settings, shanghai(2026, 6, 8, 0, 1), {"assignee": "wang"}, category="sales"),
        # deadline 5 July: on time, callback
        "later": submit(db, settings, shanghai(2026, 6, 20, 8), kind="callback", channel="wechat"),
        # paused since 10 June: its deadline moves on day by day (16 June + 10 days); on time
        "paused": submit(
            db,
            settings,
            shanghai(2026, 6, 1, 9),
            {"paused_since": shanghai(2026, 6, 10, 9), "deadline": date(2026, 6, 26)},
        ),
        # closed long ago
        "closed": submit(db, settings, shanghai(2026, 5, 1, 9), {"status": "closed", "assignee": "li"}),
    }
    return made


def listed(db, settings, viewer=SUPERVISOR, **filters):
    page = Workspace(db, settings, clock=lambda: NOW).list(viewer, TicketFilter(**filters))
    return page, [row["ticket_no"] for row in page.rows]


def test_default_sort_puts_overdue_first_and_closed_last(db, settings, tickets):
    page, numbers = listed(db, settings)
    assert numbers == [tickets[k] for k in ("overdue", "today", "soon", "paused", "later", "closed")]
    assert page.total == 6
    first = page.rows[0]
    assert first["deadline_state"] == "overdue" and first["days_left"] == -1 and first["assignee"] == "li"
    assert first["phone_masked"] == "138****5678" and first["received_at"].endswith("+00:00")
    assert page.rows[1]["deadline_state"] == "due_soon" and page.rows[1]["days_left"] == 0
    assert page.rows[1]["risk_flags"] == ["media", "lawsuit"]
    assert page.rows[3]["deadline_state"] is None and page.rows[3]["paused"]
    assert page.rows[5]["deadline_state"] is None and page.rows[5]["days_left"] is None


def test_counts_per_status_and_deadline_state(db, settings, tickets):
    page, _ = listed(db, settings, status="closed")
    assert page.total == 1
    assert page.status_counts == {
        "accepted": 5,
        "investigating": 0,
        "processing": 0,
        "feedback": 0,
        "follow_up": 0,
        "closed": 1,
    }
    assert page.deadline_counts == {"on_time": 2, "due_soon": 2, "overdue": 1}


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"deadline_state": "overdue"}, ["overdue"]),
        ({"deadline_state": "due_soon"}, ["today", "soon"]),
        ({"deadline_state": "on_time"}, ["paused", "later"]),
        ({"due_within_days": 0}, ["overdue", "today"]),
        ({"due_within_days": 6}, ["overdue", "today", "soon", "paused"]),
        ({"category": "sales"}, ["soon"]),
        ({"kind": "callback"}, ["later"]),
        ({"channel": "wechat"}, ["later"]),
        ({"risk_flag": "lawsuit"}, ["today"]),
        ({"assignee": "unassigned"}, ["today", "paused", "later"]),
        ({"assignee": "wang"}, ["soon"]),
        ({"received_from": date(2026, 6, 5), "received_to": date(2026, 6, 7)}, ["today"]),
        ({"received_from": date(2026, 6, 8), "received_to": date(2026, 6, 8)}, ["soon"]),
    ],
)
def test_filters(db, settings, tickets, filters, expected):
    _, numbers = listed(db, settings, **filters)
    assert numbers == [tickets[name] for name in expected]


def test_search_by_number_phone_last_four_name_and_policy(db, settings, tickets):
    assert listed(db, settings, search=tickets["soon"].lower())[1] == [tickets["soon"]]
    assert listed(db, settings, search="139 0000 1111")[1] == [tickets["today"]]
    assert listed(db, settings, search="1111")[1] == [tickets["today"]]
    assert listed(db, settings, search="李四")[1] == [tickets["overdue"]]
    assert listed(db, settings, search="李")[1] == [tickets["overdue"]]
    assert len(listed(db, settings, search="pl202300123456")[1]) == 6
    assert listed(db, settings, search="%")[1] == []  # a wildcard is searched as itself


def test_other_sorts_and_pages(db, settings, tickets):
    _, by_priority = listed(db, settings, sort="priority")
    assert by_priority[0] == tickets["today"]
    _, by_received = listed(db, settings, sort="received")
    assert by_received[0] == tickets["later"] and by_received[-1] == tickets["closed"]
    page, second = listed(db, settings, page=2, page_size=4)
    assert second == [tickets["later"], tickets["closed"]] and page.total == 6


def test_agents_see_their_own_and_the_pool_supervisors_all(db, settings, tickets):
    submit(db, settings, shanghai(2026, 6, 19, 9), {"subject_staff": "li"})  # 回避: hidden from li
    _, for_li = listed(db, settings, AGENT_LI)
    assert set(for_li) == {tickets[k] for k in ("overdue", "today", "paused", "later", "closed")}
    _, mine = listed(db, settings, AGENT_LI, assignee="mine")
    assert mine == [tickets["overdue"], tickets["closed"]]
    assert listed(db, settings, AGENT_LI, assignee="wang")[1] == []
    assert listed(db, settings, SUPERVISOR)[0].total == 7
    workspace = Workspace(db, settings, clock=lambda: NOW)
    assert workspace.visible(AGENT_WANG, tickets["soon"])["assignee"] == "wang"
    for missing in (tickets["overdue"], "TS20990101000001"):
        with pytest.raises(TicketNotFound):
            workspace.visible(AGENT_WANG, missing)


def test_filters_from_the_query_string_are_checked_in_chinese():
    query = TicketFilter.from_query({"status": "accepted", "page": "2", "received_from": "2026-06-01", "kind": " "})
    assert query == TicketFilter(status="accepted", page=2, received_from=date(2026, 6, 1))
    for params, message in [
        ({"status": "lost"}, "未知的处理状态"),
        ({"page": "-1"}, "请输入数字"),
        ({"page_size": "1000"}, "每页条数"),
        ({"received_from": "6/1"}, "日期格式"),
        ({"received_from": "2026-06-02", "received_to": "2026-06-01"}, "开始日期不能晚于结束日期"),
        ({"assignee": "li; drop"}, "处理人不正确"),
        ({"search": "x" * 65}, "搜索内容过长"),
        ({"risk_flag": "fire"}, "未知的风险标记"),
    ]:
        with pytest.raises(InvalidFilter, match=message):
            TicketFilter.from_query(params)


def test_the_change_feed_follows_visibility_and_id_order(db, settings, tickets):
    TicketService(db, settings, clock=lambda: NOW).add_note(tickets["soon"], "wang", "已联系")
    everything = changes_since(db, SUPERVISOR, 0, 100)
    assert [event["id"] for event in everything] == sorted(event["id"] for event in everything)
    assert everything[-1]["ticket_no"] == tickets["soon"] and everything[-1]["field"] == "note"
    assert everything[-1]["at"].endswith("+00:00")
    assert tickets["soon"] not in {event["ticket_no"] for event in changes_since(db, AGENT_LI, 0, 100)}
    after = changes_since(db, SUPERVISOR, everything[-2]["id"], 100)
    assert [event["id"] for event in after] == [everything[-1]["id"]]
    with pytest.raises(ValueError):
        changes_since(db, SUPERVISOR, 0, 501)
