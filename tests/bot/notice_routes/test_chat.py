"""The chat route's events (the contract with the rating dialogue) and its failures; delivery into a real
conversation is tested against a real Rasa in tests/e2e/test_notices.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.launch.ports import free_port
from bot.notice_routes.chat import ChatRoute, delivered, notice_events
from bot.notice_routes.route import DeliveryError, OutgoingNotice

RESULT = OutgoingNotice(
    key="result:7:v4",
    kind="result",
    ticket_no="TS20260601000001",
    conversation_id="web-0b8e7f52-3d7c-4a55-9a57-2f1f1f0e6c11",
    channel="web",
    text="您好，您的投诉（编号：TS20260601000001）已处理完毕……",
    asks_rating=True,
)


def test_a_result_notice_is_the_message_then_the_rating_question_with_its_buttons():
    assert notice_events(RESULT) == [
        {
            "event": "bot",
            "text": RESULT.text,
            "metadata": {"notice": "result:7:v4", "notice_kind": "result"},
        },
        {"event": "slot", "name": "rating_notice", "value": "result:7:v4"},
        {
            "event": "bot",
            "text": "请您对本次投诉处理进行评价：回复“1”满意，“2”基本满意，“3”不满意，或点选下面的按钮。",
            "data": {
                "buttons": [
                    {"title": "满意", "payload": '/rate{"rating":"satisfied"}'},
                    {"title": "基本满意", "payload": '/rate{"rating":"basically_satisfied"}'},
                    {"title": "不满意", "payload": '/rate{"rating":"dissatisfied"}'},
                ]
            },
            "metadata": {"notice": "result:7:v4", "notice_kind": "rating"},
        },
    ]


def test_a_notice_without_a_rating_is_one_message_and_an_acknowledgement_remembers_the_number():
    extension = replace(RESULT, key="extension:7:v2", kind="extension", asks_rating=False)
    assert [event["event"] for event in notice_events(extension)] == ["bot"]
    acknowledgement = replace(RESULT, key="acknowledgement:7", kind="acknowledgement", asks_rating=False)
    assert notice_events(acknowledgement)[0] == {
        "event": "slot",
        "name": "last_ticket_no",
        "value": "TS20260601000001",
    }


def test_a_delivered_notice_is_recognised_by_its_key_on_a_bot_message_only():
    events = notice_events(RESULT)
    assert delivered([{"event": "user", "text": "hi"}, *events], "result:7:v4")
    assert not delivered(events, "result:7:v5")
    assert not delivered([{"event": "user", "metadata": {"notice": "result:7:v4"}}], "result:7:v4")
    assert not delivered([{"event": "bot", "metadata": "result:7:v4"}], "result:7:v4")


def failure(route: ChatRoute, notice: OutgoingNotice) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(route.deliver(notice))
    return caught.value


def test_rasa_down_is_a_failure_worth_retrying(settings):
    route = ChatRoute(replace(settings, rasa_url=f"http://127.0.0.1:{free_port()}"))  # nothing listens there
    assert route.name == "chat" and route.unavailable() is None
    error = failure(route, RESULT)
    assert error.code == "rasa_unavailable" and error.retryable


def test_a_ticket_without_a_reachable_conversation_fails_for_good(settings):
    route = ChatRoute(replace(settings, rasa_url=f"http://127.0.0.1:{free_port()}"))
    for conversation_id, code in (("", "no_conversation"), ("网页 会话", "unaddressable")):
        error = failure(route, replace(RESULT, conversation_id=conversation_id))
        assert error.code == code and not error.retryable
