"""Authenticating, opening and answering WeChat callbacks, without any web framework.

Order of checks on a POST (cheapest and most hostile first): size cap, query
formats, timestamp freshness, signature, mode (safe mode refuses plaintext),
DTD/entity refusal and parsing of the envelope, ``msg_signature`` over
``Encrypt``, decryption with the AppID check, the same hardened parsing of
the inner document, field validation.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from bot.channels.user_text import storable, without_intent_syntax
from bot.channels.wechat.credentials import WeChatCredentials
from bot.channels.wechat.crypto import AppIdMismatch, CryptoError, MessageCrypto, signature, signature_matches
from bot.channels.wechat.messages import (
    InboundMessage,
    MalformedMessage,
    UnsafeXml,
    decode_body,
    parse_fields,
    render_encrypted_reply,
    render_text_reply,
)

# The answer that stops WeChat's retries without sending anything to the user.
NO_REPLY = "success"

UNSUPPORTED_TEXT = (
    "抱歉，我目前只能处理文字消息（语音消息需开通语音识别），暂时无法识别图片、视频、位置、链接或文件。"
    "请直接用文字告诉我您的问题，例如“我要投诉”“理赔需要什么材料”“查询投诉进度”或“转人工”。"
)
UNKNOWN_MENU_TEXT = "抱歉，这个菜单功能暂未开放。请直接用文字告诉我您的问题，例如“我要投诉”或“转人工”。"

# Pinning the formats closes the sorted-concatenation ambiguity: with free
# formats, digits can move between timestamp and nonce without changing the
# signature, which would defeat the freshness check.
_SIGNATURE = re.compile(r"[0-9a-f]{40}")
_TIMESTAMP = re.compile(r"\d{10}")
_NONCE = re.compile(r"[A-Za-z0-9]{1,32}")
_ECHOSTR = re.compile(r"[A-Za-z0-9+/=_-]{1,256}")


class Rejected(Exception):
    """The request is refused with ``status``; ``reason`` is for the log only."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class OpenedRequest:
    message: InboundMessage
    encrypted: bool  # answer encrypted too
    request_signature: str  # the query signature, for one-time-use checks


@dataclass(frozen=True)
class Route:
    """What to do with a message: run a Rasa turn with ``text``, answer ``text`` directly, or nothing."""

    kind: str  # turn | reply | ignore
    text: Optional[str] = None


