"""Live streams (server-sent events) end when the login or the right to what they show ends.

A real desk process and database; Rasa is not running, so a conversation's
stream delivers no lines here, only its keep-alive and, at the end, its `end`.
"""

from __future__ import annotations

import time
from datetime import timedelta

from bot.agents import AgentService, Role
from bot.clock import utc_now
from bot.handoff import HandoffService
from tests.bot.desk.event_stream import ENDS_WITHIN, EventStream


def test_the_queue_stream_ends_at_logout_and_shows_nothing_after(desk):
    li = desk.agent("li")
    stream = EventStream(li, "/api/queue/stream")
    assert '"waiting": []' in stream.first_event()
    assert li.post("/logout").status_code == 200
    later = desk.handoff("conv-after-logout")
    data, ends, closed = stream.rest()
    assert closed and ends == [{"error": "登录已失效，请重新登录", "url": "/login"}]
    assert not [board for board in data if any(card["id"] == later for card in board["waiting"])]


def test_the_queue_stream_ends_when_the_agent_is_deactivated(desk):
    li = desk.agent("li")
    stream = EventStream(li, "/api/queue/stream")
    stream.first_event()
    assert AgentService(desk.db).deactivate("li")
    later = desk.handoff("conv-after-deactivation")
    data, ends, closed = stream.rest()
    assert closed and ends == [{"error": "登录已失效，请重新登录", "url": "/login"}]
    assert not [board for board in data if any(card["id"] == later for card in board["waiting"])]
    assert li.get("/api/queue/stream").status_code == 401


def test_a_conversation_stream_ends_when_the_conversation_is_closed(desk):
    request_id = desk.handoff("conv-1")
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    li.post(f"/api/handoffs/{request_id}/claim")
    streams = [EventStream(agent, f"/api/handoffs/{request_id}/stream") for agent in (li, boss)]
    for stream in streams:
        stream.first_event()
    assert HandoffService(desk.db, desk.settings).release("conv-1", "bot")
    for stream in streams:
        _, ends, closed = stream.rest()
        assert closed and ends == [{"error": "该会话未被接入或已结束", "url": "/"}]


def test_a_conversation_stream_ends_when_another_agent_takes_it_over(desk):
    request_id = desk.handoff("conv-1")
    li, wang = desk.agent("li"), desk.agent("wang")
    li.post(f"/api/handoffs/{request_id}/claim")
    stream = EventStream(li, f"/api/handoffs/{request_id}/stream")
    stream.first_event()
    # li stays away: the conversation goes back to the queue and wang claims it.
    later = HandoffService(desk.db, desk.settings, clock=lambda: utc_now() + timedelta(hours=1))
    assert [row["id"] for row in later.requeue_idle()] == [request_id]
    assert wang.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    _, ends, closed = stream.rest()
    assert closed and ends == [{"error": "该会话由 Wang 处理", "url": "/"}]


def test_a_conversation_stream_ends_at_logout(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    stream = EventStream(li, f"/api/handoffs/{request_id}/stream")
    stream.first_event()
    li.post("/logout")
    _, ends, closed = stream.rest()
    assert closed and ends == [{"error": "登录已失效，请重新登录", "url": "/login"}]


def test_a_stream_stays_open_while_nothing_changes(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    stream = EventStream(li, f"/api/handoffs/{request_id}/stream")
    stream.first_event()
    started = time.time()
    _, ends, closed = stream.rest()
    assert not closed and not ends and time.time() - started >= ENDS_WITHIN - 1
