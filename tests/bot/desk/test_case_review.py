"""Typical cases and malicious marks through the desk: supervisors only, audited, shown in the analysis."""

from __future__ import annotations

from sqlalchemy import update

from bot.agents import Role
from bot.models import Ticket
from tests.bot.analysis.dataset import january_2026
from tests.bot.desk.server import DeskServer

REFUSED = {"error": "仅主管可以执行该操作"}
CASE = {
    "situation": "理赔材料齐全后仍拖延二十日",
    "analysis": "审核岗积压，无超时提醒",
    "lessons": "审核环节设置超时提醒",
}


def _closed_and_open(desk: DeskServer) -> tuple[str, str]:
    with desk.db.transaction() as session:
        january_2026(session)
        rows = session.query(Ticket.ticket_no, Ticket.status).filter(Ticket.kind == "complaint").order_by(Ticket.id)
        numbers = {status: number for number, status in rows}
        # Every ticket in the pool, so the agent may see it.
        session.execute(update(Ticket).values(assignee=None))
    return numbers["closed"], numbers["processing"]


def test_agents_may_not_mark_tickets(desk: DeskServer) -> None:
    closed, still_open = _closed_and_open(desk)
    li = desk.agent("li")
    for path, body in (
        (f"/api/tickets/{closed}/typical-case", CASE),
        (f"/api/tickets/{closed}/typical-case/remove", {}),
        (f"/api/tickets/{still_open}/malicious", {"reason": "反复索要"}),
        (f"/api/tickets/{still_open}/malicious/remove", {}),
    ):
        answer = li.post(path, json=body)
        assert answer.status_code == 403 and answer.json() == REFUSED, path
    ticket = li.get(f"/api/tickets/{closed}").json()
    assert "typical_case" not in ticket and "malicious_mark" not in ticket


def test_a_supervisor_marks_and_the_analysis_lists_and_counts_them(desk: DeskServer) -> None:
    closed, still_open = _closed_and_open(desk)
    boss = desk.agent("boss", Role.SUPERVISOR)
    refused = boss.post(f"/api/tickets/{still_open}/typical-case", json=CASE)
    assert refused.status_code == 400 and "只有已结案的工单" in refused.json()["error"]
    missing = boss.post(f"/api/tickets/{closed}/typical-case", json={**CASE, "lessons": ""})
    assert missing.status_code == 400 and "案件启示不能为空" in missing.json()["error"]

    ticket = boss.post(f"/api/tickets/{closed}/typical-case", json=CASE).json()
    assert ticket["typical_case"]["lessons"] == CASE["lessons"]
    assert ticket["events"][-1]["field_label"] == "典型案例"
    ticket = boss.post(f"/api/tickets/{still_open}/malicious", json={"reason": "<b>反复索要</b>"}).json()
    assert ticket["malicious_mark"]["reason"] == "<b>反复索要</b>" and ticket["events"][-1]["actor"] == "boss"

    # The agent handling it sees neither the mark nor its audit entry.
    agent_view = desk.agent("li").get(f"/api/tickets/{still_open}").json()
    assert all(event["field"] != "malicious_mark" for event in agent_view["events"])

    page = boss.get("/analysis", params={"period": "2026-01"}).text
    assert "典型案例" in page and CASE["situation"] in page and f'href="/tickets/{closed}"' in page
    assert "主管标记为恶意投诉 1 件" in page
    assert "<b>反复索要</b>" not in page  # reasons are not listed; counts only

    assert boss.post(f"/api/tickets/{still_open}/malicious/remove", json={}).json()["malicious_mark"] is None
    assert boss.post(f"/api/tickets/{closed}/typical-case/remove", json={}).json()["typical_case"] is None
    page = boss.get("/analysis", params={"period": "2026-01"}).text
    assert "本期无典型案例" in page and "主管标记为恶意投诉 0 件" in page


def test_the_ticket_page_has_the_controls_for_supervisors_only(desk: DeskServer) -> None:
    closed, _ = _closed_and_open(desk)
    assert 'id="typical-case"' in desk.agent("boss", Role.SUPERVISOR).get(f"/tickets/{closed}").text
    assert 'id="typical-case"' not in desk.agent("li").get(f"/tickets/{closed}").text


def test_the_change_feed_hides_malicious_marks_from_agents(desk: DeskServer) -> None:
    _, still_open = _closed_and_open(desk)
    boss = desk.agent("boss", Role.SUPERVISOR)
    boss.post(f"/api/tickets/{still_open}/malicious", json={"reason": "反复索要"})
    supervisor_feed = boss.get("/api/ticket-changes").json()["changes"]
    agent_feed = desk.agent("li").get("/api/ticket-changes").json()["changes"]
    assert [change["field"] for change in supervisor_feed] == ["malicious_mark"]
    assert agent_feed == []
