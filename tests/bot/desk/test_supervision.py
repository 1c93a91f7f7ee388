"""A supervisor on a live conversation: whispers, taking over, reassigning; display names; closing a threat.

Rasa is not running here: what reaches the policyholder is tested in tests/e2e/test_desk_supervision.py.
"""

from __future__ import annotations

from typing import Tuple

import pytest

from bot.agents import Role
from bot.handoff import HandoffReason, HandoffService
from tests.bot.desk.client import TICKET_FORM, DeskClient

WHISPER = "<b>先别承诺赔付</b>，等核赔结论"


@pytest.fixture
def team(desk) -> Tuple[int, DeskClient, DeskClient, DeskClient]:
    """A conversation wang (王小明) holds, another agent li (李娜) and a supervisor zhou (周主管), logged in."""
    request_id = desk.handoff("conv-team")
    wang = desk.agent("wang", name="王小明")
    li = desk.agent("li", name="李娜")
    boss = desk.agent("zhou", Role.SUPERVISOR, name="周主管")
    assert wang.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    return request_id, wang, li, boss


def test_a_whisper_reaches_the_holding_agent_and_supervisors_only(team):
    request_id, wang, li, boss = team

    sent = boss.post(f"/api/handoffs/{request_id}/whispers", json={"text": WHISPER})
    assert sent.status_code == 200 and sent.json()["author_name"] == "周主管"
    [seen] = wang.get(f"/api/handoffs/{request_id}/whispers").json()["whispers"]
    assert seen["body"] == WHISPER and seen["author_name"] == "周主管"
    assert boss.get(f"/api/handoffs/{request_id}/whispers").json()["whispers"] == [seen]

    # Another agent reads nothing; an agent cannot whisper; nothing empty or oversized is stored.
    assert li.get(f"/api/handoffs/{request_id}/whispers").status_code == 403
    assert wang.post(f"/api/handoffs/{request_id}/whispers", json={"text": "我也想悄悄话"}).status_code == 403
    assert boss.post(f"/api/handoffs/{request_id}/whispers", json={"text": " "}).json()["error"] == "内部消息不能为空"
    assert boss.post(f"/api/handoffs/{request_id}/whispers", json={"text": "字" * 2001}).status_code == 400
    assert len(wang.get(f"/api/handoffs/{request_id}/whispers").json()["whispers"]) == 1


def test_a_supervisor_takes_over_and_the_agent_can_no_longer_reply(desk):
    request_id = desk.handoff("conv-takeover")
    wang = desk.agent("wang", name="王小明")
    boss = desk.agent("zhou", Role.SUPERVISOR, name="周主管")
    assert wang.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    assert wang.post(f"/api/handoffs/{request_id}/takeover").status_code == 403  # supervisors only

    taken = boss.post(f"/api/handoffs/{request_id}/takeover")
    # Rasa is down here: the move stands and the supervisor is told the user was not informed.
    assert taken.status_code == 200 and taken.json()["holder"] == "周主管" and "未能通知用户" in taken.json()["warning"]
    assert HandoffService(desk.db, desk.settings).get(request_id)["assigned_to"] == "zhou"
    refused = wang.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好"})
    assert refused.status_code == 403 and refused.json()["error"] == "该会话由 周主管 处理"
    assert boss.get(f"/api/handoffs/{request_id}").json()["handoff"]["mine"] is True


def test_a_supervisor_reassigns_a_live_conversation_to_another_agent(team):
    request_id, wang, li, boss = team
    assert {"username": "li", "name": "李娜"} in boss.get("/api/agents").json()["agents"]
    assert wang.get("/api/agents").status_code == 403

    assert boss.post(f"/api/handoffs/{request_id}/reassign", json={"agent": "nobody"}).status_code == 403
    moved = boss.post(f"/api/handoffs/{request_id}/reassign", json={"agent": "li"})
    assert moved.status_code == 200 and moved.json()["holder"] == "李娜"
    assert li.get(f"/api/handoffs/{request_id}").json()["handoff"]["mine"] is True
    assert wang.get(f"/api/handoffs/{request_id}").status_code == 403
    assert boss.post(f"/api/handoffs/{request_id}/reassign", json={"agent": "li"}).status_code == 403  # already li's


def test_the_desk_shows_people_by_display_name(team):
    request_id, wang, li, boss = team
    [held] = boss.get("/api/queue").json()["held"]
    assert held["assigned_to"] == "王小明"
    conflict = li.post(f"/api/handoffs/{request_id}/claim")
    assert conflict.status_code == 409 and conflict.json()["error"] == "该会话已被 王小明 接入"
    ticket = wang.post(
        f"/api/handoffs/{request_id}/ticket",
        json=TICKET_FORM,
    ).json()
    # Rasa is down here: the confirmation waits in the outbox, written with the ticket.
    assert ticket["assignee"] == "王小明" and "warning" not in ticket
    [acknowledgement] = wang.get(f"/api/tickets/{ticket['ticket_no']}").json()["notices"]
    assert acknowledgement["kind"] == "acknowledgement" and acknowledgement["status"] == "pending"
    assert ticket["ticket_no"] in acknowledgement["body"] and "登记的联系电话" in acknowledgement["body"]
    assert {note["author"] for note in ticket["notes"]} == {"王小明"}
    changed = wang.post(f"/api/handoffs/{request_id}/ticket/changes", json={"sub_reason": "claim_timeliness"}).json()
    actors = {event["actor"] for event in changed["events"]}
    assert "王小明" in actors and "wang" not in actors


def test_closing_a_threat_without_a_ticket_needs_a_confirmed_warning(desk):
    request_id = desk.handoff("conv-threat", HandoffReason.THREAT)
    wang = desk.agent("wang", name="王小明")
    assert wang.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    warned = wang.post(f"/api/handoffs/{request_id}/close", json={})
    assert warned.status_code == 409 and warned.json()["confirm"] == "confirm_threat"
    assert "还没有工单" in warned.json()["error"]
    assert HandoffService(desk.db, desk.settings).get(request_id)["status"] == "assigned"
    # Confirmed, the close goes ahead (and reaches Rasa, which is down here).
    confirmed = wang.post(f"/api/handoffs/{request_id}/close", json={"confirm_threat": True})
    assert confirmed.status_code == 502 and confirmed.json()["error"] == "机器人暂时无法接回会话，请稍后重试"


def test_closing_an_ordinary_conversation_asks_nothing_more(desk):
    request_id = desk.handoff("conv-plain")
    wang = desk.agent("wang", name="王小明")
    assert wang.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    assert wang.post(f"/api/handoffs/{request_id}/close").status_code == 502  # straight on to Rasa
