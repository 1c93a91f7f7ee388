"""Bursts and the queue, as policyholders meet them on the real servers (issue 15, journeys 6 and 9)."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Dict, List

import pytest
import requests
from playwright.sync_api import Browser, Page
from sqlalchemy import update

from bot.agents import AgentAccount
from bot.handoff import HandoffService
from bot.models import Agent, HandoffRequest
from bot.tickets import TicketService
from tests.assistant import Assistant
from tests.bot.desk.server import DeskServer
from tests.e2e.browser import PHONE, save_screenshot
from tests.e2e.chat_page import assert_no_duplicates, bot_texts, open_chat, say, shown, wait_ready

WELCOME = "我可以帮您"
POLICY_QUESTION = "请提供涉及的保单号"
APOLOGY = "深表歉意"
BURST = ["在吗", "你好", "我要投诉", "你们理赔拖了三个月了太过分了", "到现在一分钱没赔"]


def burst(assistant: Assistant, sender: str, texts: List[str], gap: float = 0.1) -> Dict[int, List[str]]:
    """The first message alone (it creates the conversation), the rest sent quickly one after another."""
    answers: Dict[int, List[str]] = {0: assistant.texts(sender, texts[0])}

    def send(index: int, text: str) -> None:
        answers[index] = assistant.texts(sender, text)

    threads = []
    for index, text in enumerate(texts[1:], start=1):
        thread = threading.Thread(target=send, args=(index, text))
        thread.start()
        threads.append(thread)
        time.sleep(gap)
    for thread in threads:
        thread.join()
    return answers


def test_five_quick_messages_get_one_welcome_and_one_policy_question(assistant: Assistant) -> None:
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    answers = burst(assistant, sender, ["在吗", "你好", "我要投诉", "你们理赔拖了三个月了太过分了", "到现在一分钱没赔"])
    said = [text for index in sorted(answers) for text in answers[index]]
    assert sum(WELCOME in text for text in said) == 1, said
    # The burst is one angry claim complaint: apologised for once, its policy number asked once.
    assert sum(APOLOGY in text for text in said) == 1, said
    assert sum(POLICY_QUESTION in text for text in said) == 1, said
    assert not any("格式不正确" in text for text in said), said
    # Every message is kept, in order, in the one turn that answered them.
    user_texts = [e["text"] for e in assistant.tracker(sender)["events"] if e["event"] == "user"]
    assert "\n".join(user_texts) == "在吗\n你好\n我要投诉\n你们理赔拖了三个月了太过分了\n到现在一分钱没赔"


def test_an_upset_greeting_burst_is_greeted_once(assistant: Assistant) -> None:
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    answers = burst(assistant, sender, ["你好", "有人吗", "在不在", "人呢？？"])
    said = [text for index in sorted(answers) for text in answers[index]]
    # The first greeting is answered alone, before the rest arrive; the rest get a short "我在的", not the menu again.
    assert sum(WELCOME in text for text in said) == 1, said
    assert len(said) == 2 and "我在的" in said[-1], said


# -- journey 6: waiting for an agent ------------------------------------------------


@pytest.fixture
def recent_waits(assistant: Assistant) -> None:
    """Three users an agent took after four minutes each, a little while ago."""
    now = datetime.now(timezone.utc)
    with assistant.db.transaction() as session:
        for _ in range(3):
            session.add(
                HandoffRequest(
                    conversation_id=f"earlier-{uuid.uuid4().hex[:8]}",
                    channel="rest",
                    reason="user_request",
                    priority=30,
                    status="closed",
                    slots={},
                    created_at=now - timedelta(minutes=30),
                    claimed_at=now - timedelta(minutes=26),
                    updated_at=now - timedelta(minutes=20),
                    ended_at=now - timedelta(minutes=20),
                )
            )


def handoff_status(assistant: Assistant, sender: str) -> str:
    [request] = [r for r in HandoffService(assistant.db, assistant.settings).list() if r["conversation_id"] == sender]
    return str(request["status"])


def test_a_waiting_user_is_told_their_place_and_a_rough_wait_then_leaves_a_message(
    assistant: Assistant, agent_online: AgentAccount, recent_waits: None
) -> None:
    sender = f"queue-{uuid.uuid4().hex[:8]}"
    assert "已为您转接人工客服" in "\n".join(assistant.texts(sender, "我要找人工客服"))
    assert handoff_status(assistant, sender) == "waiting"

    [answer] = assistant.texts(sender, "还要等多久啊")
    assert re.search(r"(您前面还有\d+位|您是下一位)，预计还需等待约\d+分钟", answer), answer
    assert "留言" in answer
    [answer] = assistant.texts(sender, "我都等了半天了，你们到底有没有人？？")
    assert "预计还需等待约" in answer  # every message is answered, and still logged for the agent
    assert assistant.tracker(sender)["paused"]

    left = "\n".join(assistant.texts(sender, "等不了了 我留言吧"))
    assert "取消排队" in left and "手机号" in left, left
    assert handoff_status(assistant, sender) == "released"
    assert not assistant.tracker(sender)["paused"]
    assert "问题" in assistant.texts(sender, "13812345678")[-1]
    assert "称呼" in assistant.texts(sender, "理赔款一直没到账，想请工作人员回电说明一下")[-1]
    done = "\n".join(assistant.texts(sender, "张三"))
    tickets = [
        t
        for t in TicketService(assistant.db, assistant.settings).list()
        if t["conversation_id"] == sender and t["kind"] == "callback"
    ]
    assert len(tickets) == 1 and f"受理编号：{tickets[0]['ticket_no']}" in done


def test_a_user_who_wants_to_keep_waiting_is_not_switched_to_a_message(
    assistant: Assistant, agent_online: AgentAccount
) -> None:
    sender = f"queue-{uuid.uuid4().hex[:8]}"
    assistant.texts(sender, "转人工")
    [answer] = assistant.texts(sender, "不留言，我就等人工")
    assert "位" in answer and handoff_status(assistant, sender) == "waiting"


def test_every_waiting_user_is_told_when_the_last_agent_goes_offline(
    assistant: Assistant, agent_online: AgentAccount, desk: DeskServer
) -> None:
    waiting = [f"queue-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for sender in waiting:
        assistant.texts(sender, "转人工")
    with assistant.db.transaction() as session:
        session.execute(update(Agent).values(last_seen_at=None))  # everyone's desk closed
    deadline = time.monotonic() + 30
    told: Dict[str, List[str]] = {}
    while time.monotonic() < deadline and len(told) < len(waiting):
        for sender in waiting:
            mail = requests.post(
                f"{assistant.url}/webhooks/rest/messages",
                json={"sender": sender, "after": 0},
                headers=assistant.rest_headers(sender),
                timeout=30,
            ).json()["messages"]
            notices = [m["text"] for m in mail if "没有人工客服在线" in m.get("text", "")]
            if notices:
                told[sender] = notices
        time.sleep(1)
    assert set(told) == set(waiting)
    assert all(len(notices) == 1 and "留言" in notices[0] for notices in told.values())


def test_an_angry_user_who_gives_up_waiting_asks_for_a_call_back(
    assistant: Assistant, agent_online: AgentAccount
) -> None:
    sender = f"queue-{uuid.uuid4().hex[:8]}"
    assert "已为您转接人工客服" in "\n".join(assistant.texts(sender, "人工！！！我要人工"))
    [answer] = assistant.texts(sender, "你们是不是都下班了？？")
    assert "位" in answer and "留言" in answer
    left = "\n".join(assistant.texts(sender, "算了等不起 你们给我回个电话"))
    assert "取消排队" in left and "手机号" in left, left
    assert handoff_status(assistant, sender) == "released"


def test_a_complaint_typed_in_pieces_gets_one_apology(assistant: Assistant) -> None:
    sender = f"burst-{uuid.uuid4().hex[:8]}"
    answers = burst(
        assistant, sender, ["喂", "我投诉你们那个理赔员", "电话打了十几次都不接", "一个礼拜了一点消息都没有！！"]
    )
    said = [text for index in sorted(answers) for text in answers[index]]
    assert sum(APOLOGY in text for text in said) == 1, said
    assert sum(POLICY_QUESTION in text for text in said) == 1, said
    assert sum(WELCOME in text for text in said) <= 1, said


# -- the same on the chat page, on a phone ---------------------------------------------


def typed_quickly(page: Page, texts: List[str]) -> None:
    """Sends each text as soon as it is typed, without waiting for answers."""
    for text in texts:
        page.fill("#input", text)
        page.press("#input", "Enter")
        page.wait_for_timeout(150)


def settled_bot_texts(page: Page, quiet_ms: int = 3000) -> List[str]:
    """The bot's messages once nothing new has arrived for a while."""
    seen = -1
    texts = bot_texts(page)
    while len(texts) != seen:
        seen = len(texts)
        page.wait_for_timeout(quiet_ms)
        texts = bot_texts(page)
    return texts


