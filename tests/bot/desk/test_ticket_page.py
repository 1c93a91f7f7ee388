"""The ticket page (bot/desk/ticket_page.py), against a real desk process."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from bot.agents import AgentService, Role
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


SUBJECT_SELECT = re.compile(r'<select name="subject_staff">(.*?)</select>', re.S)


def test_the_person_complained_about_is_chosen_and_shown_by_display_name(ticket_desk):
    desk = ticket_desk
    desk.agent("zhao", Role.SUPERVISOR, name="赵主管")
    li = desk.agent("li", name="李<b>红</b>")
    desk.agent("wang", name="王小明")
    desk.agent("qian", Role.TRAINER, name="钱训练")
    desk.agent("sun", name="孙丽")
    desk.agent("wang2", name="王小明")
    number = submit(desk.db, desk.settings, datetime.now(timezone.utc), {"assignee": "li"})
    page = li.get(f"/tickets/{number}").text
    [choices] = SUBJECT_SELECT.findall(page)
    # The people who could handle the ticket, by name (a trainer handles none, so need not be recused).
    assert OPTION.findall(choices) == [
        ("", "无"),
        ("zhao", "赵主管"),
        ("li", "李&lt;b&gt;红&lt;/b&gt;"),
        ("wang", "王小明（wang）"),  # two people of one name are told apart
        ("sun", "孙丽"),
        ("wang2", "王小明（wang2）"),
    ]
    assert 'name="subject_staff" maxlength' not in page  # no free-text username any more
    marked = li.post(f"/api/tickets/{number}/subject-staff", json={"subject_staff": "wang", "version": 1})
    assert marked.status_code == 200 and marked.json()["subject_staff"] == "wang"
    shown = li.get(f"/api/tickets/{number}").json()
    assert shown["subject_staff_name"] == "王小明"
    [event] = [event for event in shown["events"] if event["field"] == "subject_staff"]
    assert (event["old_value_name"], event["new_value_name"]) == (None, "王小明")
    # Still validated by the server: a value no option offers is refused in Chinese.
    for forged, error in [
        ("nobody", "没有这个在职的坐席账号"),
        ("qian", "没有这个在职的坐席账号"),
        ("王小明", "被投诉人员无效"),
    ]:
        refused = li.post(f"/api/tickets/{number}/subject-staff", json={"subject_staff": forged, "version": 2})
        assert (refused.status_code, refused.json()) == (400, {"error": error}), forged
    # A person who has left stays recorded: saving the form unchanged keeps them; nobody new who has left is taken.
    AgentService(desk.db).deactivate("wang")
    AgentService(desk.db).deactivate("sun")
    kept = li.post(f"/api/tickets/{number}/subject-staff", json={"subject_staff": "wang", "version": 2})
    assert kept.status_code == 200 and kept.json()["subject_staff"] == "wang"
    version = kept.json()["version"]
    left = li.post(f"/api/tickets/{number}/subject-staff", json={"subject_staff": "sun", "version": version})
    assert (left.status_code, left.json()) == (400, {"error": "没有这个在职的坐席账号"})
    cleared = li.post(f"/api/tickets/{number}/subject-staff", json={"subject_staff": "", "version": version})
    assert cleared.status_code == 200 and cleared.json()["subject_staff"] is None
