"""Conversations through the production topology: nginx, two Rasa replicas on
PostgreSQL, Redis locks and socket.io rooms, the RabbitMQ analytics feed, the desk."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from bot.agents import AgentService, Role
from bot.analytics import AnalyticsFeed
from bot.handoff import HandoffService
from bot.tickets import TicketService
from tests.bot.desk.client import PASSWORD, DeskClient
from tests.e2e.production.policyholders import PHONE, User, WebChatUser, assert_every_replica_reaches
from tests.e2e.production.running import TOKEN


def test_a_complaint_through_the_load_balancer_is_stored_in_postgresql_and_fed_to_analytics(healthy):
    user = User(healthy)
    ticket_no = user.file_complaint()
    ticket = TicketService(healthy.db, healthy.settings).get(ticket_no)
    assert ticket["conversation_id"] == user.sender and ticket["phone_number"] == PHONE
    assert ticket["category"] == "claims" and ticket["complainant_name"] == "张三"
    # The conversation lives in PostgreSQL, where every replica reads it.
    assert healthy.stored_events(user.sender) > 10

    feed = AnalyticsFeed(healthy.db)
    healthy.wait_until(
        lambda: feed.conversation(user.sender)["tickets"] == [ticket_no], 60, "the ticket in the analytics feed"
    )
    summary = feed.conversation(user.sender)
    assert summary["channel"] == "rest" and summary["intents"].get("complain", 0) >= 1
    assert summary["messages"] == len(user.acknowledged) and summary["handoffs"] == 0


def test_a_long_conversation_still_reaches_the_action_servers(healthy):
    # Rasa posts the whole tracker with every action call; past 30 turns it
    # outgrew nginx's default body limit and custom actions silently failed.
    user = User(healthy)
    for _ in range(16):
        assert any("理赔申请书" in text for text in user.say("重疾险理赔需要什么材料"))
        assert any("防止冒领" in text for text in user.say("为什么要身份证"))
        user.say("谢谢")
    tracker = requests.get(
        f"{healthy.api_url}/conversations/{user.sender}/tracker", params={"token": TOKEN}, timeout=30
    )
    assert len(tracker.content) > 128 * 1024  # the tracker alone is past the old limit


def test_only_the_channels_are_public(healthy):
    assert requests.get(f"{healthy.lb_url}/webhooks/rest/", timeout=10).json() == {"status": "ok"}
    page = requests.get(f"{healthy.lb_url}/", timeout=10)
    assert page.url.endswith("/webhooks/web/") and "<html" in page.text.lower()
    # Rasa's HTTP API (tracker events, model) is only on the internal entry.
    assert requests.get(f"{healthy.lb_url}/status", params={"token": TOKEN}, timeout=10).status_code == 404
    assert requests.get(f"{healthy.api_url}/status", params={"token": TOKEN}, timeout=10).ok


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_web_chat_user_gets_messages_sent_through_either_replica(healthy, transport):
    # Long polling works only if every request of the socket reaches the same replica.
    await assert_every_replica_reaches(healthy, transport)


async def test_the_desk_reaches_a_web_chat_user_through_the_load_balancer(healthy):
    username = f"agent{uuid.uuid4().hex[:8]}"
    agents = AgentService(healthy.db)
    account = agents.add(username, "王小明", PASSWORD, Role.AGENT)
    agents.seen(account.id)
    desk = DeskClient(healthy.desk_url).login(username)
    handoffs = HandoffService(healthy.db, healthy.settings)
    try:
        async with WebChatUser(healthy) as user:
            await user.say("转人工")
            await user.wait_for("人工客服")
            [request] = [r for r in handoffs.list(active_only=True) if r["conversation_id"] == user.conversation_id]
            assert request["channel"] == "web"

            # The desk speaks through the load balancer's API entry, to whichever replica.
            assert desk.post(f"/api/handoffs/{request['id']}/claim").ok
            greeting = await user.wait_for("我是客服王小明")
            assert greeting["metadata"]["sender"] == "agent"
            assert desk.post(f"/api/handoffs/{request['id']}/messages", json={"text": "请稍等，我查一下"}).ok
            assert (await user.wait_for("请稍等，我查一下"))["metadata"]["agent"] == {"name": "王小明"}
            assert desk.post(f"/api/handoffs/{request['id']}/handback").ok
            await user.wait_for("智能助手继续为您服务")
    finally:
        agents.deactivate(username)

    feed = AnalyticsFeed(healthy.db)
    healthy.wait_until(
        lambda: feed.conversation(user.conversation_id)["handoffs"] == 1, 60, "the handoff in the analytics feed"
    )
    summary = feed.conversation(user.conversation_id)
    assert summary["channel"] == "web" and summary["intents"].get("request_human") == 1
    assert re.fullmatch(r"web-[0-9a-f-]{36}", summary["conversation_id"])
