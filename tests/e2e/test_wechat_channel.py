"""The WeChat channel inside a real Rasa server (trained model, action server),
talking to the fake WeChat API (a loopback test double: WeChat's servers are
unreachable from here). One server pair for the whole module."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, Iterator, List, Tuple

import pytest
import requests
import yaml

from bot.channels.wechat import recent_delivery_failures
from bot.channels.wechat.webhook import UNSUPPORTED_TEXT
from tests.assistant import TOKEN as RASA_TOKEN
from tests.assistant import Assistant, running_assistant
from tests.bot.channels.wechat.callbacks import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TOKEN,
    Callbacks,
    event_xml,
    media_xml,
    new_msg_id,
    new_openid,
    text_xml,
)
from tests.bot.channels.wechat.fake_api import FakeWeChatApi
from tests.e2e.notice_delivery import RESULT, append, notice_events, ticket, ticket_with_result

CHANNEL = "bot.channels.wechat.channel.WeChatInput"
SLOW_CHANNEL = "tests.e2e.slow_wechat_channel.SlowWeChatInput"
CALLBACKS = Callbacks()


@dataclass
class WeChatSetup:
    assistant: Assistant
    fake: FakeWeChatApi

    def post(self, query: Dict[str, str], body: bytes, channel: str = "wechat") -> requests.Response:
        return requests.post(
            f"{self.assistant.url}/webhooks/{channel}/webhook",
            params=query,
            data=body,
            headers={"Content-Type": "text/xml"},
            timeout=30,
        )

    def user_texts(self, openid: str) -> List[str]:
        events = self.assistant.tracker(f"wx:{openid}").get("events") or []
        return [event.get("text") for event in events if event["event"] == "user"]


def _credentials(fake_url: str) -> Dict:
    common = {
        "token": TOKEN,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "encoding_aes_key": AES_KEY,
        "mode": "safe",
        "api_base_url": fake_url,
    }
    return {
        "rest": None,
        CHANNEL: {**common, "passive_reply_seconds": 4.5},
        SLOW_CHANNEL: {**common, "passive_reply_seconds": 0},
    }


@pytest.fixture(scope="module")
def wechat(tmp_path_factory) -> Iterator[WeChatSetup]:
    fake = FakeWeChatApi(APP_ID, APP_SECRET).start()
    var = tmp_path_factory.mktemp("wechat-e2e")
    credentials = var / "wechat-credentials.yml"
    credentials.write_text(yaml.safe_dump(_credentials(fake.url)))
    try:
        with running_assistant(var, credentials) as assistant:
            yield WeChatSetup(assistant, fake)
    finally:
        fake.stop()
    rasa_log = (var / "rasa.log").read_text()
    assert AES_KEY not in rasa_log and APP_SECRET not in rasa_log, "a WeChat secret was logged"


def test_url_verification(wechat):
    query = {**CALLBACKS.query(), "echostr": "1234567890123"}
    answer = requests.get(f"{wechat.assistant.url}/webhooks/wechat/webhook", params=query, timeout=10)
    assert answer.status_code == 200 and answer.text == "1234567890123"
    forged = {**query, "signature": "0" * 40}
    assert requests.get(f"{wechat.assistant.url}/webhooks/wechat/webhook", params=forged, timeout=10).status_code == 403


def test_an_encrypted_message_gets_an_encrypted_passive_reply(wechat):
    openid = new_openid()
    answer = wechat.post(*CALLBACKS.encrypted(text_xml(openid, "你好", new_msg_id())))
    assert answer.status_code == 200
    assert "<Content>" not in answer.text  # nothing readable outside the encryption
    reply = CALLBACKS.open_reply(answer.text)
    assert reply["ToUserName"] == openid and reply["MsgType"] == "text"
    assert "投诉" in reply["Content"] and "可回复：我要投诉" in reply["Content"]
    assert wechat.user_texts(openid) == ["你好"]
    tracker = wechat.assistant.tracker(f"wx:{openid}")
    assert tracker["latest_input_channel"] == "wechat"
    assert wechat.fake.delivered(openid) == []  # answered passively, no API call


def test_retries_of_a_slow_message_run_one_turn_and_deliver_once(wechat):
    openid = new_openid()
    query, body = CALLBACKS.encrypted(text_xml(openid, "你好", new_msg_id()))
    first = wechat.post(query, body, channel="wechat_slow")
    # WeChat's retries are byte-identical; two of them race each other.
    with ThreadPoolExecutor(2) as pool:
        retries = list(pool.map(lambda _: wechat.post(query, body, channel="wechat_slow"), range(2)))
    assert [r.text for r in [first, *retries]] == ["success"] * 3
    assert wechat.fake.wait_for(lambda: wechat.fake.delivered(openid), timeout=60)
    time.sleep(2)  # a second turn or delivery would show up by now
    [delivered] = wechat.fake.delivered(openid)
    assert "投诉" in delivered and "可回复：" in delivered  # the turn's texts merged into one message
    assert wechat.user_texts(openid) == ["你好"]


def test_rejected_callbacks_never_reach_rasa(wechat):
    cases: List[Tuple[str, Tuple[Dict[str, str], bytes], int]] = []
    forged_openid = new_openid()
    query, body = CALLBACKS.encrypted(text_xml(forged_openid, "你好", new_msg_id()))
    cases.append((forged_openid, ({**query, "msg_signature": "a" * 40}, body), 403))
    stale_openid = new_openid()
    cases.append(
        (
            stale_openid,
            CALLBACKS.encrypted(text_xml(stale_openid, "你好", new_msg_id()), timestamp=int(time.time()) - 3600),
            403,
        )
    )
    xxe_openid = new_openid()
    xxe = (
        text_xml(xxe_openid, "&xxe;", new_msg_id())
        .replace("<xml>", '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml>', 1)
        .replace("<![CDATA[&xxe;]]>", "&xxe;")
    )
    cases.append((xxe_openid, CALLBACKS.encrypted(xxe), 400))
    big_openid = new_openid()
    cases.append((big_openid, CALLBACKS.encrypted(text_xml(big_openid, "长" * 30000, new_msg_id())), 413))
    plain_openid = new_openid()  # safe mode: a plaintext body is unauthenticated
    cases.append((plain_openid, CALLBACKS.plain(text_xml(plain_openid, "你好", new_msg_id())), 403))
    for openid, (query, body), status in cases:
        assert wechat.post(query, body).status_code == status, openid
    time.sleep(1)
    for openid, _, _ in cases:
        assert wechat.user_texts(openid) == [], openid
    assert all(wechat.fake.delivered(openid) == [] for openid, _, _ in cases)


def test_events_and_unsupported_messages(wechat):
    openid = new_openid()
    welcome = wechat.post(*CALLBACKS.encrypted(event_xml(openid, "subscribe")))
    assert "您好" in CALLBACKS.open_reply(welcome.text)["Content"]
    image = wechat.post(*CALLBACKS.encrypted(media_xml(openid, "image", new_msg_id())))
    assert CALLBACKS.open_reply(image.text)["Content"] == UNSUPPORTED_TEXT
    click = wechat.post(*CALLBACKS.encrypted(event_xml(openid, "CLICK", "CLAIM_MATERIALS")))
    assert "材料" in CALLBACKS.open_reply(click.text)["Content"]
    assert wechat.post(*CALLBACKS.encrypted(event_xml(openid, "unsubscribe"))).text == "success"
    # The image and the unsubscribe never reached Rasa; the menu click arrived as its intent.
    assert wechat.user_texts(openid) == ["/greet", "/ask_claim_materials"]


def test_during_a_handoff_user_and_agent_messages_cross_through_wechat(wechat):
    openid = new_openid()
    sender = f"wx:{openid}"
    wechat.post(*CALLBACKS.encrypted(text_xml(openid, "你好", new_msg_id())))
    assert wechat.assistant.api("POST", f"/conversations/{sender}/tracker/events", json={"event": "pause"}).ok
    waiting = wechat.post(*CALLBACKS.encrypted(text_xml(openid, "我的理赔到底怎么样了？", new_msg_id())))
    assert waiting.text == "success"  # the bot stays silent while a human holds the conversation
    events = wechat.assistant.tracker(sender)["events"]
    paused = max(i for i, event in enumerate(events) if event["event"] == "pause")
    since_pause = events[paused + 1 :]
    # Logged for the desk to read, and nothing said by the bot.
    assert [e["text"] for e in since_pause if e["event"] == "user"] == ["我的理赔到底怎么样了？"]
    assert not [e for e in since_pause if e["event"] == "bot"]

    # The agent desk's call (see the contract with the desk).
    answer = requests.post(
        f"{wechat.assistant.url}/conversations/{sender}/tracker/events",
        params={"token": RASA_TOKEN, "execute_side_effects": "true", "output_channel": "latest"},
        json={
            "event": "bot",
            "text": "您好，我来帮您查一下理赔进度。",
            "metadata": {"agent": {"id": 3, "name": "王小明"}},
        },
        timeout=30,
    )
    assert answer.ok
    assert wechat.fake.wait_for(lambda: wechat.fake.delivered(openid), timeout=30)
    assert wechat.fake.delivered(openid) == ["【人工客服 · 王小明】\n您好，我来帮您查一下理赔进度。"]


def test_undeliverable_agent_messages_are_recorded_for_the_desk(wechat):
    openid = new_openid()
    sender = f"wx:{openid}"
    wechat.post(*CALLBACKS.encrypted(text_xml(openid, "你好", new_msg_id())))
    wechat.fake.fail_next_sends((45015, "response out of time limit or subscription is canceled"))
    answer = requests.post(
        f"{wechat.assistant.url}/conversations/{sender}/tracker/events",
        params={"token": RASA_TOKEN, "execute_side_effects": "true", "output_channel": "latest"},
        json={"event": "bot", "text": "您还在吗？", "metadata": {"agent": {"id": 3, "name": "王小明"}}},
        timeout=30,
    )
    assert answer.ok  # a refused delivery never breaks the desk's call
    [failure] = recent_delivery_failures(wechat.assistant.db, conversation_id=sender)
    assert failure["code"] == "45015" and failure["channel"] == "wechat" and "48小时" in failure["message"]
    assert wechat.fake.delivered(openid) == []


def test_a_burst_of_quick_messages_is_answered_once(wechat):
    openid = new_openid()
    texts = ["在吗", "你好", "我要投诉", "你们理赔拖了三个月了太过分了", "到现在一分钱没赔"]
    answers = [wechat.post(*CALLBACKS.encrypted(text_xml(openid, texts[0], new_msg_id())))]
    with ThreadPoolExecutor(len(texts)) as pool:
        futures = []
        for text in texts[1:]:
            futures.append(pool.submit(wechat.post, *CALLBACKS.encrypted(text_xml(openid, text, new_msg_id()))))
            time.sleep(0.15)
        answers += [future.result() for future in futures]
    time.sleep(2)  # anything pushed through the API has arrived by now
    said = [CALLBACKS.open_reply(a.text)["Content"] for a in answers if a.text != "success"]
    said += wechat.fake.delivered(openid)
    assert sum("可回复：我要投诉" in text for text in said) == 1, said  # the welcome menu
    assert sum("深表歉意" in text for text in said) == 1, said  # one angry claim complaint, apologised for once
    assert sum("请提供涉及的保单号" in text for text in said) == 1, said
    assert not any("格式不正确" in text for text in said), said
    assert "\n".join(wechat.user_texts(openid)) == "\n".join(texts)


def test_a_wechat_user_asks_the_status_without_a_number_and_rates_the_result_by_number(wechat):
    openid = new_openid()
    sender = f"wx:{openid}"
    assistant = wechat.assistant

    def say(text: str) -> str:
        answer = wechat.post(*CALLBACKS.encrypted(text_xml(openid, text, new_msg_id())))
        return CALLBACKS.open_reply(answer.text)["Content"]

    say("你好")
    ticket_no, key = ticket_with_result(assistant, sender, channel="wechat")
    # Found from the OpenID: no number, no phone; the result notice is read out with it.
    status = say("我的投诉怎么样了")
    assert ticket_no in status and "跟进" in status and RESULT[:10] in status
    append(assistant, sender, notice_events(key))
    assert wechat.fake.wait_for(lambda: any("评价" in m for m in wechat.fake.delivered(openid)), timeout=30)
    assert "不满意的原因" in say("3")
    told = say("结果不公平")
    assert "退回重新处理" in told and "核查" in told
    assert ticket(assistant, ticket_no)["status"] == "processing"


def test_a_burst_of_greetings_gets_one_welcome(wechat):
    openid = new_openid()
    texts = ["你好", "在吗", "有人吗", "人呢？？"]
    answers = [wechat.post(*CALLBACKS.encrypted(text_xml(openid, texts[0], new_msg_id())))]
    with ThreadPoolExecutor(len(texts)) as pool:
        futures = []
        for text in texts[1:]:
            futures.append(pool.submit(wechat.post, *CALLBACKS.encrypted(text_xml(openid, text, new_msg_id()))))
            time.sleep(0.15)
        answers += [future.result() for future in futures]
    time.sleep(2)  # anything pushed through the API has arrived by now
    said = [CALLBACKS.open_reply(a.text)["Content"] for a in answers if a.text != "success"]
    said += wechat.fake.delivered(openid)
    assert sum("可回复：我要投诉" in text for text in said) == 1, said  # the welcome menu, once
    assert "\n".join(wechat.user_texts(openid)) == "\n".join(texts)
