"""Ratings after a result notice or a live agent conversation: once each, on the ticket, 不满意 sends it back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.alerts import KIND_LABELS
from bot.models import Alert, HandoffRequest, Notice, Rating, Ticket, TicketEvent
from bot.satisfaction import (
    RatingOutcome,
    already_rated,
    handoff_rating_events,
    numbered_rating,
    rating_question,
    record_rating,
    typed_rating,
)
from tests.bot.sample_tickets import shanghai, submit

RECEIVED = shanghai(2026, 6, 1, 10)
LATER = RECEIVED + timedelta(days=10)


def notice(db, ticket_no: str, key: str = "result:1:5") -> str:
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        session.add(
            Notice(
                ticket_id=ticket.id,
                kind="result",
                idempotency_key=key,
                body="处理结果……",
                asks_rating=True,
                status="sent",
                created_at=LATER,
                sent_at=LATER,
            )
        )
    return key


def handoff(db, conversation_id: str, ticket_no=None) -> int:
    with db.transaction() as session:
        ticket_id = (
            session.execute(select(Ticket.id).where(Ticket.ticket_no == ticket_no)).scalar() if ticket_no else None
        )
        request = HandoffRequest(
            conversation_id=conversation_id,
            channel="rest",
            reason="user_request",
            priority=0,
            status="closed",
            slots={},
            ticket_id=ticket_id,
            created_at=LATER,
            updated_at=LATER,
        )
        session.add(request)
        session.flush()
        return request.id


def ticket_row(db, ticket_no):
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        events = session.execute(
            select(TicketEvent.field, TicketEvent.old_value, TicketEvent.new_value, TicketEvent.actor)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)
        ).all()
        return ticket.as_dict(), [tuple(e) for e in events]


def alerts(db):
    with db.transaction() as session:
        return [(a.kind, a.ticket_id, a.message) for a in session.execute(select(Alert)).scalars()]


@pytest.fixture
def ticket_no(db, settings):
    # The conversation the complaint was filed in ("c", tests/bot/complaints.draft) is the one rating it.
    return submit(db, settings, RECEIVED, {"status": "follow_up"}, conversation_id="c")


def test_a_rating_is_stored_once_per_notice_and_on_the_ticket_audited(db, ticket_no):
    key = notice(db, ticket_no)
    result = record_rating(db, conversation_id="c", rating="satisfied", notice_key=key, now=LATER)
    assert result.outcome is RatingOutcome.RECORDED and result.ticket_no == ticket_no and not result.sent_back
    ticket, events = ticket_row(db, ticket_no)
    assert ticket["satisfaction"] == "satisfied" and ticket["status"] == "follow_up"
    assert ticket["version"] == 2  # one version step: a page loaded before is refused as stale
    assert ("satisfaction", None, "satisfied", "bot:c") in events

    again = record_rating(db, conversation_id="c", rating="dissatisfied", notice_key=key, reason="太慢", now=LATER)
    assert again.outcome is RatingOutcome.REPEATED and again.rating == "satisfied"
    assert ticket_row(db, ticket_no)[0]["satisfaction"] == "satisfied"
    assert alerts(db) == []
    with db.transaction() as session:
        assert session.execute(select(Rating.rating)).scalars().all() == ["satisfied"]


@pytest.mark.parametrize("status", ["feedback", "follow_up", "closed"])
def test_dissatisfied_sends_the_ticket_back_to_processing_with_an_alert(db, settings, status):
    ticket_no = submit(
        db,
        settings,
        RECEIVED,
        {"status": status, "closed_at": LATER if status == "closed" else None},
        conversation_id="c",
    )
    key = notice(db, ticket_no)
    result = record_rating(
        db, conversation_id="c", rating="dissatisfied", notice_key=key, reason="  赔付金额不对  ", now=LATER
    )
    assert result.outcome is RatingOutcome.RECORDED and result.sent_back
    ticket, events = ticket_row(db, ticket_no)
    assert ticket["status"] == "processing" and ticket["satisfaction"] == "dissatisfied"
    assert ticket["closed_at"] is None
    assert ticket["reopened_count"] == (1 if status == "closed" else 0)
    assert ("status", status, "processing", "bot:c") in events
    assert ("satisfaction_reason", None, "赔付金额不对", "bot:c") in events
    [(kind, ticket_id, message)] = alerts(db)
    assert kind == "dissatisfied" and KIND_LABELS[kind] == "投诉人不满意"
    assert ticket_no in message and "赔付金额不对" in message
    with db.transaction() as session:
        assert session.execute(select(Rating.reason)).scalar_one() == "赔付金额不对"


def test_dissatisfied_before_the_result_leaves_the_step_but_alerts(db, settings):
    ticket_no = submit(db, settings, RECEIVED, {"status": "investigating"}, conversation_id="c")
    result = record_rating(db, conversation_id="c", rating="dissatisfied", notice_key=notice(db, ticket_no), now=LATER)
    assert not result.sent_back and ticket_row(db, ticket_no)[0]["status"] == "investigating"
    assert len(alerts(db)) == 1


def test_another_conversation_cannot_rate_a_notice(db, ticket_no):
    key = notice(db, ticket_no)
    result = record_rating(db, conversation_id="someone-else", rating="dissatisfied", notice_key=key, now=LATER)
    assert result.outcome is RatingOutcome.UNKNOWN
    unknown = record_rating(db, conversation_id="c", rating="satisfied", notice_key="result:999:1", now=LATER)
    assert unknown.outcome is RatingOutcome.UNKNOWN
    assert ticket_row(db, ticket_no)[0]["satisfaction"] is None and alerts(db) == []


def test_a_handoff_is_rated_once_with_or_without_a_ticket(db, ticket_no):
    without = handoff(db, "c")
    result = record_rating(
        db, conversation_id="c", rating="dissatisfied", handoff_id=without, reason="客服态度差", now=LATER
    )
    assert result.outcome is RatingOutcome.RECORDED and result.ticket_no is None
    [(kind, ticket_id, message)] = alerts(db)
    assert ticket_id is None and f"#{without}" in message
    assert record_rating(db, conversation_id="c", rating="satisfied", handoff_id=without, now=LATER).outcome is (
        RatingOutcome.REPEATED
    )
    with_ticket = handoff(db, "c", ticket_no)
    assert (
        record_rating(
            db, conversation_id="c", rating="basically_satisfied", handoff_id=with_ticket, now=LATER
        ).ticket_no
        == ticket_no
    )
    assert ticket_row(db, ticket_no)[0]["satisfaction"] == "basically_satisfied"
    assert (
        record_rating(db, conversation_id="other", rating="satisfied", handoff_id=with_ticket, now=LATER).outcome
        is RatingOutcome.UNKNOWN
    )


def test_a_handler_page_loaded_before_the_rating_is_stale(db, settings, ticket_no):
    """The rating bumps the version: a desk save based on the old version is refused (bot/ticket_editing.py)."""
    record_rating(db, conversation_id="c", rating="satisfied", notice_key=notice(db, ticket_no), now=LATER)
    with db.transaction() as session:
        changed = session.execute(
            update(Ticket).where(Ticket.ticket_no == ticket_no, Ticket.version == 1).values(sub_reason="x")
        ).rowcount
    assert changed == 0


def test_bad_calls_are_refused(db, ticket_no):
    with pytest.raises(ValueError):
        record_rating(db, conversation_id="c", rating="great", notice_key="k", now=LATER)
    with pytest.raises(ValueError):
        record_rating(db, conversation_id="c", rating="satisfied", now=LATER)
    with pytest.raises(ValueError):
        record_rating(db, conversation_id="c", rating="satisfied", notice_key="k", handoff_id=1, now=LATER)


def test_a_long_reason_is_bounded(db, ticket_no):
    record_rating(
        db, conversation_id="c", rating="dissatisfied", notice_key=notice(db, ticket_no), reason="慢" * 2000, now=LATER
    )
    with db.transaction() as session:
        assert len(session.execute(select(Rating.reason)).scalar_one()) == 500


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("满意", "satisfied"),
        ("非常满意，谢谢", "satisfied"),
        ("基本满意", "basically_satisfied"),
        ("还行吧", "basically_satisfied"),
        ("一般", "basically_satisfied"),
        ("不满意", "dissatisfied"),
        ("太差了", "dissatisfied"),
        ("我要投诉", None),
    ],
)
def test_typed_ratings(text, rating):
    assert typed_rating(text) == rating


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("1", "satisfied"),
        (" 2 ", "basically_satisfied"),
        ("３", "dissatisfied"),
        ("选3", "dissatisfied"),
        ("4", None),
        ("12", None),
        ("13812345678", None),
        ("", None),
    ],
)
def test_numbered_ratings(text, rating):
    assert numbered_rating(text) == rating


def test_the_question_after_a_handoff_sets_the_slot_and_offers_the_three_answers():
    text, buttons = rating_question()
    assert "1" in text and "3" in text
    assert [b["title"] for b in buttons] == ["满意", "基本满意", "不满意"]
    assert buttons[2]["payload"] == '/rate{"rating":"dissatisfied"}'
    slot, question = handoff_rating_events(42)
    assert slot == {"event": "slot", "name": "rating_handoff", "value": "42"}
    assert question["data"]["buttons"] == buttons and question["metadata"]["notice_kind"] == "rating"


def test_already_rated_answers_for_this_conversation_only(db, ticket_no):
    key = notice(db, ticket_no)
    assert not already_rated(db, conversation_id="c", notice_key=key)
    record_rating(db, conversation_id="c", rating="satisfied", notice_key=key, now=LATER)
    assert already_rated(db, conversation_id="c", notice_key=key)
    assert not already_rated(db, conversation_id="other", notice_key=key)
