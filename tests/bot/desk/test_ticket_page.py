"""The ticket page (bot/desk/ticket_page.py), against a real desk process."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from bot.agents import Role
from tests.bot.sample_tickets import submit

ASSIGNEE_SELECT = re.compile(r'<select name="assignee">(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)">([^<]*)</option>')


def test_a_supervisor_assigns_by_choosing_a_display_name_not_typing_a_username(ticket_desk):
    desk = ticket_desk
    boss = desk.agent("zhao", Role.SUPERVISOR, name="赵主管")
    li = desk.agent("li", name="李<b>红</b>")
    desk.agent("wang", name="王小明")
    number = submit(desk.db, desk.settings, datetime.now(timezone.utc))
    agent_page = li.get(f"/tickets/{number}")  # in the pool, which agents see
    assert agent_page.status_code == 200 and ASSIGNEE_SELECT.search(agent_page.text) is None  # agents do not assign
    page = boss.get(f"/tickets/{number}").text
    [choices] = ASSIGNEE_SELECT.findall(page)
    assert OPTION.findall(choices) == [
        ("", "不指定（退回工单池）"),
        ("zhao", "赵主管"),
        ("li", "李&lt;b&gt;红&lt;/b&gt;"),  # names are text, never markup
        ("wang", "王小明"),
    ]
    assert 'name="assignee" maxlength' not in page  # no free-text username any more
    moved = boss.post(f"/api/tickets/{number}/assign", json={"assignee": "wang", "reason": "按片区分派", "version": 1})
    assert moved.status_code == 200 and moved.json()["assignee_name"] == "王小明"
    # Still validated by the server: a value no option offers is refused in Chinese.
    forged = boss.post(f"/api/tickets/{number}/assign", json={"assignee": "nobody", "reason": "x", "version": 2})
    assert (forged.status_code, forged.json()) == (400, {"error": "没有这个在职的坐席账号"})
