"""Links in SMS notices to the chat page: a signed, expiring token that names one notice.

A complainant who came in by the desk or the phone has no conversation to hold the notice and its rating
question. The SMS carries `<CHAT_PAGE_URL>?n=<token>`; the chat page hands the token to the web channel,
which shows the notice and, for a result or follow-up, asks for the rating in that web conversation
(bot/channels/notice_link.py). The conversation is recorded as opened from the link (`notice_links`), so
bot/satisfaction.py accepts its answer for the notice.

The token is `base32(notice id ‖ last valid day ‖ HMAC)` in lower case: 34 letters and digits, within
Alibaba Cloud's 35-character limit for a notification template's variable, with no character that a
template's variable or a URL refuses. The HMAC key is derived from the field hash key (bot/crypto.py) with
a purpose of its own, like the REST conversation secret: nothing is stored, every replica can check it,
and the ticket number is never in the link. Changing the hash key invalidates every link issued before.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Optional
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Notice, NoticeLink, Ticket

_PURPOSE = b"complaints/notice-link/v1"
_EPOCH = date(1970, 1, 1)
_PAYLOAD = struct.Struct(">IH")  # the notice's id, the last valid day (days since 1970-01-01)
_MAC_BYTES = 15  # 120 bits: guessing is hopeless within the channel's rate limit
TOKEN_CHARS = 34  # base32 of 21 bytes, unpadded
_TOKEN = re.compile(rf"[a-z2-7]{{{TOKEN_CHARS}}}")
QUERY_PARAMETER = "n"
# A link opened in more conversations than this (browsers, devices) is refused: it has been passed around.
MAX_CONVERSATIONS_PER_NOTICE = 5
MAX_PAGE_URL = 200


class LinkProblem(str, enum.Enum):
    MALFORMED = "malformed"  # not a token of this form
    FORGED = "forged"  # the signature does not match (changed, or signed with another key)
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # no such notice any more (erased), or not one the complainant was sent
    OVERUSED = "overused"  # opened in too many conversations


@dataclass(frozen=True)
class LinkCheck:
    notice_id: Optional[int] = None
    problem: Optional[LinkProblem] = None


@dataclass(frozen=True)
class OpenedNotice:
    """What the chat shows for a link: the notice as it was sent, and whether it asks for a rating."""

    key: str
    kind: str
    ticket_no: str
    text: str
    asks_rating: bool
    conversation_id: str


def chat_page_url(value: str) -> str:
    """CHAT_PAGE_URL checked: an absolute http(s) address without a fragment; ValueError otherwise."""
    parsed = urlparse(value)
    if (
        len(value) > MAX_PAGE_URL
        or parsed.scheme not in ("http", "https")
        or not parsed.netloc
        or parsed.fragment
        or any(c.isspace() for c in value)
    ):
        raise ValueError(f"CHAT_PAGE_URL must be an absolute http(s) address of at most {MAX_PAGE_URL} characters")
    return value


def link(page_url: str, token: str) -> str:
    """The address the SMS links to: the chat page with the token as its query parameter `n`."""
    return f"{page_url}{'&' if '?' in page_url else '?'}{QUERY_PARAMETER}={token}"


class NoticeLinks:
    """Issues and checks notice link tokens; the key never leaves this object."""

    def __init__(self, hash_key: bytes, valid_days: int) -> None:
        if valid_days < 1:
            raise ValueError("a link must be valid for at least one day")
        self._key = hmac.new(hash_key, _PURPOSE, hashlib.sha256).digest()
        self.valid_days = valid_days

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, notice_id: int, today: date) -> Optional[str]:
        """The token of a notice, valid through today + valid_days; None for an id beyond the token's range."""
        last_day = (today - _EPOCH).days + self.valid_days
        if not 0 < notice_id < 2**32 or not 0 <= last_day < 2**16:
            return None
        payload = _PAYLOAD.pack(notice_id, last_day)
        return base64.b32encode(payload + self._mac(payload)).decode("ascii").rstrip("=").lower()

    def check(self, token: Any, today: date) -> LinkCheck:
        """The notice a token names, or why it names none; constant-time on the signature."""
        if not isinstance(token, str) or len(token) != TOKEN_CHARS:
            return LinkCheck(problem=LinkProblem.MALFORMED)
        token = token.lower()
        if not _TOKEN.fullmatch(token):
            return LinkCheck(problem=LinkProblem.MALFORMED)
        try:
            raw = base64.b32decode(token.upper() + "=" * 6)
        except binascii.Error:
            return LinkCheck(problem=LinkProblem.MALFORMED)
        # The last letter carries two unused bits: one token has one spelling, not four.
        if base64.b32encode(raw).decode("ascii").rstrip("=").lower() != token:
            return LinkCheck(problem=LinkProblem.MALFORMED)
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not hmac.compare_digest(self._mac(payload), mac):
            return LinkCheck(problem=LinkProblem.FORGED)
        notice_id, last_day = _PAYLOAD.unpack(payload)
        if today > _EPOCH + timedelta(days=last_day):
            return LinkCheck(notice_id, LinkProblem.EXPIRED)
        return LinkCheck(notice_id)


def open_notice(session: Session, notice_id: int, conversation_id: str, now: datetime) -> OpenedNotice:
    """Records that `conversation_id` was opened from the notice's link and returns what to show; raises
    LinkRefused when the notice is gone or the link was opened in too many conversations."""
    found = session.execute(
        select(Notice, Ticket).join(Ticket, Ticket.id == Notice.ticket_id).where(Notice.id == notice_id)
    ).one_or_none()
    # Only a notice that is (being) sent has a text the complainant was meant to read.
    if found is None or found[0].status not in ("sent", "pending") or not found[0].body:
        raise LinkRefused(LinkProblem.UNKNOWN)
    notice, ticket = found
    opened = session.execute(
        select(NoticeLink.id).where(NoticeLink.notice_id == notice_id, NoticeLink.conversation_id == conversation_id)
    ).first()
    if opened is None:
        count = session.execute(
            select(func.count()).select_from(NoticeLink).where(NoticeLink.notice_id == notice_id)
        ).scalar_one()
        if count >= MAX_CONVERSATIONS_PER_NOTICE:
            raise LinkRefused(LinkProblem.OVERUSED)
        session.add(NoticeLink(notice_id=notice_id, conversation_id=conversation_id, opened_at=now))
    return OpenedNotice(
        key=notice.idempotency_key,
        kind=notice.kind,
        ticket_no=ticket.ticket_no,
        text=notice.body,
        asks_rating=bool(notice.asks_rating),
        conversation_id=conversation_id,
    )


class LinkRefused(Exception):
    """A well-signed link that cannot be opened (the notice is gone, or the link was passed around)."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem
