"""The REST channel's webhook on the real Rasa server: what it refuses, the conversation secret, the rate limit.

(A turn failing inside Rasa is answered 503 with an apology: tests/e2e/production/test_faults.py
stops the lock store's Redis to cause one.)
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.channels import TOO_LONG_TEXT
from bot.channels.conversation_ids import BAD_ID_TEXT, RESERVED_ID_TEXT, is_safe_id
from bot.channels.conversation_secret import (
    HEADER as SECRET_HEADER,
)
from bot.channels.conversation_secret import (
    MISSING_SECRET_TEXT,
    WRONG_SECRET_TEXT,
)
from bot.channels.rate_limit import RATE_LIMITED_TEXT
from bot.handoff import HandoffService
from bot.settings import Settings
from bot.validators import MAX_TEXT_LENGTH
from tests.assistant import Assistant
from tests.e2e.loopback import client_at, fresh_address


def post(assistant: Assistant, **kwargs) -> requests.Response:
    return requests.post(f"{assistant.url}/webhooks/rest/webhook", timeout=60, **kwargs)


def user_events(assistant: Assistant, sender: str) -> list:
    return [event for event in assistant.tracker(sender)["events"] if event["event"] == "user"]


@pytest.mark.parametrize(
    "body",
    [
        {"message": "你好"},  # Rasa would put it in the conversation everyone without a sender shares
        {"sender": "", "message": "你好"},
        {"sender": "s" * 256, "message": "你好"},
        {"sender": 42, "message": "你好"},
        {"sender": "someone", "message": {"text": "你好"}},
        {"sender": "someone"},
        ["someone", "你好"],
    ],
)
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
ODD_SENDERS = [
    "张三的会话",
    "with space",
    "a/b",
    "a?b",
    "a#b",
    "a%2Fb",
    "../tracker",
    "tab\tid",
    "s" * 129,
    "x.y",
    "-flag",
    "_x",
]


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


# --- the conversation secret (finding 6) ------------------------------------------------


def mailbox(assistant: Assistant, sender: str, **headers: str) -> requests.Response:
    return requests.post(
        f"{assistant.url}/webhooks/rest/messages", json={"sender": sender, "after": 0}, headers=headers, timeout=60
    )


def test_the_first_answer_carries_the_secret_that_later_messages_need(assistant):
    sender = f"rest-{uuid.uuid4().hex}"
    first = post(assistant, json={"sender": sender, "message": "你好"})
    assert first.status_code == 200 and isinstance(first.json(), list) and first.json()  # Rasa's format
    secret = first.headers[SECRET_HEADER]
    assert len(secret) >= 40 and first.headers["Cache-Control"] == "no-store"

    for headers, expected in (
        ({}, MISSING_SECRET_TEXT),
        ({SECRET_HEADER: secret[:-1] + "x"}, WRONG_SECRET_TEXT),
        ({SECRET_HEADER: "密钥".encode().decode("latin-1")}, WRONG_SECRET_TEXT),
    ):
        refused = post(assistant, json={"sender": sender, "message": "我要投诉"}, headers=headers)
        assert refused.status_code == 403 and refused.json()["error"] == expected
    assert [e["text"] for e in user_events(assistant, sender)] == ["你好"]

    again = post(assistant, json={"sender": sender, "message": "我要投诉"}, headers={SECRET_HEADER: secret})
    assert again.status_code == 200 and again.json() and SECRET_HEADER not in again.headers
    in_body = post(assistant, json={"sender": sender, "message": "理赔纠纷", "secret": secret})
    assert in_body.status_code == 200 and in_body.json()
    assert [e["text"] for e in user_events(assistant, sender)] == ["你好", "我要投诉", "理赔纠纷"]


def test_the_mailbox_is_read_only_with_the_conversations_secret(assistant):
    owner, other = f"rest-{uuid.uuid4().hex}", f"rest-{uuid.uuid4().hex}"
    secret = post(assistant, json={"sender": owner, "message": "你好"}).headers[SECRET_HEADER]
    other_secret = post(assistant, json={"sender": other, "message": "你好"}).headers[SECRET_HEADER]
    assert mailbox(assistant, owner).status_code == 403
    assert mailbox(assistant, owner).json()["error"] == MISSING_SECRET_TEXT
    refused = mailbox(assistant, owner, **{SECRET_HEADER: other_secret})
    assert refused.status_code == 403 and refused.json()["error"] == WRONG_SECRET_TEXT
    read = mailbox(assistant, owner, **{SECRET_HEADER: secret})
    assert read.status_code == 200 and "投诉" in read.json()["messages"][0]["text"]
    assert read.headers["Cache-Control"] == "no-store"


def test_other_channels_conversations_are_out_of_reach(assistant):
    web = f"web-{uuid.uuid4()}"
    assistant.api(
        "POST", f"/conversations/{web}/tracker/events", json=[{"event": "bot", "text": "网页会话里的客服消息"}]
    ).raise_for_status()
    for sender in (web, web.upper(), "web-anything"):
        for path, body in (("webhook", {"sender": sender, "message": "转人工"}), ("messages", {"sender": sender})):
            refused = requests.post(f"{assistant.url}/webhooks/rest/{path}", json=body, timeout=60)
            assert refused.status_code == 403 and refused.json()["error"] == RESERVED_ID_TEXT, (sender, path)
    # WeChat's ids (wx:<OpenID>) are outside the REST alphabet altogether.
    wechat = post(assistant, json={"sender": "wx:oAbCdEfGhIjKlMnOpQrStUvWxYz0", "message": "转人工"})
    assert wechat.status_code == 400
    assert user_events(assistant, web) == []
    assert assistant.tracker(web)["latest_input_channel"] is None


def test_of_first_messages_racing_for_one_new_id_only_one_gets_in(assistant):
    sender = f"rest-{uuid.uuid4().hex}"
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda text: post(assistant, json={"sender": sender, "message": text}),
                ["你好", "我要投诉", "转人工", "理赔需要什么材料"],
            )
        )
    assert sorted(a.status_code for a in answers) == [200, 403, 403, 403]
    [winner] = [a for a in answers if a.status_code == 200]
    assert SECRET_HEADER in winner.headers
    assert all(SECRET_HEADER not in a.headers for a in answers if a is not winner)
    assert len(user_events(assistant, sender)) == 1


# --- what reaches Rasa of a message (finding 8) ----------------------------------------


class Conversation:
    """A REST client keeping its conversation's secret."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant, self.sender, self.secret = assistant, f"rest-{uuid.uuid4().hex}", ""

    def send(self, text: str) -> requests.Response:
        headers = {SECRET_HEADER: self.secret} if self.secret else {}
        answer = post(self.assistant, json={"sender": self.sender, "message": text}, headers=headers)
        self.secret = answer.headers.get(SECRET_HEADER, self.secret)
        return answer

    def user_events(self) -> list:
        return user_events(self.assistant, self.sender)


