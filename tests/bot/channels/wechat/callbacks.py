"""Builds callbacks the way WeChat's servers send them (signed query, plain or encrypted XML)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from bot.channels.wechat.crypto import MessageCrypto, signature
from bot.channels.wechat.messages import cdata, parse_fields

TOKEN = "channeltesttoken"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "test-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_0123456789ab"


def text_xml(openid: str, content: str, msg_id: str, create_time: Optional[int] = None) -> str:
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, key: str = "", create_time: Optional[int] = None) -> str:
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event>{cdata(event)}</Event><EventKey>{cdata(key)}</EventKey></xml>"
    )


def media_xml(openid: str, msg_type: str, msg_id: str) -> str:
    return (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
        f"<MediaId><![CDATA[media]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def new_openid() -> str:
    return "o" + secrets.token_hex(13) + "x"  # 28 characters, like a real OpenID


def new_msg_id() -> str:
    return str(secrets.randbits(62))


@dataclass
class Callbacks:
    token: str = TOKEN
    app_id: str = APP_ID
    aes_key: str = AES_KEY

    @property
    def crypto(self) -> MessageCrypto:
        return MessageCrypto(self.token, self.aes_key, self.app_id)

    def query(self, timestamp: Optional[int] = None, nonce: Optional[str] = None) -> Dict[str, str]:
        timestamp_text = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**9) + 10**9)
        return {"signature": signature(self.token, timestamp_text, nonce), "timestamp": timestamp_text, "nonce": nonce}

    def plain(
        self, xml: str, openid: Optional[str] = None, timestamp: Optional[int] = None
    ) -> Tuple[Dict[str, str], bytes]:
        query = self.query(timestamp)
        if openid:
            query["openid"] = openid
        return query, xml.encode("utf-8")

    def encrypted(
        self, xml: str, timestamp: Optional[int] = None, crypto: Optional[MessageCrypto] = None
    ) -> Tuple[Dict[str, str], bytes]:
        """Safe mode: only ToUserName and Encrypt in the body, msg_signature over Encrypt."""
        query = self.query(timestamp)
        encrypt = (crypto or self.crypto).encrypt(xml)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = self.crypto.msg_signature(query["timestamp"], query["nonce"], encrypt)
        body = f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        return query, body.encode("utf-8")

    def open_reply(self, body: str) -> Dict[str, str]:
        """Checks an encrypted passive reply as WeChat would and returns its fields."""
        envelope = parse_fields(body)
        expected = self.crypto.msg_signature(envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"])
        assert envelope["MsgSignature"] == expected, "reply msg_signature does not verify"
        return parse_fields(self.crypto.decrypt(envelope["Encrypt"]))
