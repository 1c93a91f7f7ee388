"""Notices reaching the complainant through the real Rasa server: the web chat's open socket and its history,
the REST mailbox, and never twice (the chat route reads the conversation before speaking).

The notice sender runs here as its pass in the test process (tests/e2e/outbox.py), so that a test decides
when it runs, as a crashed or stopped sender would."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from playwright.sync_api import expect
from sqlalchemy import select, update

from bot.channels.web import SENDER_PREFIX
from bot.lifecycle import Lifecycle
from bot.models import Notice, Ticket
from bot.satisfaction import rating_question
from tests.bot.sample_tickets import AGENT_LI, SUPERVISOR, submit
from tests.bot.scripted_routes import ScriptedRoute
from tests.e2e.browser import PHONE, save_screenshot
from tests.e2e.chat_page import assert_no_duplicates, bot_texts, open_chat, say, session_of, shown, wait_ready
from tests.e2e.mailbox import mailbox, wait_for_message
from tests.e2e.outbox import notices_of, send, worked_to_feedback


def test_a_result_notice_reaches_the_open_chat_page_and_its_history_once(assistant, chromium):
    page = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE)
    say(page, "你好")
    conversation_id = SENDER_PREFIX + session_of(page)
    ticket_no = worked_to_feedback(assistant, conversation_id, "web")
    Lifecycle(assistant.db, assistant.settings).advance(ticket_no, "follow_up", {}, 1, AGENT_LI)  # 反馈 done

    send(assistant)
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent"])]
    # Pushed to the open socket: the result with the Art. 19 elements, then the rating question with buttons.
    result = page.locator(".message.from-bot .bubble", has_text="核实情况")
    expect(result).to_have_count(1)
    assert ticket_no in result.text_content() and "12378" in result.text_content()
    expect(page.locator(".quick-replies:not([hidden]) button")).to_have_text(["满意", "基本满意", "不满意"])
    assert bot_texts(page)[-1] == rating_question()[0]
    save_screenshot(page, "notice-result-pushed-phone")

    # A sender that crashed after delivering (the notice still pending) finds it delivered: recorded, not resent.
    with assistant.db.transaction() as session:
        session.execute(
            update(Notice)
            .where(Notice.ticket_id == select(Ticket.id).where(Ticket.ticket_no == ticket_no).scalar_subquery())
            .values(status="pending")
            .execution_options(synchronize_session=False)
        )
    send(assistant)
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent", "duplicate"])]
    events = assistant.tracker(conversation_id)["events"]
    spoken = [e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("notice_kind") == "result"]
    assert len(spoken) == 1
    assert [e["value"] for e in events if e["event"] == "slot" and e.get("name") == "rating_notice"] == [
        spoken[0]["metadata"]["notice"]
    ]

    # The complainant opens the chat page again: the history shows the notice and the question, once each.
    before = shown(page)
    page.context.close()
    again = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE, conversation_id[len(SENDER_PREFIX) :])
    wait_ready(again)
    assert shown(again) == before
    assert_no_duplicates(again)
    expect(again.locator(".quick-replies:not([hidden]) button")).to_have_text(["满意", "基本满意", "不满意"])
    again.context.close()


def test_an_extension_reaches_a_rest_client_in_its_mailbox_once(assistant):
    sender = f"notice-rest-{time.time_ns()}"
    assistant.say(sender, "你好")
    ticket_no = submit(
        assistant.db, assistant.settings, datetime.now(timezone.utc), {"assignee": "li"}, conversation_id=sender
    )
    lifecycle = Lifecycle(assistant.db, assistant.settings)
    ticket = lifecycle.mark_complex(ticket_no, "涉及多家医院", 1, AGENT_LI)
    queued_at = time.time()
    lifecycle.approve_extension(ticket_no, ticket["version"], SUPERVISOR, days=10, reason="需调取多家医院病历")

    send(assistant)
    assert notices_of(assistant, ticket_no) == [("extension", "sent", ["sent"])]
    message = wait_for_message(assistant, sender, queued_at, "延期原因：需调取多家医院病历")
    assert ticket_no in message["text"] and "处理期限延长至" in message["text"]
    send(assistant)
    assert notices_of(assistant, ticket_no) == [("extension", "sent", ["sent"])]
    assert [m["text"] for m in mailbox(assistant, sender, queued_at)] == [message["text"]]


def test_a_result_notice_gives_a_rest_client_the_rating_buttons(assistant):
    sender = f"notice-rest-rating-{time.time_ns()}"
    assistant.say(sender, "你好")
    ticket_no = worked_to_feedback(assistant, sender, "rest")
    queued_at = time.time()
    Lifecycle(assistant.db, assistant.settings).advance(ticket_no, "closed", _closing(), 1, AGENT_LI)
    send(assistant)
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent"])]
    wait_for_message(assistant, sender, queued_at, "核实情况")
    question = wait_for_message(assistant, sender, queued_at, "请您对本次投诉处理进行评价")
    assert [button["title"] for button in question["buttons"]] == ["满意", "基本满意", "不满意"]
    assert question["buttons"][2]["payload"] == '/rate{"rating":"dissatisfied"}'


def test_a_notice_sent_by_wechat_is_kept_in_the_conversation_where_its_rating_is_answered(assistant):
    sender = f"wx:notice-{time.time_ns()}"
    ticket_no = worked_to_feedback(assistant, sender, "wechat")
    Lifecycle(assistant.db, assistant.settings).advance(ticket_no, "follow_up", {}, 1, AGENT_LI)
    wechat = ScriptedRoute("wechat")  # WeChat's servers cannot be reached from here
    send(assistant, wechat=wechat)
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent"])] and len(wechat.delivered) == 1
    # Recorded, not sent again: the conversation's history has it and the rating slot names the notice.
    events = assistant.tracker(sender)["events"]
    kept = [
        e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("notice") == wechat.delivered[0].key
    ]
    assert [e["metadata"]["notice_kind"] for e in kept] == ["result", "rating"]
    assert assistant.tracker(sender)["slots"]["rating_notice"] == wechat.delivered[0].key


def _closing() -> dict:
    return {
        "follow_up_reached": False,
        "root_cause_controllable": True,
        "root_cause_category": "service_timeliness",
        "improvement_action": "理赔审核设置超时提醒",
    }
