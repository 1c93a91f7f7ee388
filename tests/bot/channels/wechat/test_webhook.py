"""Authentication, opening and routing of callbacks, without a web server."""

from __future__ import annotations

import time

import pytest

from bot.channels.wechat.credentials import WeChatCredentials
from bot.channels.wechat.crypto import MessageCrypto, signature
from bot.channels.wechat.messages import parse_fields
from bot.channels.wechat.webhook import UNKNOWN_MENU_TEXT, UNSUPPORTED_TEXT, Rejected, Route, Webhook
from tests.bot.channels.wechat.callbacks import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TOKEN,
    Callbacks,
    event_xml,
    media_xml,
    text_xml,
)

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"


def webhook(mode: str = "safe", **extra) -> Webhook:
    return Webhook(
        WeChatCredentials.from_mapping(
            {
                "token": TOKEN,
                "app_id": APP_ID,
                "app_secret": APP_SECRET,
                "encoding_aes_key": AES_KEY,
                "mode": mode,
                **extra,
            }
        )
    )


def rejected(call, *args) -> Rejected:
    with pytest.raises(Rejected) as info:
        call(*args)
    return info.value


def test_url_verification_echoes_only_after_a_valid_signature():
    query = {**Callbacks().query(), "echostr": "5927782489442352469"}
    assert webhook().verify_url(query) == "5927782489442352469"
    forged = {**query, "signature": "0" * 40}
    assert rejected(webhook().verify_url, forged).status == 403
    assert rejected(webhook().verify_url, {**query, "echostr": "<script>"}).status == 400


def test_tencents_sample_signature_verifies_at_its_time():
    hook = Webhook(
        WeChatCredentials.from_mapping({"token": "spamtest", "app_id": APP_ID, "app_secret": "s", "mode": "plaintext"}),
        clock=lambda: 1409735669,
    )
    query = {
        "signature": "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
        "timestamp": "1409735669",
        "nonce": "1320562132",
        "echostr": "hello",
    }
    assert hook.verify_url(query) == "hello"


def test_an_encrypted_message_opens():
    query, body = Callbacks().encrypted(text_xml(OPENID, "我要投诉", "42"))
    opened = webhook().open(query, body)
    assert opened.encrypted and opened.message.content == "我要投诉" and opened.message.from_user == OPENID
    assert opened.request_signature == query["signature"]


def test_forged_signatures_are_refused():
    query, body = Callbacks().encrypted(text_xml(OPENID, "你好", "1"))
    assert rejected(webhook().open, {**query, "signature": "f" * 40}, body).status == 403
    assert rejected(webhook().open, {**query, "msg_signature": "f" * 40}, body).status == 403
    other_token = Callbacks(token="anothertoken")
    query2, body2 = other_token.encrypted(text_xml(OPENID, "你好", "2"))
    assert rejected(webhook().open, query2, body2).status == 403


def test_msg_signature_covers_the_ciphertext():
    callbacks = Callbacks()
    query, _ = callbacks.encrypted(text_xml(OPENID, "你好", "1"))
    _, other_body = callbacks.encrypted(text_xml(OPENID, "转人工", "2"))
    assert rejected(webhook().open, query, other_body).status == 403


def test_stale_and_future_timestamps_are_refused():
    callbacks = Callbacks()
    for timestamp in (int(time.time()) - 301, int(time.time()) + 301):
        query, body = callbacks.encrypted(text_xml(OPENID, "你好", "1"), timestamp=timestamp)
        assert "freshness" in rejected(webhook().open, query, body).reason
    query, body = callbacks.encrypted(text_xml(OPENID, "你好", "1"), timestamp=int(time.time()) - 200)
    assert webhook().open(query, body).message.content == "你好"


def test_digits_cannot_move_between_timestamp_and_nonce():
    # (ts=1409735669, nonce=1320562132) and (ts=9735669, nonce=1320562132140)
    # have the same sorted concatenation and therefore the same signature.
    assert signature("spamtest", "9735669", "1320562132140") == signature("spamtest", "1409735669", "1320562132")
    hook = Webhook(
        WeChatCredentials.from_mapping({"token": "spamtest", "app_id": APP_ID, "app_secret": "s", "mode": "plaintext"}),
        clock=lambda: 9735669,
    )
    query = {
        "signature": "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
        "timestamp": "9735669",
        "nonce": "1320562132140",
        "echostr": "x",
    }
    assert rejected(hook.verify_url, query).status == 400


def test_safe_mode_never_accepts_plaintext():
    query, body = Callbacks().plain(text_xml(OPENID, "你好", "1"))
    assert rejected(webhook("safe").open, query, body).status == 403
    # Even with encrypt_type=aes claimed, a body without Encrypt is refused.
    claimed = {**query, "encrypt_type": "aes", "msg_signature": "a" * 40}
    assert rejected(webhook("safe").open, claimed, body).status == 400