def test_a_burst_typed_on_a_phone_is_answered_once(assistant: Assistant, chromium: Browser) -> None:
    page = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE)
    typed_quickly(page, BURST)
    said = settled_bot_texts(page)
    assert sum(WELCOME in text for text in said) == 1, said
    assert sum(APOLOGY in text for text in said) == 1, said
    assert sum(POLICY_QUESTION in text for text in said) == 1, said
    assert not any("格式不正确" in text for text in said), said
    # Read back after a reload: the same messages, each typed message its own bubble
    # (the order differs only where the answer to the first arrived while the user typed on).
    live = shown(page)
    page.reload()
    wait_ready(page)
    read_back = shown(page)
    assert sorted(read_back, key=lambda m: m["id"]) == sorted(live, key=lambda m: m["id"])
    assert [m["text"] for m in read_back if "from-user" in m["kind"]] == BURST
    assert_no_duplicates(page)
    page.context.close()


def test_a_burst_of_greetings_on_a_phone_gets_one_welcome(assistant: Assistant, chromium: Browser) -> None:
    page = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE)
    typed_quickly(page, ["你好", "在吗", "有人吗", "人呢？？"])
    said = settled_bot_texts(page)
    assert sum(WELCOME in text for text in said) == 1, said
    assert_no_duplicates(page)
    page.context.close()


def test_the_chat_page_shows_the_wait_while_queued(
    assistant: Assistant, chromium: Browser, agent_online: AgentAccount, recent_waits: None
) -> None:
    page = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE)
    assert "已为您转接人工客服" in "\n".join(say(page, "转人工"))
    page.wait_for_timeout(1500)  # past the burst window: a message of its own
    answer = "\n".join(say(page, "还要等多久啊"))
    assert "预计还需等待约" in answer and "留言" in answer, answer
    save_screenshot(page, "queue-wait-phone")
    page.context.close()
