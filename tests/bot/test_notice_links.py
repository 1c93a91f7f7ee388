"""SMS notice links: a signed, expiring token naming one notice; the conversation opened from it may rate it."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.models import Notice, NoticeLink, Ticket
from bot.notice_links import (
    MAX_CONVERSATIONS_PER_NOTICE,
    TOKEN_CHARS,
    LinkProblem,
    LinkRefused,
    NoticeLinks,
    chat_page_url,
    link,
    open_notice,
)
from bot.satisfaction import RatingOutcome, record_rating
from tests.bot.sample_tickets import shanghai, submit

KEY = b"k" * 32
TODAY = date(2026, 12, 6)
RECEIVED = shanghai(2026, 12, 1, 10)
NOW = RECEIVED + timedelta(days=5)


def links(days: int = 30, key: bytes = KEY) -> NoticeLinks:
    return NoticeLinks(key, days)


def test_a_token_names_its_notice_and_fits_an_sms_template_variable():
    token = links().issue(123456, TODAY)
    assert token is not None and len(token) == TOKEN_CHARS <= 35
    # Letters and digits only: accepted by a template variable and needs no escaping in a URL.
    assert re.fullmatch(r"[a-z2-7]+", token)
    assert links().check(token, TODAY).notice_id == 123456
    assert links().check(token, TODAY).problem is None
    # An SMS app or a user may upper-case it.
    assert links().check(token.upper(), TODAY).notice_id == 123456


def test_a_token_is_valid_through_its_last_day_and_then_expires():
    token = links(days=30).issue(7, TODAY)
    assert links(days=30).check(token, TODAY + timedelta(days=30)).problem is None
    assert links(days=30).check(token, TODAY + timedelta(days=31)).problem is LinkProblem.EXPIRED


def test_a_token_whose_notice_was_changed_to_another_is_refused():
    token = links().issue(41, TODAY)
    raw = bytearray(base64.b32decode(token.upper() + "======"))
    raw[3] = 42  # the notice id's last byte: the token now names notice 42, with 41's signature
    forged = base64.b32encode(bytes(raw)).decode().rstrip("=").lower()
    assert links().check(forged, TODAY) == links().check(forged, TODAY)
    assert links().check(forged, TODAY).problem is LinkProblem.FORGED
    assert links().check(forged, TODAY).notice_id is None


def test_a_token_signed_with_another_key_or_extended_is_refused():
    token = links(key=b"x" * 32).issue(41, TODAY)
    assert links().check(token, TODAY).problem is LinkProblem.FORGED
    # The expiry is signed too: a token cannot be given a later last day.
    raw = bytearray(base64.b32decode(links().issue(41, TODAY).upper() + "======"))
    raw[5] = (raw[5] + 1) % 256
    extended = base64.b32encode(bytes(raw)).decode().rstrip("=").lower()
    assert links().check(extended, TODAY).problem is LinkProblem.FORGED


@pytest.mark.parametrize(
    "token",
    [None, 41, "", "a" * (TOKEN_CHARS - 1), "a" * (TOKEN_CHARS + 1), "1" * TOKEN_CHARS, "a" * 10_000, ["x"]],
)
def test_malformed_tokens_are_refused_without_decoding(token):
    assert links().check(token, TODAY).problem is LinkProblem.MALFORMED


def test_a_token_has_one_spelling():
    token = links().issue(41, TODAY)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    # The last letter's two unused bits set: the same bytes, another spelling.
    other = token[:-1] + alphabet[alphabet.index(token[-1]) | 1]
    assert other != token
    assert base64.b32decode(other.upper() + "======") == base64.b32decode(token.upper() + "======")
    assert links().check(other, TODAY).problem is LinkProblem.MALFORMED


def test_the_raw_ticket_or_notice_number_is_not_a_token():
    assert links().check("41", TODAY).problem is LinkProblem.MALFORMED
    assert links().check("ts20261206000123".ljust(TOKEN_CHARS, "a"), TODAY).problem is not None


def test_the_chat_page_address_is_checked_and_the_link_appended():
    assert link("https://kf.example.com/webhooks/web/", "abc") == "https://kf.example.com/webhooks/web/?n=abc"
    assert link("https://kf.example.com/chat?src=sms", "abc") == "https://kf.example.com/chat?src=sms&n=abc"
    for bad in ("kf.example.com/chat", "javascript:alert(1)", "https://kf.example.com/#x", "https://a b", "ftp://x/"):
        with pytest.raises(ValueError):
            chat_page_url(bad)


def _result_notice(db, ticket_no: str, status: str = "sent") -> int:
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        notice = Notice(
            ticket_id=ticket.id,
            kind="result",
            idempotency_key=f"result:{ticket.id}:v3",
            body="您的投诉处理结果：核实情况……",
            asks_rating=True,
            status=status,
            created_at=NOW,
            sent_at=NOW,
            sent_via="sms",
        )
        session.add(notice)
        session.flush()
        return notice.id


def test_a_desk_ticket_is_rated_from_the_conversation_opened_by_its_link(db, settings):
    ticket_no = submit(db, settings, RECEIVED, {"status": "follow_up"}, conversation_id="desk-intake-1", channel="desk")
    notice_id = _result_notice(db, ticket_no)
    conversation = "web-0b7c1d1e-8c4a-4f6e-9a51-2f3c4d5e6f70"
    # Before the link is opened, that conversation has nothing to do with the ticket.
    assert (
        record_rating(
            db, conversation_id=conversation, rating="satisfied", notice_key=_key(db, notice_id), now=NOW
        ).outcome
        is RatingOutcome.UNKNOWN
    )

    with db.transaction() as session:
        opened = open_notice(session, notice_id, conversation, NOW)
    assert opened.text.startswith("您的投诉处理结果") and opened.asks_rating and opened.ticket_no == ticket_no
    with db.transaction() as session:  # opened again (a reload): one record
        open_notice(session, notice_id, conversation, NOW)
        assert session.execute(select(NoticeLink.conversation_id)).scalars().all() == [conversation]

    result = record_rating(db, conversation_id=conversation, rating="satisfied", notice_key=opened.key, now=NOW)
    assert result.outcome is RatingOutcome.RECORDED and result.ticket_no == ticket_no
    with db.transaction() as session:
        assert session.execute(select(Ticket.satisfaction).where(Ticket.ticket_no == ticket_no)).scalar() == (
            "satisfied"
        )
    # Another conversation that never opened the link cannot rate it.
    other = record_rating(
        db, conversation_id="web-other", rating="dissatisfied", notice_key=opened.key, now=NOW
    ).outcome
    assert other is RatingOutcome.UNKNOWN


def test_a_link_passed_around_or_of_an_unsent_notice_is_refused(db, settings):
    ticket_no = submit(
        db, settings, RECEIVED, {"status": "follow_up"}, conversation_id="phone-intake-1", channel="phone"
    )
    notice_id = _result_notice(db, ticket_no)
    for index in range(MAX_CONVERSATIONS_PER_NOTICE):
        with db.transaction() as session:
            open_notice(session, notice_id, f"web-device-{index}", NOW)
    with pytest.raises(LinkRefused) as refused, db.transaction() as session:
        open_notice(session, notice_id, "web-one-too-many", NOW)
    assert refused.value.problem is LinkProblem.OVERUSED

    erased = submit(db, settings, RECEIVED, {"status": "follow_up"}, conversation_id="phone-intake-2", channel="phone")
    cancelled = _result_notice(db, erased, status="cancelled")  # the complainant's data was erased
    with pytest.raises(LinkRefused) as unsent, db.transaction() as session:
        open_notice(session, cancelled, "web-x", NOW)
    assert unsent.value.problem is LinkProblem.UNKNOWN
    with pytest.raises(LinkRefused) as gone, db.transaction() as session:
        open_notice(session, 999_999, "web-x", NOW)
    assert gone.value.problem is LinkProblem.UNKNOWN


def _key(db, notice_id: int) -> str:
    with db.transaction() as session:
        return session.execute(select(Notice.idempotency_key).where(Notice.id == notice_id)).scalar_one()
