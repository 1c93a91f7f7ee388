"""The follow-up question of 跟进: queued with the rating question, only in 跟进, not when rated, not twice at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.lifecycle import Lifecycle, StaleTicket
from bot.models import Notice, Ticket, TicketEvent
from bot.satisfaction import RatingOutcome, record_rating
from bot.tickets import LifecycleError
from tests.bot.clocks import Clock
from tests.bot.sample_tickets import AGENT_LI, AGENT_WANG, SUPERVISOR, shanghai, submit

RECEIVED = shanghai(2026, 6, 1, 10)
RESULT = {
    "findings": "经调取理赔档案，材料已于5月10日齐全，审核超时",
    "decision": "全额赔付住院医疗保险金12,000元",
    "decision_basis": "保险合同第五条",
    "outcome": "upheld",
    "result_notice": "赔款将于3个工作日内转入您的收款账户",
}


@pytest.fixture
def clock():
    return Clock(RECEIVED + timedelta(days=5))


@pytest.fixture
def lifecycle(db, settings, clock):
    return Lifecycle(db, settings, clock=clock)


@pytest.fixture
def ticket_no(db, settings):
    """li's ticket of conversation "c" with its result decided, at 反馈."""
    return submit(db, settings, RECEIVED, {"assignee": "li", "status": "feedback", **RESULT}, conversation_id="c")


def at_follow_up(lifecycle, ticket_no) -> dict:
    """Leaves 反馈 (queueing the result notice): the ticket is in 跟进."""
    return lifecycle.advance(ticket_no, "follow_up", {}, 1, AGENT_LI)


def notices(db, ticket_no):
    with db.transaction() as session:
        rows = session.execute(
            select(Notice).join(Ticket, Ticket.id == Notice.ticket_id).where(Ticket.ticket_no == ticket_no)
        ).scalars()
        return [notice.as_dict() | {"key": notice.idempotency_key, "ticket_id": notice.ticket_id} for notice in rows]


def version_of(db, ticket_no) -> int:
    with db.transaction() as session:
        return session.execute(select(Ticket.version).where(Ticket.ticket_no == ticket_no)).scalar_one()


def mark_sent(db, kind):
    with db.transaction() as session:
        session.execute(update(Notice).where(Notice.kind == kind).values(status="sent"))


def refused(call, message):
    with pytest.raises(LifecycleError) as caught:
        call()
    assert str(caught.value) == message


def test_in_follow_up_the_question_is_queued_with_the_rating_question_and_audited(lifecycle, db, ticket_no, clock):
    ticket = at_follow_up(lifecycle, ticket_no)
    assert lifecycle.case_file(ticket_no)["follow_up_refusal"] is None
    asked = lifecycle.ask_follow_up(ticket_no, ticket["version"], AGENT_LI)
    assert asked["version"] == ticket["version"] + 1 and asked["status"] == "follow_up"
    result, follow_up = notices(db, ticket_no)
    assert result["kind"] == "result"
    ticket_id = result["ticket_id"]
    assert follow_up["kind"] == "follow_up" and follow_up["asks_rating"] is True and follow_up["status"] == "pending"
    assert follow_up["key"] == f"follow_up:{ticket_id}:v{ticket['version']}"
    assert ticket_no in follow_up["body"] and "处理结果的意见" in follow_up["body"]
    # The ticket page lists it like the others, named as the template file names it.
    listed = lifecycle.case_file(ticket_no)["notices"]
    assert [(n["kind"], n["kind_label"]) for n in listed] == [("result", "处理结果告知"), ("follow_up", "回访")]
    with db.transaction() as session:
        audited = session.execute(
            select(TicketEvent.field, TicketEvent.new_value, TicketEvent.actor).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.field == "follow_up_question"
            )
        ).all()
    assert [tuple(row) for row in audited] == [("follow_up_question", "已提交发送，请投诉人评价处理结果", "li")]


@pytest.mark.parametrize("status, step", [("feedback", "反馈"), ("processing", "处理"), ("closed", "结案")])
def test_outside_follow_up_it_is_refused(lifecycle, db, ticket_no, status, step):
    with db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(status=status))
    message = f"工单当前处于{step}环节，只有跟进环节可以发送回访问题"
    refused(lambda: lifecycle.ask_follow_up(ticket_no, 1, AGENT_LI), message)
    assert lifecycle.case_file(ticket_no)["follow_up_refusal"] == message
    assert notices(db, ticket_no) == []