def test_compat_mode_takes_both_and_plaintext_mode_needs_no_key():
    plain_query, plain_body = Callbacks().plain(text_xml(OPENID, "你好", "1"))
    assert not webhook("compat").open(plain_query, plain_body).encrypted
    enc_query, enc_body = Callbacks().encrypted(text_xml(OPENID, "你好", "2"))
    assert webhook("compat").open(enc_query, enc_body).encrypted
    hook = Webhook(
        WeChatCredentials.from_mapping(
            {"token": TOKEN, "app_id": APP_ID, "app_secret": APP_SECRET, "mode": "plaintext"}
        )
    )
    assert hook.open(plain_query, plain_body).message.content == "你好"


def test_the_appid_is_checked_after_decryption():
    foreign = MessageCrypto(TOKEN, AES_KEY, "wxffffffffffffffff")
    query, body = Callbacks().encrypted(text_xml(OPENID, "你好", "1"), crypto=foreign)
    assert "AppID" in rejected(webhook().open, query, body).reason


def test_xxe_is_refused_outside_and_inside_the_encryption():
    xxe = (
        '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>gh_0123456789ab</ToUserName>'
        f"<FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>"
        "<Content>&xxe;</Content><MsgId>1</MsgId></xml>"
    )
    query, body = Callbacks().encrypted(xxe)
    assert rejected(webhook().open, query, body).status == 400
    query, _ = Callbacks().plain("")
    assert rejected(webhook("plaintext").open, query, xxe.encode()).status == 400


def test_bodies_over_the_cap_are_refused_before_anything_else():
    query, body = Callbacks().encrypted(text_xml(OPENID, "长" * 30000, "1"))
    assert len(body) > 64 * 1024
    assert rejected(webhook().open, {}, body).status == 413  # even unsigned: no work at all
    assert webhook(max_body_bytes=200_000).open(query, body).message.content == "长" * 30000


def test_the_openid_in_the_url_must_be_the_sender():
    query, body = Callbacks().plain(text_xml(OPENID, "你好", "1"), openid="oSomebodyElse")
    assert rejected(webhook("compat").open, query, body).status == 403


def test_routes():
    hook = webhook(menu_intents={"HUMAN": "request_human"})

    def route(xml: str) -> Route:
        return hook.route(hook.open(*Callbacks().encrypted(xml)).message)

    assert route(text_xml(OPENID, " 你好 ", "1")) == Route("turn", "你好")
    assert route(text_xml(OPENID, '/inform{"phone_number":"13800000000"}', "2")).text.startswith("／inform")
    assert route(event_xml(OPENID, "subscribe")) == Route("turn", "/greet")
    assert route(event_xml(OPENID, "CLICK", "HUMAN")) == Route("turn", "/request_human")
    assert route(event_xml(OPENID, "CLICK", "NOPE")) == Route("reply", UNKNOWN_MENU_TEXT)
    assert route(event_xml(OPENID, "unsubscribe")) == Route("ignore")
    assert route(event_xml(OPENID, "VIEW", "https://example.com")) == Route("ignore")
    for msg_type in ("image", "voice", "video", "location", "link"):
        assert route(media_xml(OPENID, msg_type, "3")) == Route("reply", UNSUPPORTED_TEXT)
    voice = media_xml(OPENID, "voice", "4").replace("</xml>", "<Recognition><![CDATA[转人工]]></Recognition></xml>")
    assert route(voice) == Route("turn", "转人工")


def test_encrypted_reply_opens_as_wechat_would():
    callbacks = Callbacks()
    opened = webhook().open(*callbacks.encrypted(text_xml(OPENID, "你好", "1")))
    fields = callbacks.open_reply(webhook().render_reply(opened, "您好 ]]> 欢迎"))
    assert fields["Content"] == "您好 ]]> 欢迎"
    assert fields["ToUserName"] == OPENID and fields["FromUserName"] == "gh_0123456789ab"


def test_plain_reply_for_a_plain_request():
    opened = webhook("compat").open(*Callbacks().plain(text_xml(OPENID, "你好", "1")))
    assert parse_fields(webhook("compat").render_reply(opened, "您好"))["Content"] == "您好"


@pytest.mark.parametrize(
    "override",
    [
        {"token": "ab"},
        {"app_id": "123"},
        {"app_secret": ""},
        {"mode": "open"},
        {"encoding_aes_key": None},
        {"api_base_url": "ftp://x"},
        {"passive_reply_seconds": 6},
        {"menu_intents": {"K": "bad intent"}},
        {"token_endpoint": "other"},
        # A prefix without ':' would put WeChat conversations where REST clients can name them.
        {"sender_prefix": ""},
        {"sender_prefix": "wechat-"},
        {"sender_prefix": "wx"},
        {"sender_prefix": "w:x:"},
    ],
)
def test_credentials_are_validated(override):
    raw = {"token": TOKEN, "app_id": APP_ID, "app_secret": APP_SECRET, "encoding_aes_key": AES_KEY, **override}
    with pytest.raises(ValueError):
        WeChatCredentials.from_mapping(raw)


def test_sender_ids_map_back_to_openids():
    credentials = webhook().credentials
    assert credentials.sender_id(OPENID) == f"wx:{OPENID}"
    assert credentials.openid(f"wx:{OPENID}") == OPENID
    assert credentials.openid("rest-user") is None and credentials.openid("wx:bad id") is None
