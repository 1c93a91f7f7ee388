"""The rating after a result notice, against the real servers: the notice's events are appended to the
conversation through Rasa's HTTP API as the chat route appends them (the contract of issue 16), and the
policyholder answers through the REST channel."""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import select

from bot import replies
from bot.models import Alert, Rating, Ticket
from tests.e2e.mailbox import wait_for_message
from tests.e2e.notice_delivery import append, joined, new_sender, notice_events, ticket, ticket_with_result


def test_dissatisfied_with_the_result_sends_the_ticket_back_with_an_alert(assistant):
    sender = new_sender()
    assistant.texts(sender, "你好")
    ticket_no, key = ticket_with_result(assistant, sender)
    delivered_at = time.time()
    append(assistant, sender, notice_events(key))
    # The policyholder receives the result and the question with its buttons on their channel.
    wait_for_message(assistant, sender, delivered_at, "同意全额赔付")
    wait_for_message(assistant, sender, delivered_at, "请您对本次投诉处理进行评价")
    [question] = [e for e in assistant.tracker(sender)["events"] if e["event"] == "bot" and "评价" in e["text"]]
    assert [b["title"] for b in question["data"]["buttons"]] == ["满意", "基本满意", "不满意"]

    asked = joined(assistant.texts(sender, '/rate{"rating":"dissatisfied"}'))  # the button
    assert "不满意的原因" in asked
    assert ticket(assistant, ticket_no)["status"] == "follow_up"  # nothing changes before the reason

    told = joined(assistant.texts(sender, "赔付金额和合同约定的不一样，少算了住院津贴"))
    assert ticket_no in told and "退回重新处理" in told and "核查" in told and "30日" in told
    after = ticket(assistant, ticket_no)
    assert after["status"] == "processing" and after["satisfaction"] == "dissatisfied"
    with assistant.db.transaction() as session:
        [(kind, message)] = session.execute(
            select(Alert.kind, Alert.message)
            .join(Ticket, Ticket.id == Alert.ticket_id)
            .where(Ticket.ticket_no == ticket_no)
        ).all()
        reason = session.execute(select(Rating.reason).where(Rating.conversation_id == sender)).scalar_one()
    assert kind == "dissatisfied" and "少算了住院津贴" in message and "少算了住院津贴" in reason

    # Answered once: a later answer is thanked, not stored.
    again = joined(assistant.texts(sender, "满意"))
    assert replies.RATING_NOT_ASKED in again
    assert ticket(assistant, ticket_no)["satisfaction"] == "dissatisfied"


def test_the_user_who_starts_something_else_is_followed_and_can_rate_later(assistant):
    sender = new_sender()
    assistant.texts(sender, "你好")
    ticket_no, key = ticket_with_result(assistant, sender)
    append(assistant, sender, notice_events(key))
    materials = joined(assistant.texts(sender, "理赔需要什么材料"))
    assert "材料" in materials and "评价" not in materials
    assert ticket(assistant, ticket_no)["satisfaction"] is None
    # The question is still open: typed words answer it.
    assert "感谢您的评价" in joined(assistant.texts(sender, "还行吧"))
    assert ticket(assistant, ticket_no)["satisfaction"] == "basically_satisfied"
    # The same notice delivered again (a retry on another route) and answered again: once only.
    append(assistant, sender, notice_events(key))
    assert replies.RATING_REPEATED in joined(assistant.texts(sender, "不满意"))
    assert ticket(assistant, ticket_no)["status"] == "follow_up"


def test_a_rating_days_after_the_last_message_still_counts(assistant):
    """The notice reaches a conversation whose session has expired: the answer starts a new session
    (action_session_start), which keeps the question asked."""
    sender = new_sender()
    assistant.texts(sender, "你好")
    ticket_no, key = ticket_with_result(assistant, sender)
    # The conversation so far moved three days back (Rasa ends a session 60 minutes after the user's last
    # message; its tracker store reads the latest session by the events' timestamps, column and JSON alike).
    with sqlite3.connect(assistant.settings.var_dir / "tracker.db") as tracker_db:
        tracker_db.execute(
            "UPDATE events SET timestamp = timestamp - :gap, "
            "data = json_set(data, '$.timestamp', json_extract(data, '$.timestamp') - :gap) WHERE sender_id = :sender",
            {"gap": 3 * 24 * 3600, "sender": sender},
        )
    append(assistant, sender, notice_events(key))
    answer = joined(assistant.texts(sender, "1"))  # the numbered reply WeChat and SMS users send
    assert "感谢您的评价" in answer
    assert ticket(assistant, ticket_no)["satisfaction"] == "satisfied"
    with sqlite3.connect(assistant.settings.var_dir / "tracker.db") as tracker_db:
        sessions = tracker_db.execute(
            "SELECT COUNT(*) FROM events WHERE sender_id = ? AND type_name = 'session_started'", (sender,)
        ).fetchone()[0]
    assert sessions == 2  # the answer was the first message of a new session
