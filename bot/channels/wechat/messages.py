"""Hardened parsing of WeChat callback XML and rendering of replies.

WeChat's XML never carries a DTD, so any DOCTYPE or ENTITY declaration is
refused before the parser sees it (no XXE, no entity expansion). Reply text
goes into CDATA sections with ``]]>`` split, so user text echoed by the bot
cannot break the reply document.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Dict, Iterable, List, Literal, Mapping, Optional, Sequence, overload

# Community-measured limit of a text reply or customer-service text (not documented by WeChat).
MAX_TEXT_BYTES = 2048

_FORBIDDEN_MARKUP = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DIGITS = re.compile(r"\d{1,20}")
_TYPE = re.compile(r"[A-Za-z_]{1,32}")
# XML 1.0 cannot carry these at all, even in CDATA.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class MalformedMessage(ValueError):
    """The XML or one of its fields is not what WeChat sends."""


class UnsafeXml(MalformedMessage):
    """The XML declares a DTD or entities."""


def parse_fields(document: str) -> Dict[str, str]:
    """Top-level text fields of ``<xml>…</xml>``; nested elements are ignored.

    Sizes are bounded by the body cap, which the caller applies first.
    """
    if _FORBIDDEN_MARKUP.search(document):
        raise UnsafeXml("DTD and entity declarations are not allowed")
    try:
        root = ElementTree.fromstring(document)
    except (ElementTree.ParseError, ValueError) as exc:
        raise MalformedMessage("not well-formed XML") from exc
    if root.tag != "xml":
        raise MalformedMessage("root element must be <xml>")
    fields: Dict[str, str] = {}
    for child in root:
        if len(child) == 0:
            fields[child.tag] = child.text or ""
    return fields


def decode_body(body: bytes) -> str:
    """Strict UTF-8: WeChat sends UTF-8, and other encodings could hide a DOCTYPE from the check."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedMessage("body is not UTF-8") from exc


@overload
def _matching(fields: Mapping[str, str], name: str, pattern: re.Pattern, required: Literal[True] = ...) -> str: ...
@overload
def _matching(fields: Mapping[str, str], name: str, pattern: re.Pattern, required: bool) -> Optional[str]: ...
def _matching(fields: Mapping[str, str], name: str, pattern: re.Pattern, required: bool = True) -> Optional[str]:
    value = fields.get(name, "").strip()
    if not value:
        if required:
            raise MalformedMessage(f"{name} is missing")
        return None
    if not pattern.fullmatch(value):
        raise MalformedMessage(f"{name} has an unexpected format")
    return value


@dataclass(frozen=True)
class InboundMessage:
    """One user message or event, validated."""

    to_user: str  # the Official Account's original id (gh_…)
    from_user: str  # the sender's OpenID
    create_time: int
    msg_type: str  # lower case: text, image, voice, event, …
    msg_id: Optional[str] = None
    content: Optional[str] = None
    recognition: Optional[str] = None
    event: Optional[str] = None  # lower case: subscribe, unsubscribe, click, …
    event_key: Optional[str] = None

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> "InboundMessage":
        msg_type = _matching(fields, "MsgType", _TYPE).lower()
        event = _matching(fields, "Event", _TYPE, required=msg_type == "event")
        return cls(
            to_user=_matching(fields, "ToUserName", _ACCOUNT_ID),
            from_user=_matching(fields, "FromUserName", _ACCOUNT_ID),
            create_time=int(_matching(fields, "CreateTime", _DIGITS)),
            msg_type=msg_type,
            msg_id=_matching(fields, "MsgId", _DIGITS, required=False),
            content=fields.get("Content"),
            recognition=(fields.get("Recognition") or "").strip() or None,
            event=event.lower() if event else None,
            event_key=fields.get("EventKey"),
        )

    def dedupe_key(self) -> str:
        """WeChat's advice: MsgId for messages, FromUserName + CreateTime for events.

        The event name and key are added because one user can fire two events in
        the same second (subscribe + SCAN).
        """
        if self.msg_id:
            return f"msg|{self.to_user}|{self.msg_id}"
        return f"event|{self.to_user}|{self.from_user}|{self.create_time}|{self.event}|{self.event_key or ''}"


def cdata(value: str) -> str:
    """A CDATA section that survives any content, ``]]>`` included."""
    clean = _INVALID_XML_CHARS.sub("", value)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def render_encrypted_reply(encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{int(timestamp)}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> List[str]:
    """Pieces of at most ``max_bytes`` UTF-8 bytes, cut at a line break where possible."""
    if max_bytes < 4:
        raise ValueError("max_bytes must fit at least one character")
    pieces: List[str] = []
    rest = text
    while utf8_size(rest) > max_bytes:
        # Longest prefix that fits, never cutting a character in two.
        fitting = rest.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
        cut = fitting.rfind("\n")
        if cut < len(fitting) // 2:  # no line break in the latter half: cut mid-line
            cut = len(fitting)
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    if rest or not pieces:
        pieces.append(rest)
    return [piece for piece in pieces if piece] or [""]


def merge_texts(texts: Iterable[str], max_bytes: int = MAX_TEXT_BYTES, separator: str = "\n\n") -> List[str]:
    """As few messages as possible (the customer-service API allows only a few per 48 h).

    Whole texts are packed greedily in order; only a text that alone exceeds the
    limit is split.
    """
    merged: List[str] = []
    current = ""
    for text in texts:
        text = text.strip()
        if not text:
            continue
        for piece in split_text(text, max_bytes):
            candidate = f"{current}{separator}{piece}" if current else piece
            if utf8_size(candidate) <= max_bytes:
                current = candidate
            else:
                merged.append(current)
                current = piece
    if current:
        merged.append(current)
    return merged


def text_with_buttons(text: str, buttons: Sequence[Mapping[str, object]]) -> str:
    """Plain-text rendering of Rasa buttons: the titles are what the user can reply."""
    titles = [str(button.get("title")).strip() for button in buttons if button.get("title")]
    if not titles:
        return text
    return f"{text}\n可回复：" + "｜".join(titles)
