"""Supervisor alerts in the desk: the list, acknowledging, the live badge stream, and agents kept out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.agents import Role
from bot.reminders import ReminderPass
from tests.bot.desk.event_stream import EventStream
from tests.bot.desk.server import DeskServer
from tests.bot.sample_tickets import submit

SUPERVISORS_ONLY = {"error": "仅主管可以查看提醒"}


@pytest.fixture
def desk(ticket_desk: DeskServer) -> DeskServer:
    """Alerts on SQLite and PostgreSQL."""
    return ticket_desk


@pytest.fixture
def overdue(desk: DeskServer) -> str:
    """A ticket received 20 days ago (past its 15 days), alerted by one reminder pass."""
    number = submit(desk.db, desk.settings, datetime.now(timezone.utc) - timedelta(days=20), {"assignee": "li"})
    ReminderPass(desk.db, desk.settings).run_once()
    return number


def test_agents_are_kept_out_of_the_alerts(desk, overdue):
    li = desk.agent("li")
    for path in ("/api/alerts", "/api/alerts/stream"):
        response = li.get(path)
        assert (response.status_code, response.json()) == (403, SUPERVISORS_ONLY), path
    assert li.post("/api/alerts/1/acknowledge").status_code == 403
    page = li.get("/alerts")
    assert page.status_code == 403 and "仅主管可以查看提醒" in page.text
    assert 'id="alert-badge"' not in li.get("/tickets").text


def test_a_supervisor_sees_the_overdue_alert_once_and_acknowledges_it(desk, overdue):
    boss = desk.agent("boss", Role.SUPERVISOR)
    ReminderPass(desk.db, desk.settings).run_once()  # a second pass raises nothing new
    snapshot = boss.get("/api/alerts").json()
    assert snapshot["open"] == 1
    [alert] = snapshot["alerts"]
    assert alert["kind"] == "overdue" and alert["kind_label"] == "已超期" and alert["ticket_no"] == overdue
    assert overdue in alert["message"] and alert["created_at"].endswith("+00:00")
    assert boss.post(f"/api/alerts/{alert['id']}/acknowledge").json() == {"ok": True}
    again = boss.post(f"/api/alerts/{alert['id']}/acknowledge")
    assert (again.status_code, again.json()) == (409, {"error": "提醒不存在或已被确认"})
    assert boss.get("/api/alerts").json() == {"open": 0, "alerts": []}
    assert boss.post(f"/api/alerts/{alert['id']}/acknowledge", csrf=False).status_code == 403


def test_the_badge_stream_delivers_the_open_count(desk, overdue):
    boss = desk.agent("boss", Role.SUPERVISOR)
    stream = EventStream(boss, "/api/alerts/stream")
    first = stream.first_event()
    payload = json.loads(first.split("data: ", 1)[1].split("\n", 1)[0])
    assert payload["open"] == 1 and payload["alerts"][0]["ticket_no"] == overdue
    stream.response.close()
