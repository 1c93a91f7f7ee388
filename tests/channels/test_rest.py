import uuid

import pytest
import requests

from bot.channels import TOO_LONG_TEXT
from bot.channels.conversation_ids import BAD_ID_TEXT, is_safe_id
from bot.channels.rest import MAX_MESSAGES, bot_messages_after
from bot.validators import MAX_TEXT_LENGTH
from tests.assistant import Assistant


def test_the_mailbox_returns_bot_and_agent_messages_newer_than_asked():
    events = [
        {"event": "user", "text": "转人工", "timestamp": 1.0},
        {"event": "bot", "text": "已为您转接", "timestamp": 2.0},
        {"event": "bot", "text": "我是客服王小明", "timestamp": 3.0, "metadata": {"agent": {"name": "王小明"}}},
    ]
    assert bot_messages_after(events, 1.5) == [
        {"text": "已为您转接", "timestamp": 2.0, "agent": None},
        {"text": "我是客服王小明", "timestamp": 3.0, "agent": "王小明"},
    ]
    assert bot_messages_after(events, 3.0) == []


def test_the_mailbox_is_bounded():
    events = [{"event": "bot", "text": str(i), "timestamp": float(i)} for i in range(1, 300)]
    messages = bot_messages_after(events, 0)
    assert len(messages) == MAX_MESSAGES and messages[-1]["text"] == "299"


# --- the webhook on the real Rasa server ------------------------------------------------
# (A turn failing inside Rasa is answered 503 with an apology: tests/production/test_faults.py
# stops the lock store's Redis to cause one.)

def post(assistant: Assistant, **kwargs) -> requests.Response:
    return requests.post(f"{assistant.url}/webhooks/rest/webhook", timeout=60, **kwargs)


def user_events(assistant: Assistant, sender: str) -> list:
    return [event for event in assistant.tracker(sender)["events"] if event["event"] == "user"]


@pytest.mark.parametrize("body", [
    {"message": "你好"},  # Rasa would put it in the conversation everyone without a sender shares
    {"sender": "", "message": "你好"},
    {"sender": "s" * 256, "message": "你好"},
    {"sender": 42, "message": "你好"},
    {"sender": "someone", "message": {"text": "你好"}},
    {"sender": "someone"},
    ["someone", "你好"],
])
def test_a_message_without_a_proper_sender_and_text_is_refused(assistant, body):
    response = post(assistant, json=body)
    assert response.status_code == 400 and "sender" in response.json()["error"]
    assert not user_events(assistant, "default")


def test_a_request_that_is_not_json_or_too_large_is_refused(assistant):
    assert post(assistant, data=b"{sender").status_code == 400
    huge = {"sender": "someone", "message": "a" * (70 * 1024)}
    assert post(assistant, json=huge).status_code == 400


def test_a_too_long_message_is_answered_in_chinese_and_not_processed(assistant):
    sender = f"rest-{uuid.uuid4().hex}"
    response = post(assistant, json={"sender": sender, "message": "投" * (MAX_TEXT_LENGTH + 1)})
    assert response.status_code == 200
    assert [m["text"] for m in response.json()] == [TOO_LONG_TEXT]
    assert not user_events(assistant, sender)


def test_a_client_cannot_name_another_channel_as_its_own(assistant):
    sender = f"rest-{uuid.uuid4().hex}"
    response = post(assistant, json={"sender": sender, "message": "你好", "input_channel": "wechat"})
    assert response.status_code == 200 and response.json()
    assert assistant.tracker(sender)["latest_input_channel"] == "rest"


# Ids the desk and Rasa's HTTP API quoted differently: agent replies went to phantom conversations.
ODD_SENDERS = ["张三的会话", "with space", "a/b", "a?b", "a#b", "a%2Fb", "../tracker", "tab\tid", "s" * 129, "x.y", "-flag", "_x"]


def test_a_conversation_id_is_letters_digits_underscore_and_hyphen():
    assert is_safe_id("rest-0f8fad5b_D9CB") and is_safe_id("s" * 128) and is_safe_id("a")
    for odd in ODD_SENDERS + ["", None, 42]:
        assert not is_safe_id(odd), odd


@pytest.mark.parametrize("sender", ODD_SENDERS)
def test_an_odd_sender_id_is_refused_in_chinese(assistant, sender):
    for path, body in (("webhook", {"sender": sender, "message": "你好"}), ("messages", {"sender": sender})):
        response = requests.post(f"{assistant.url}/webhooks/rest/{path}", json=body, timeout=60)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == BAD_ID_TEXT