def test_a_lone_surrogate_is_replaced_and_the_conversation_goes_on(assistant):
    conversation = Conversation(assistant)
    first = conversation.send("我要投诉\ud800")  # JSON "\ud800": not encodable as UTF-8
    assert first.status_code == 200 and first.json()
    for text in ("理赔纠纷", "跳过"):
        answer = conversation.send(text)
        assert answer.status_code == 200 and answer.json(), answer.text
    assert [e["text"] for e in conversation.user_events()] == ["我要投诉\ufffd", "理赔纠纷", "跳过"]


def test_typed_intent_syntax_is_text_but_an_offered_button_is_an_intent(assistant):
    conversation = Conversation(assistant)
    greeting = conversation.send("你好").json()
    assert "/request_human" in [b["payload"] for m in greeting for b in m.get("buttons", [])]
    conversation.send("/escalation_threat")
    conversation.send('/check_ticket_status{"ticket_id":"TS20261128000001","phone_number":"13812345678"}')
    threat, lookup = conversation.user_events()[1:]
    # Ordinary text for the NLU (which may still recognise what it says, as for any typed text).
    assert threat["text"] == "／escalation_threat" and lookup["text"].startswith("／check_ticket_status{")
    assert threat["parse_data"]["intent"]["name"] != "escalation_threat"
    assert not [
        r
        for r in HandoffService(assistant.db, assistant.settings).list()
        if r["conversation_id"] == conversation.sender
    ]

    # A button of the bot's latest answer is what apps send when it is tapped.
    conversation.send("你好")
    conversation.send("/complain")
    tapped = conversation.user_events()[-1]
    assert tapped["text"] == "/complain" and tapped["parse_data"]["intent"]["name"] == "complain"


# --- requests per client address (finding 1) --------------------------------------------
# The session's servers exempt 127.0.0.1 (tests/assistant.py), so the suite's own traffic is
# not limited; these tests speak from other loopback addresses, under the default limit.


def test_one_address_is_limited_to_a_burst_then_a_rate_and_told_so_in_chinese(assistant):
    settings = Settings.from_env({})
    assert (settings.channel_rate_per_minute, settings.channel_rate_burst) == (60, 30)
    address = fresh_address()
    client = client_at(address)
    started = time.monotonic()
    codes = [
        client.post(f"{assistant.url}/webhooks/rest/messages", json={"sender": "x y"}, timeout=30).status_code
        for _ in range(45)
    ]
    allowed = codes.count(400)
    assert 30 <= allowed <= 30 + int(time.monotonic() - started) + 1 and codes.count(429) == 45 - allowed
    assert codes[-1] == 429

    refused = client.post(
        f"{assistant.url}/webhooks/rest/webhook",
        json={"sender": f"rest-{uuid.uuid4().hex}", "message": "查询投诉进度"},
        timeout=30,
    )
    assert refused.status_code == 429 and refused.json() == [{"text": RATE_LIMITED_TEXT}]
    assert int(refused.headers["Retry-After"]) >= 1
    mailbox = client.post(f"{assistant.url}/webhooks/rest/messages", json={"sender": "x"}, timeout=30)
    assert mailbox.status_code == 429 and mailbox.json() == {"error": RATE_LIMITED_TEXT}
    # A forwarded-for header from a client that is not a trusted proxy changes nothing.
    forged = client.post(
        f"{assistant.url}/webhooks/rest/webhook",
        headers={"X-Forwarded-For": "198.51.100.9"},
        json={"sender": f"rest-{uuid.uuid4().hex}", "message": "你好"},
        timeout=30,
    )
    assert forged.status_code == 429
    # Other addresses are not affected.
    other = client_at(fresh_address()).post(
        f"{assistant.url}/webhooks/rest/webhook",
        json={"sender": f"rest-{uuid.uuid4().hex}", "message": "你好"},
        timeout=60,
    )
    assert other.status_code == 200 and other.json()


def test_the_client_address_is_passed_on_for_the_status_look_up_limits(assistant):
    address = fresh_address()
    sender = f"rest-{uuid.uuid4().hex}"
    answer = client_at(address).post(
        f"{assistant.url}/webhooks/rest/webhook", json={"sender": sender, "message": "你好"}, timeout=60
    )
    assert answer.status_code == 200
    [event] = user_events(assistant, sender)
    assert event["metadata"]["client_address"] == address
    # An exempt address (here the tests' own) speaks for many users: not passed on.
    exempt = f"rest-{uuid.uuid4().hex}"
    assistant.say(exempt, "你好")
    assert "client_address" not in (user_events(assistant, exempt)[0].get("metadata") or {})