def test_a_second_question_is_refused_while_the_first_waits_then_allowed_once_sent(lifecycle, db, ticket_no):
    version = at_follow_up(lifecycle, ticket_no)["version"]
    version = lifecycle.ask_follow_up(ticket_no, version, AGENT_LI)["version"]
    refused(lambda: lifecycle.ask_follow_up(ticket_no, version, AGENT_LI), "回访问题已在发送中")
    assert lifecycle.case_file(ticket_no)["follow_up_refusal"] == "回访问题已在发送中"
    # The page's old version is refused as for every change (no second notice from a replayed click).
    with pytest.raises(StaleTicket):
        lifecycle.ask_follow_up(ticket_no, version - 1, AGENT_LI)
    mark_sent(db, "follow_up")  # delivered, not answered: the handler may ask again, a new notice
    lifecycle.ask_follow_up(ticket_no, version, AGENT_LI)
    keys = [n["key"] for n in notices(db, ticket_no) if n["kind"] == "follow_up"]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_a_complainant_who_rated_the_result_is_not_asked_again(lifecycle, db, ticket_no, clock):
    at_follow_up(lifecycle, ticket_no)
    [result] = notices(db, ticket_no)
    clock.advance(hours=2)
    rated = record_rating(db, conversation_id="c", rating="basically_satisfied", notice_key=result["key"], now=clock())
    assert rated.outcome is RatingOutcome.RECORDED
    message = "投诉人已对本次处理作出评价（基本满意），无需再发送回访问题"
    refused(lambda: lifecycle.ask_follow_up(ticket_no, version_of(db, ticket_no), AGENT_LI), message)
    assert lifecycle.case_file(ticket_no)["follow_up_refusal"] == message


def test_a_rating_of_an_earlier_result_does_not_stop_the_question_about_the_new_one(lifecycle, db, ticket_no, clock):
    at_follow_up(lifecycle, ticket_no)
    [first] = notices(db, ticket_no)
    clock.advance(hours=2)
    # 不满意: the ticket goes back to 处理, is decided again and told again (a new result notice).
    record_rating(db, conversation_id="c", rating="dissatisfied", notice_key=first["key"], now=clock())
    clock.advance(days=1)
    content = {"decision": "补足差额赔付"}
    ticket = lifecycle.advance(ticket_no, "follow_up", content, version_of(db, ticket_no), AGENT_LI)
    assert lifecycle.case_file(ticket_no)["follow_up_refusal"] is None
    lifecycle.ask_follow_up(ticket_no, ticket["version"], AGENT_LI)
    assert [n["kind"] for n in notices(db, ticket_no)] == ["result", "result", "follow_up"]


def test_only_the_owner_or_a_supervisor_asks(lifecycle, db, ticket_no):
    version = at_follow_up(lifecycle, ticket_no)["version"]
    refused(lambda: lifecycle.ask_follow_up(ticket_no, version, AGENT_WANG), "该工单不由您负责")
    assert lifecycle.ask_follow_up(ticket_no, version, SUPERVISOR)["version"] == version + 1


def test_the_answer_to_the_question_is_the_tickets_rating(lifecycle, db, ticket_no, clock):
    version = at_follow_up(lifecycle, ticket_no)["version"]
    lifecycle.ask_follow_up(ticket_no, version, AGENT_LI)
    mark_sent(db, "follow_up")
    follow_up = next(n for n in notices(db, ticket_no) if n["kind"] == "follow_up")
    clock.advance(days=1)
    rated = record_rating(db, conversation_id="c", rating="satisfied", notice_key=follow_up["key"], now=clock())
    assert rated.outcome is RatingOutcome.RECORDED and rated.ticket_no == ticket_no and not rated.sent_back
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        assert ticket.satisfaction == "satisfied" and ticket.status == "follow_up"
    again = record_rating(db, conversation_id="c", rating="dissatisfied", notice_key=follow_up["key"], now=clock())
    assert again.outcome is RatingOutcome.REPEATED and again.rating == "satisfied"
    # Rated now: no further question.
    refusal = lifecycle.case_file(ticket_no)["follow_up_refusal"]
    assert refusal == "投诉人已对本次处理作出评价（满意），无需再发送回访问题"


def test_dissatisfied_with_the_follow_up_sends_the_ticket_back(lifecycle, db, ticket_no, clock):
    version = at_follow_up(lifecycle, ticket_no)["version"]
    lifecycle.ask_follow_up(ticket_no, version, AGENT_LI)
    follow_up = next(n for n in notices(db, ticket_no) if n["kind"] == "follow_up")
    rated = record_rating(
        db, conversation_id="c", rating="dissatisfied", notice_key=follow_up["key"], reason="赔款未到账", now=clock()
    )
    assert rated.outcome is RatingOutcome.RECORDED and rated.sent_back
    with db.transaction() as session:
        status = session.execute(select(Ticket.status).where(Ticket.ticket_no == ticket_no)).scalar_one()
    assert status == "processing"
