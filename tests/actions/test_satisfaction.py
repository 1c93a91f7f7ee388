"""The rating actions: buttons, typed words, numbers while asked, 不满意 → reason → sent back, once per notice."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from actions.handoff import ActionSessionStart
from actions.satisfaction import ActionRate, ActionReadRatingNumber, ValidateRatingReasonForm
from bot import replies
from bot.lifecycle import Lifecycle
from bot.models import Alert, HandoffRequest, Notice, Rating, Ticket
from bot.notice_routes import chat as chat_route
from bot.notice_routes.route import OutgoingNotice
from tests.actions.trackers import slot_events, texts, tracker
from tests.bot.complaints import draft
from tests.bot.sample_tickets import Viewer

KEY = "result:1:6"
NOW = datetime(2026, 6, 10, 2, tzinfo=timezone.utc)


@pytest.fixture
def ticket_no(svc) -> str:
    """A ticket of conversation conv-1 at 跟进, whose result notice asked for a rating."""
    ticket_no = svc.tickets.submit(draft(conversation_id="conv-1"), "conv-1:1").ticket_no
    with svc.tickets.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(status="follow_up"))
        ticket_id = session.execute(select(Ticket.id).where(Ticket.ticket_no == ticket_no)).scalar_one()
        session.add(
            Notice(
                ticket_id=ticket_id,
                kind="result",
                idempotency_key=KEY,
                body="经核实……",
                asks_rating=True,
                status="sent",
                created_at=NOW,
                sent_at=NOW,
            )
        )
    return ticket_no


def ticket(svc, ticket_no):
    return svc.tickets.get(ticket_no)


def alerts(svc):
    with svc.tickets.db.transaction() as session:
        return session.execute(select(Alert.kind, Alert.message)).all()


async def rate(dispatcher, domain, text, intent="rate", after="action_listen", **slots):
    t = tracker(text, intent, slots={"rating_notice": KEY, **slots})
    t.latest_action_name = after
    return slot_events(await ActionRate().run(dispatcher, t, domain))


async def test_a_button_rates_the_notice_once_and_clears_the_question(svc, dispatcher, domain, ticket_no):
    events = await rate(dispatcher, domain, '/rate{"rating":"satisfied"}', rating="satisfied")
    assert texts(dispatcher) == [replies.rating_thanks("satisfied")]
    assert events == {"rating": None, "rating_by_number": None, "rating_reason": None, "rating_notice": None}
    assert ticket(svc, ticket_no)["satisfaction"] == "satisfied"

    # The same notice answered again (its question still on screen): polite, nothing changes.
    await rate(dispatcher, domain, '/rate{"rating":"dissatisfied"}', rating="dissatisfied", after="rating_reason_form")
    assert texts(dispatcher)[-1] == replies.RATING_REPEATED
    assert ticket(svc, ticket_no)["satisfaction"] == "satisfied" and ticket(svc, ticket_no)["status"] == "follow_up"


@pytest.mark.parametrize(
    ("typed", "stored"), [("还行吧", "basically_satisfied"), ("一般", "basically_satisfied"), ("满意", "satisfied")]
)
async def test_typed_answers_count_without_an_entity(svc, dispatcher, domain, ticket_no, typed, stored):
    await rate(dispatcher, domain, typed)
    assert ticket(svc, ticket_no)["satisfaction"] == stored


async def test_a_payload_with_an_unknown_value_is_asked_again(svc, dispatcher, domain, ticket_no):
    events = await rate(dispatcher, domain, '/rate{"rating":"great"}', rating="great")
    assert texts(dispatcher) == [replies.RATING_UNCLEAR]
    assert dispatcher.messages[0]["buttons"] == replies.rating_buttons()
    assert "rating_notice" not in events  # still asked
    assert ticket(svc, ticket_no)["satisfaction"] is None


QUESTION = [{"event": "bot", "text": replies.RATING_QUESTION, "timestamp": 0.5}]


async def test_numbers_count_only_while_a_rating_is_asked(dispatcher, domain):
    asked = await ActionReadRatingNumber().run(
        dispatcher, tracker("２", "inform", slots={"rating_notice": KEY}, events=QUESTION), domain
    )
    assert slot_events(asked) == {"rating": "basically_satisfied", "rating_by_number": True}
    handoff = tracker("3", "nlu_fallback", slots={"rating_handoff": "7"}, events=QUESTION)
    assert slot_events(await ActionReadRatingNumber().run(dispatcher, handoff, domain))["rating"] == "dissatisfied"
    unclear = [{"event": "bot", "text": replies.RATING_UNCLEAR, "timestamp": 0.5}]
    again = tracker("1", slots={"rating_notice": KEY}, events=unclear)
    assert slot_events(await ActionReadRatingNumber().run(dispatcher, again, domain))["rating"] == "satisfied"
    assert await ActionReadRatingNumber().run(dispatcher, tracker("1", "inform", events=QUESTION), domain) == []
    not_offered = tracker("4", slots={"rating_notice": KEY}, events=QUESTION)
    assert await ActionReadRatingNumber().run(dispatcher, not_offered, domain) == []
    phone = tracker("13812345678", slots={"rating_notice": KEY}, events=QUESTION)
    assert await ActionReadRatingNumber().run(dispatcher, phone, domain) == []


async def test_a_number_weeks_after_the_question_is_not_a_rating(dispatcher, domain):
    """The question is still open (buttons and words still answer it), but "2" weeks later means something else."""
    asked = [{"event": "bot", "text": replies.RATING_QUESTION, "timestamp": 1_000_000.0}]
    days = 86400
    in_time = tracker("2", "inform", slots={"rating_notice": KEY}, events=asked)
    in_time.events[-1]["timestamp"] = 1_000_000.0 + 6 * days  # a WeChat user answering days later
    assert slot_events(await ActionReadRatingNumber().run(dispatcher, in_time, domain))["rating"] == (
        "basically_satisfied"
    )
    weeks_later = tracker("2", "inform", slots={"rating_notice": KEY}, events=asked)
    weeks_later.events[-1]["timestamp"] = 1_000_000.0 + 21 * days
    assert await ActionReadRatingNumber().run(dispatcher, weeks_later, domain) == []


async def test_a_number_answers_the_question(svc, dispatcher, domain, ticket_no):
    await rate(dispatcher, domain, "1", intent="inform", rating="satisfied", rating_by_number=True)
    assert ticket(svc, ticket_no)["satisfaction"] == "satisfied"


async def test_dissatisfied_asks_the_reason_then_sends_the_ticket_back_and_explains_review(
    svc, dispatcher, domain, ticket_no
):
    asked = await ActionRate().run(
        dispatcher, tracker("不满意", "rate", slots={"rating_notice": KEY, "rating": "dissatisfied"}), domain
    )
    assert {"event": "active_loop", "name": "rating_reason_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in asked
    ]
    assert ticket(svc, ticket_no)["satisfaction"] is None  # nothing stored before the reason

    reason = tracker(
        "赔付金额和合同约定不一致", active_loop="rating_reason_form", slots={"requested_slot": "rating_reason"}
    )
    reason.events.append({"event": "slot", "name": "rating_reason", "value": "赔付金额和合同约定不一致"})
    validated = slot_events(await ValidateRatingReasonForm().run(dispatcher, reason, domain))
    assert validated["rating_reason"] == "赔付金额和合同约定不一致"

    events = await rate(
        dispatcher,
        domain,
        "赔付金额和合同约定不一致",
        intent="inform",
        after="rating_reason_form",
        rating="dissatisfied",
        rating_reason="赔付金额和合同约定不一致",
    )
    told = texts(dispatcher)[-1]
    assert ticket_no in told and "退回重新处理" in told and "核查" in told and "30日" in told
    assert events["rating_notice"] is None and events["rating"] is None
    after = ticket(svc, ticket_no)
    assert after["status"] == "processing" and after["satisfaction"] == "dissatisfied"
    [(kind, message)] = alerts(svc)
    assert kind == "dissatisfied" and "赔付金额和合同约定不一致" in message


async def test_a_pressed_button_is_no_reason(dispatcher, domain):
    t = tracker('/rate{"rating":"dissatisfied"}', "rate", active_loop="rating_reason_form")
    t.slots["requested_slot"] = "rating_reason"
    t.events.append({"event": "slot", "name": "rating_reason", "value": '/rate{"rating":"dissatisfied"}'})
    assert slot_events(await ValidateRatingReasonForm().run(dispatcher, t, domain))["rating_reason"] is None


async def test_no_reason_given_still_records_dissatisfied(svc, dispatcher, domain, ticket_no):
    await rate(dispatcher, domain, "算了", intent="cancel", after="action_deactivate_loop", rating="dissatisfied")
    assert ticket(svc, ticket_no)["status"] == "processing"
    with svc.tickets.db.transaction() as session:
        assert session.execute(select(Rating.reason)).scalar_one() is None


async def test_an_answer_with_nothing_asked_is_thanked_politely(svc, dispatcher, domain, ticket_no):
    t = tracker("不满意", "rate", slots={"rating": "dissatisfied"})
    events = slot_events(await ActionRate().run(dispatcher, t, domain))
    assert texts(dispatcher) == [replies.RATING_NOT_ASKED] and events["rating"] is None
    assert ticket(svc, ticket_no)["satisfaction"] is None and alerts(svc) == []


async def test_a_forged_notice_key_of_another_conversation_is_not_rated(svc, dispatcher, domain, ticket_no):
    t = tracker("满意", "rate", slots={"rating_notice": KEY, "rating": "satisfied"}, sender="someone-else")
    await ActionRate().run(dispatcher, t, domain)
    assert texts(dispatcher) == [replies.RATING_NOT_ASKED]
    assert ticket(svc, ticket_no)["satisfaction"] is None


async def test_the_conversation_with_an_agent_is_rated_by_its_handoff(svc, dispatcher, domain, ticket_no):
    with svc.tickets.db.transaction() as session:
        request = HandoffRequest(
            conversation_id="conv-1",
            channel="rest",
            reason="user_request",
            priority=0,
            status="closed",
            slots={},
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(request)
        session.flush()
        handoff_id = request.id
    # Both questions outstanding: the later one (the agent's) is answered.
    t = tracker("满意", "rate", slots={"rating_handoff": str(handoff_id), "rating_notice": KEY, "rating": "satisfied"})
    t.events[:0] = [
        {"event": "slot", "name": "rating_notice", "value": KEY},
        {"event": "slot", "name": "rating_handoff", "value": str(handoff_id)},
    ]
    events = slot_events(await ActionRate().run(dispatcher, t, domain))
    assert events["rating_handoff"] is None and "rating_notice" not in events
    with svc.tickets.db.transaction() as session:
        assert session.execute(select(Rating.handoff_id, Rating.notice_id)).one() == (handoff_id, None)
    assert ticket(svc, ticket_no)["satisfaction"] is None  # the handoff had no ticket


async def test_a_new_session_keeps_the_question_asked_while_the_user_was_away(svc, dispatcher, domain):
    t = tracker("", slots={"rating_notice": KEY, "complaint_category": "claims"})
    events = await ActionSessionStart().run(dispatcher, t, domain)
    assert [e["event"] for e in events] == ["session_started", "slot", "action"]
    assert slot_events(events) == {"rating_notice": KEY}


async def test_dissatisfied_about_a_notice_rated_already_is_not_asked_its_reason(svc, dispatcher, domain, ticket_no):
    await rate(dispatcher, domain, "满意", rating="satisfied")
    events = await ActionRate().run(
        dispatcher, tracker("不满意", "rate", slots={"rating_notice": KEY, "rating": "dissatisfied"}), domain
    )
    assert texts(dispatcher)[-1] == replies.RATING_REPEATED
    assert "active_loop" not in [e["event"] for e in events]
    assert ticket(svc, ticket_no)["status"] == "follow_up"


async def test_the_follow_up_question_of_the_desk_is_rated_like_the_result(svc, dispatcher, domain, ticket_no):
    # The handler sends the follow-up question in 跟进 (the desk's action); the chat route asks with its key.
    with svc.tickets.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(assignee="li"))
    version = ticket(svc, ticket_no)["version"]
    Lifecycle(svc.tickets.db, svc.settings).ask_follow_up(ticket_no, version, Viewer("li"))
    with svc.tickets.db.transaction() as session:
        key = session.execute(select(Notice.idempotency_key).where(Notice.kind == "follow_up")).scalar_one()
    question = OutgoingNotice(key, "follow_up", ticket_no, "conv-1", "rest", "回访……", asks_rating=True)
    [asked] = [e["value"] for e in chat_route.notice_events(question) if e.get("name") == "rating_notice"]
    t = tracker("还行吧", "rate", slots={"rating_notice": asked})
    events = slot_events(await ActionRate().run(dispatcher, t, domain))
    assert texts(dispatcher) == [replies.rating_thanks("basically_satisfied")] and events["rating_notice"] is None
    assert ticket(svc, ticket_no)["satisfaction"] == "basically_satisfied"
    with svc.tickets.db.transaction() as session:
        rated = session.execute(select(Notice.kind).join(Rating, Rating.notice_id == Notice.id)).scalar_one()
    assert rated == "follow_up"
