"""A human agent takes over a live conversation, in a real browser.

Real parts only: the trained Rasa server with the REST channel, the action
server, the desk process, one SQLite database, Debian's Chromium.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import List

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from bot.agents import AgentService, Role
from bot.handoff import Availability, HandoffReason, HandoffService
from bot.models import Rating
from bot.risk import RISK_PRIORITY
from bot.satisfaction import rating_question
from bot.tickets import TicketService
from tests.assistant import Assistant
from tests.bot.desk.client import PASSWORD, TICKET_FORM, DeskClient
from tests.e2e.browser import DESKTOP, save_screenshot
from tests.e2e.mailbox import wait_for_message

XSS = "<img src=x onerror=\"document.title='pwned'\">"


def test_an_agent_takes_over_replies_and_hands_back(assistant, desk, chromium):  # noqa: F811
    AgentService(desk.db).add("wang", "王小明", PASSWORD, Role.AGENT)
    page = chromium.new_page(viewport=DESKTOP)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{desk.url}/")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#waiting", state="attached")  # an empty queue has no height: not "visible"
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

    # 标记为未理解: the message goes to the review page, masked, as an agent's mark.
    line = page.locator("li.line.user", has_text="我的理赔申请一个月了还没有结果")
    line.locator("button.mark-unclear").click()
    expect(line.locator("button.mark-unclear")).to_have_text("已标记")
    AgentService(desk.db).add("zhao-review", "赵主管", PASSWORD, Role.SUPERVISOR)
    review = DeskClient(desk.url).login("zhao-review").get("/review").text
    [row] = [row for row in review.split("<tr")[1:] if "我的理赔申请一个月了还没有结果" in row]
    assert "坐席标记" in row

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
    assert not [
        e
        for e in user_turns
        if e["event"] == "bot" and e.get("timestamp", 0) > sent_at and not (e.get("metadata") or {}).get("agent")
    ]

    # Hand back: the user is told, and the bot answers the next message.
    handed_back_at = time.time()
    page.click("#handback")
    page.wait_for_url(f"{desk.url}/")
    wait_for_message(assistant, sender, handed_back_at, "智能助手继续为您服务")
    # The rating question follows; a user who asks something else is simply answered…
    wait_for_message(assistant, sender, handed_back_at, "请您对本次投诉处理进行评价")
    answer = assistant.texts(sender, "理赔需要什么材料")
    assert answer and any("材料" in text for text in answer), answer
    assert handoffs.get(request["id"])["status"] == "released"
    # …and can still answer it with the number the question offers.
    assert "感谢您的评价" in " ".join(assistant.texts(sender, "1"))
    with desk.db.transaction() as session:
        assert session.execute(select(Rating.rating).where(Rating.handoff_id == request["id"])).scalar() == "satisfied"
    page.close()


def test_the_mailbox_refuses_bad_requests(assistant):
    for body in ({}, {"sender": ""}, {"sender": "x" * 256}, {"sender": "a", "after": "soon"}):
        response = requests.post(f"{assistant.url}/webhooks/rest/messages", json=body, timeout=10)
        assert response.status_code == 400, body
    # Readable only with the conversation's secret (tests/e2e/test_rest_channel.py).
    assert (
        requests.post(f"{assistant.url}/webhooks/rest/messages", json={"sender": "nobody-ever"}, timeout=10).status_code
        == 403
    )


# Every printable ASCII character but space, '?' and '#', and '%' as escapes that must stay literal.
ODD_IDS = ["desk-e2e-odd/a//b/", "desk-e2e-odd%20c%2Fd", "desk-e2e-!\"$&'()*+,-.:;<=>@[\\]^_`{|}~"]


def stored_senders(assistant: Assistant) -> List[str]:
    with sqlite3.connect(assistant.settings.var_dir / "tracker.db") as tracker_db:
        return [row[0] for row in tracker_db.execute("SELECT DISTINCT sender_id FROM events")]


def stored_texts(assistant: Assistant, sender: str) -> List[str]:
    with sqlite3.connect(assistant.settings.var_dir / "tracker.db") as tracker_db:
        rows = tracker_db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,))
        return [json.loads(data).get("text") or "" for (data,) in rows]


@pytest.mark.parametrize("conversation_id", ODD_IDS)
def test_agent_replies_reach_conversations_with_odd_ids(assistant, desk, conversation_id):
    """The desk once URL-quoted such ids: Rasa stored the replies under another, new id."""
    username = f"odd{ODD_IDS.index(conversation_id)}"
    AgentService(desk.db).add(username, "李客服", PASSWORD, Role.AGENT)
    li = DeskClient(desk.url).login(username)
    request_id = (
        HandoffService(desk.db, desk.settings).request(conversation_id, "rest", HandoffReason.USER_REQUEST, {}).id
    )
    before = set(stored_senders(assistant))
    assert li.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    reply = li.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好，这里是人工客服。"})
    assert reply.status_code == 200 and reply.json() == {"ok": True}
    texts = stored_texts(assistant, conversation_id)
    assert "您好，这里是人工客服。" in texts and any("我是客服李客服" in text for text in texts)
    assert set(stored_senders(assistant)) - before == {conversation_id}  # no phantom conversation
    lines = li.get(f"/api/handoffs/{request_id}").json()["transcript"]
    assert [line["text"] for line in lines if line["role"] == "agent"][-1] == "您好，这里是人工客服。"
    assert li.post(f"/api/handoffs/{request_id}/close").json()["url"] == "/"
    # The farewell, then the rating question of the conversation that ended (a slot event between them).
    farewell, _, question = stored_texts(assistant, conversation_id)[-3:]
    assert farewell.startswith("本次人工服务已结束") and question == rating_question()[0]


def test_a_reply_rasa_cannot_deliver_is_refused_not_lost(assistant, desk):
    AgentService(desk.db).add("unaddressable", "李客服", PASSWORD, Role.AGENT)
    li = DeskClient(desk.url).login("unaddressable")
    conversation_id = "desk-e2e-张三 的会话?#1"
    request_id = (
        HandoffService(desk.db, desk.settings).request(conversation_id, "rest", HandoffReason.USER_REQUEST, {}).id
    )
    before = set(stored_senders(assistant))
    assert li.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    reply = li.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好"})
    assert reply.status_code == 422 and "无法读取记录或向用户发送消息" in reply.json()["error"]
    assert set(stored_senders(assistant)) == before  # nothing written anywhere


def test_a_ticket_the_agent_creates_carries_the_threats_of_the_conversation(assistant, desk):
    # The description the agent types is neutral; the threat is only in what the policyholder wrote.
    sender = f"desk-e2e-threat-{time.time_ns()}"
    assistant.texts(sender, "理赔拖了两个月，我已经联系了电视台的记者")
    AgentService(desk.db).add("riskcheck", "赵客服", PASSWORD, Role.AGENT)
    zhao = DeskClient(desk.url).login("riskcheck")
    request_id = HandoffService(desk.db, desk.settings).request(sender, "rest", HandoffReason.USER_REQUEST, {}).id
    assert zhao.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    ticket = zhao.post(
        f"/api/handoffs/{request_id}/ticket",
        json=TICKET_FORM,
    ).json()
    stored = TicketService(desk.db, desk.settings).get(ticket["ticket_no"])
    assert stored["risk_flags"] == "media" and stored["priority"] == RISK_PRIORITY
