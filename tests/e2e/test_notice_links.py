"""A complainant reached only by SMS (a desk or phone ticket) opens the notice's link in the chat page, reads
the result and rates it; a bad link gets a Chinese message and an ordinary chat.

The SMS goes through the real SDK to the loopback fake of Alibaba Cloud's endpoint (a test double); the link
it carries opens the real chat page on the real Rasa server in Chromium."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.lifecycle import Lifecycle
from bot.models import Rating, Ticket
from bot.notice_links import link
from bot.notice_routes.sms import SmsRoute
from bot.replies import NOTICE_LINK_REFUSED, RATING_LABELS
from tests.bot.notice_routes.sms_fake import FakeAlibabaSms
from tests.bot.sample_tickets import AGENT_LI
from tests.e2e.browser import PHONE, save_screenshot
from tests.e2e.chat_page import bot_texts, click, open_chat, say, wait_ready
from tests.e2e.outbox import notices_of, send, worked_to_feedback

KEY_ID, KEY_SECRET, SIGN, TEMPLATE = "LTAI5tLinkTests", "link-test-secret-0123456789", "某某保险", "SMS_480000002"
RATING_BUTTONS = list(RATING_LABELS.values())


@pytest.fixture(scope="module")
def alibaba() -> Iterator[FakeAlibabaSms]:
    server = FakeAlibabaSms(KEY_ID, KEY_SECRET, SIGN).start()
    # The approved template: …请点击 <chat page>?n=${link} 查看详情并评价 (the address is fixed text).
    server.add_template(TEMPLATE, "ticket_no", "kind", "link")
    yield server
    server.stop()


def _sms_route(assistant, alibaba: FakeAlibabaSms) -> SmsRoute:
    settings = replace(
        assistant.settings,
        sms_access_key_id=KEY_ID,
        sms_access_key_secret=KEY_SECRET,
        sms_sign_name=SIGN,
        sms_template_code=TEMPLATE,
        sms_template_fields="ticket_no=ticket_no,kind=kind_label,link=chat_token",
        sms_endpoint=alibaba.url,
        chat_page_url=_page(assistant),
    )
    return SmsRoute(settings)


def _page(assistant) -> str:
    return f"{assistant.url}/webhooks/web/"


def _satisfaction(assistant, ticket_no: str):
    with assistant.db.transaction() as session:
        return session.execute(select(Ticket.satisfaction).where(Ticket.ticket_no == ticket_no)).scalar()


def test_a_desk_complainant_opens_the_sms_link_reads_the_result_and_rates_it(assistant, chromium, alibaba):
    ticket_no = worked_to_feedback(assistant, f"desk-{uuid.uuid4().hex[:12]}", "desk")
    Lifecycle(assistant.db, assistant.settings).advance(ticket_no, "follow_up", {}, 1, AGENT_LI)  # 反馈 done
    send(assistant, sms=_sms_route(assistant, alibaba))
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent"])]
    [sms] = [m for m in alibaba.messages if m["TemplateParam"]["ticket_no"] == ticket_no]
    token = sms["TemplateParam"]["link"]
    assert len(token) <= 35

    page = open_chat(chromium, link(_page(assistant), token), PHONE)
    wait_ready(page)
    result = page.locator(".message.from-bot .bubble", has_text="核实情况")
    expect(result).to_have_count(1)
    assert ticket_no in result.text_content() and "12378" in result.text_content()
    expect(page.locator(".quick-replies:not([hidden]) button")).to_have_text(RATING_BUTTONS)
    assert "n=" not in page.url  # the token left the address bar
    save_screenshot(page, "notice-link-opened-phone")

    answer = click(page, "满意")
    assert any("感谢您的评价" in text for text in answer), answer
    assert _satisfaction(assistant, ticket_no) == "satisfied"
    with assistant.db.transaction() as session:
        ratings = session.execute(
            select(Rating.rating, Rating.conversation_id).join(Ticket).where(Ticket.ticket_no == ticket_no)
        ).all()
    assert [rating for rating, _ in ratings] == ["satisfied"] and ratings[0][1].startswith("web-")

    # The same link opened again in this browser: the conversation shows the notice once.
    page.goto(link(_page(assistant), token))
    wait_ready(page)
    page.wait_for_timeout(1500)  # time for a second copy to arrive, were one sent
    expect(page.locator(".message.from-bot .bubble", has_text="核实情况")).to_have_count(1)
    page.context.close()


def test_a_bad_link_says_so_in_chinese_and_the_chat_goes_on(assistant, chromium, alibaba):
    ticket_no = worked_to_feedback(assistant, f"phone-{uuid.uuid4().hex[:12]}", "phone")
    Lifecycle(assistant.db, assistant.settings).advance(ticket_no, "follow_up", {}, 1, AGENT_LI)
    send(assistant, sms=_sms_route(assistant, alibaba))
    [sms] = [m for m in alibaba.messages if m["TemplateParam"]["ticket_no"] == ticket_no]
    token = sms["TemplateParam"]["link"]
    # One letter of the signature changed: it no longer matches, nothing of the notice is shown.
    tampered = token[:20] + ("a" if token[20] != "a" else "b") + token[21:]

    page = open_chat(chromium, link(_page(assistant), tampered), PHONE)
    wait_ready(page)
    expect(page.locator(".message.from-bot .bubble", has_text="该链接无效")).to_have_count(1)
    assert NOTICE_LINK_REFUSED["forged"] in bot_texts(page)
    expect(page.locator(".message.from-bot .bubble", has_text="核实情况")).to_have_count(0)
    assert ticket_no not in " ".join(bot_texts(page))
    assert say(page, "你好")  # an ordinary chat
    assert _satisfaction(assistant, ticket_no) is None
    page.context.close()
