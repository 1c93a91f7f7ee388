"""A human agent takes over a live conversation, in a real browser.

Real parts only: the trained Rasa server with the REST channel, the action
server, the desk process, one SQLite database, Debian's Chromium.
"""
from __future__ import annotations

import time
from typing import Iterator, List

import pytest
import requests

from bot.agents import AgentService, Role
from bot.handoff import Availability, HandoffService
from tests.bot.desk.conftest import PASSWORD, DeskServer, start_desk, stop_desk
from tests.browser_support import DESKTOP, chromium, save_screenshot  # noqa: F401
from tests.assistant import TOKEN, Assistant

XSS = '<img src=x onerror="document.title=\'pwned\'">'


@pytest.fixture(scope="module")
def desk(assistant: Assistant) -> Iterator[DeskServer]:
    server = start_desk(assistant.settings.var_dir, {"RASA_URL": assistant.url, "RASA_TOKEN": TOKEN,
                                                     "SERVICE_HOURS": "00:00-24:00"})
    yield server
    stop_desk(server)


def mailbox(assistant: Assistant, sender: str, after: float) -> List[dict]:
    response = requests.post(f"{assistant.url}/webhooks/rest/messages", headers=assistant.rest_headers(sender),
                             json={"sender": sender, "after": after}, timeout=10)
    response.raise_for_status()
    return response.json()["messages"]


def wait_for_message(assistant: Assistant, sender: str, after: float, contains: str) -> dict:
    deadline = time.time() + 30
    while time.time() < deadline:
        for message in mailbox(assistant, sender, after):
            if contains in message["text"]:
                return message
        time.sleep(0.5)
    raise AssertionError(f"{contains!r} never reached {sender}: {mailbox(assistant, sender, after)}")


def test_an_agent_takes_over_replies_and_hands_back(assistant, desk, chromium):  # noqa: F811
    AgentService(desk.db).add("wang", "王小明", PASSWORD, Role.AGENT)
    page = chromium.new_page(viewport=DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{desk.url}/")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#waiting")
    # The open queue view keeps the agent online; earlier tests may have left requests waiting.
    handoffs = HandoffService(desk.db, desk.settings)
    deadline = time.time() + 15
    while handoffs.availability() is not Availability.OPEN:
        assert time.time() < deadline, "the agent never came online"
        time.sleep(0.2)

    # The policyholder asks for a human while the desk is open (so an agent is online).
    sender = f"desk-e2e-{time.time_ns()}"
    assistant.texts(sender, "你好")
    queued = " ".join(assistant.texts(sender, "转人工"))
    assert "转接人工客服" in queued, queued
    [request] = [r for r in handoffs.queue() if r["conversation_id"] == sender]

    # It appears in the queue without a reload.
    card = page.wait_for_selector(f"li.card[data-id='{request['id']}']", timeout=15000)
    assert "用户要求人工" in card.inner_text()
    save_screenshot(page, "desk-queue")

    # A message sent while waiting is not lost.
    assistant.say(sender, "我的理赔申请一个月了还没有结果")
    card.query_selector("button.claim").click()
    page.wait_for_url(f"**/conversations/{request['id']}")
    page.wait_for_selector("li.line.user >> text=我的理赔申请一个月了还没有结果")
    assert page.is_visible("li.line.user >> text=转人工")
    greeting = wait_for_message(assistant, sender, 0, "我是客服王小明")
    assert greeting["agent"] == "王小明"

    # New user messages arrive live, shown as text even when they look like HTML.
    assistant.say(sender, XSS)
    page.wait_for_selector(f"li.line.user p.text >> text={XSS}")
    assert page.query_selector("#transcript img") is None and page.title() != "pwned"

    # The agent replies; the policyholder receives it, labelled with the agent's name.
    sent_at = time.time()
    page.fill("#reply textarea", "您好，我已查看您的理赔进度，会尽快为您跟进。")
    page.click("#reply button[type=submit]")
    reply = wait_for_message(assistant, sender, sent_at, "我已查看您的理赔进度")
    assert reply["agent"] == "王小明"
    page.wait_for_selector("li.line.agent >> text=我已查看您的理赔进度")
    save_screenshot(page, "desk-conversation")
    # The bot stayed silent through all of it.
    user_turns = assistant.tracker(sender)["events"]
    assert not [e for e in user_turns if e["event"] == "bot" and e.get("timestamp", 0) > sent_at
                and not (e.get("metadata") or {}).get("agent")]

    # Hand back: the user is told, and the bot answers the next message.
    handed_back_at = time.time()
    page.click("#handback")
    page.wait_for_url(f"{desk.url}/")
    wait_for_message(assistant, sender, handed_back_at, "智能助手继续为您服务")
    answer = assistant.texts(sender, "理赔需要什么材料")
    assert answer and any("材料" in text for text in answer), answer
    assert handoffs.get(request["id"])["status"] == "released"
    page.close()


def test_the_mailbox_refuses_bad_requests(assistant):
    for body in ({}, {"sender": ""}, {"sender": "x" * 256}, {"sender": "a", "after": "soon"}):
        response = requests.post(f"{assistant.url}/webhooks/rest/messages", json=body, timeout=10)
        assert response.status_code == 400, body
    # Readable only with the conversation's secret (tests/channels/test_rest.py).
    assert requests.post(f"{assistant.url}/webhooks/rest/messages", json={"sender": "nobody-ever"},
                         timeout=10).status_code == 403