class Webhook:
    def __init__(self, credentials: WeChatCredentials, clock: Callable[[], float] = time.time) -> None:
        self.credentials = credentials
        self.clock = clock
        self.crypto = (
            MessageCrypto(credentials.token, credentials.encoding_aes_key, credentials.app_id)
            if credentials.encoding_aes_key
            else None
        )

    # --- authentication -------------------------------------------------

    def _authenticate(self, query: Mapping[str, str]) -> None:
        given, timestamp, nonce = (query.get(name) or "" for name in ("signature", "timestamp", "nonce"))
        if not (_SIGNATURE.fullmatch(given) and _TIMESTAMP.fullmatch(timestamp) and _NONCE.fullmatch(nonce)):
            raise Rejected(400, "signature, timestamp or nonce missing or malformed")
        if abs(self.clock() - int(timestamp)) > self.credentials.max_clock_skew_seconds:
            raise Rejected(403, "timestamp outside the freshness window")
        if not signature_matches(signature(self.credentials.token, timestamp, nonce), given):
            raise Rejected(403, "bad signature")

    def verify_url(self, query: Mapping[str, str]) -> str:
        """GET check when the URL is saved in the console; returns the echostr to send back."""
        self._authenticate(query)
        echostr = query.get("echostr") or ""
        if not _ECHOSTR.fullmatch(echostr):
            raise Rejected(400, "echostr missing or malformed")
        return echostr

    # --- inbound --------------------------------------------------------

    def open(self, query: Mapping[str, str], body: bytes) -> OpenedRequest:
        if len(body) > self.credentials.max_body_bytes:
            raise Rejected(413, "body over the size cap")
        self._authenticate(query)
        encrypted = self._wants_encryption(query)
        try:
            fields: Mapping[str, str] = parse_fields(decode_body(body))
            if encrypted:
                fields = self._decrypted_fields(query, fields)
            message = InboundMessage.from_fields(fields)
        except UnsafeXml as exc:
            raise Rejected(400, str(exc)) from exc
        except MalformedMessage as exc:
            raise Rejected(400, f"malformed message: {exc}") from exc
        openid = query.get("openid")
        if openid is not None and not signature_matches(openid, message.from_user):
            raise Rejected(403, "openid in the URL differs from the sender")
        return OpenedRequest(message, encrypted, query["signature"])

    def _wants_encryption(self, query: Mapping[str, str]) -> bool:
        aes = query.get("encrypt_type") == "aes"
        mode = self.credentials.mode
        if mode == "safe" and not aes:
            # The plain signature covers only the query string: a plaintext body
            # would be unauthenticated. Never downgrade.
            raise Rejected(403, "safe mode requires an encrypted message")
        if mode == "plaintext":
            return False
        return aes

    def _decrypted_fields(self, query: Mapping[str, str], envelope: Mapping[str, str]) -> Mapping[str, str]:
        assert self.crypto is not None  # guaranteed by the credentials check
        encrypted = (envelope.get("Encrypt") or "").strip()
        given = query.get("msg_signature") or ""
        if not encrypted or not _SIGNATURE.fullmatch(given):
            raise Rejected(400, "Encrypt or msg_signature missing")
        expected = self.crypto.msg_signature(query["timestamp"], query["nonce"], encrypted)
        if not signature_matches(expected, given):
            raise Rejected(403, "bad msg_signature")
        try:
            inner = self.crypto.decrypt(encrypted)
        except AppIdMismatch as exc:
            raise Rejected(403, str(exc)) from exc
        except CryptoError as exc:
            raise Rejected(400, f"cannot decrypt: {exc}") from exc
        fields = parse_fields(inner)
        outer_to = (envelope.get("ToUserName") or "").strip()
        if outer_to and outer_to != (fields.get("ToUserName") or "").strip():
            raise Rejected(400, "envelope and message name different accounts")
        return fields

    # --- routing --------------------------------------------------------

    def route(self, message: InboundMessage) -> Route:
        if message.msg_type == "text":
            text = (message.content or "").strip()
            return Route("turn", _no_intent_injection(text)) if text else Route("ignore")
        if message.msg_type == "voice" and message.recognition:
            return Route("turn", _no_intent_injection(message.recognition))
        if message.msg_type == "event":
            return self._route_event(message)
        return Route("reply", UNSUPPORTED_TEXT)

    def _route_event(self, message: InboundMessage) -> Route:
        if message.event == "subscribe":
            intent: Optional[str] = self.credentials.subscribe_intent
            return Route("turn", f"/{intent}") if intent else Route("ignore")
        if message.event == "click":
            intent = self.credentials.menu_intents.get((message.event_key or "").strip())
            return Route("turn", f"/{intent}") if intent else Route("reply", UNKNOWN_MENU_TEXT)
        # unsubscribe (nobody to answer), VIEW, SCAN, LOCATION, template results…
        return Route("ignore")

    # --- replies --------------------------------------------------------

    def render_reply(self, opened: OpenedRequest, text: str) -> str:
        """One passive text reply, encrypted when the request was."""
        now = int(self.clock())
        message = opened.message
        document = render_text_reply(message.from_user, message.to_user, text, now)
        if not opened.encrypted:
            return document
        assert self.crypto is not None
        encrypted = self.crypto.encrypt(document)
        timestamp, nonce = str(now), str(secrets.randbelow(10**10))
        return render_encrypted_reply(
            encrypted, self.crypto.msg_signature(timestamp, nonce, encrypted), timestamp, nonce
        )


def _no_intent_injection(text: str) -> str:
    # Rasa treats "/intent{...}" as a pre-parsed intent with entities; a
    # policyholder must not be able to set slots that way. WeChat shows buttons
    # as text to reply with, so no payload is ever offered here.
    return without_intent_syntax(storable(text))
