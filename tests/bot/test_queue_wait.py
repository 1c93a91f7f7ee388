"""Where a waiting user stands, the rough wait, giving up the place, and the offline notices (bot/queue_wait.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.agents import AgentService, Role
from bot.db import Database
from bot.handoff import HandoffReason, HandoffService
from bot.queue_wait import OfflineNotices, QueueWaits, estimate_minutes, wants_to_leave_message
from bot.settings import Settings
from tests.bot.clocks import Clock


@pytest.mark.parametrize("text", ["等不了了 我留言吧", "算了，给我回电吧", "留个言", "让人打电话给我"])
def test_asking_to_leave_a_message_instead_of_waiting(text: str) -> None:
    assert wants_to_leave_message(text)


@pytest.mark.parametrize("text", ["还要等多久啊", "不留言，我就等人工", "不用留了我等着", "人呢？？"])
def test_other_messages_are_not_a_wish_to_leave_a_message(text: str) -> None:
    assert not wants_to_leave_message(text)


def test_the_estimate_is_the_median_recent_wait_times_the_position() -> None:
    waits = [timedelta(minutes=minutes) for minutes in (2, 4, 30)]
    assert estimate_minutes(waits, 1) == 4
    assert estimate_minutes(waits, 3) == 12
    assert estimate_minutes([timedelta(seconds=10)] * 3, 1) == 1  # never "about 0 minutes"
    assert estimate_minutes(waits[:2], 1) is None  # too little history to say


def test_a_waiting_user_stands_behind_the_earlier_ones_with_an_estimate_from_recent_waits(
    db: Database, settings: Settings
) -> None:
    clock = Clock()
    handoffs = HandoffService(db, settings, clock)
    agent = AgentService(db, clock).add("wang", "王小明", "a-long-password", Role.AGENT)
    for index in range(3):  # three users an agent took after 6 minutes
        handoffs.request(f"earlier-{index}", "rest", HandoffReason.USER_REQUEST, {})
        clock.advance(minutes=6)
        handoffs.claim(handoffs.queue()[0]["id"], agent)
    handoffs.request("first", "rest", HandoffReason.USER_REQUEST, {})
    handoffs.request("second", "web", HandoffReason.USER_REQUEST, {})
    waits = QueueWaits(db, clock)

    first, second = waits.standing("first"), waits.standing("second")
    assert first is not None and (first.position, first.minutes) == (1, 6)
    assert second is not None and (second.position, second.minutes) == (2, 12)
    assert waits.standing("earlier-0") is None  # an agent holds it
    assert waits.standing("nobody") is None
    assert waits.waiting_conversations() == ["first", "second"]

    assert waits.withdraw("first") and not waits.withdraw("first")
    assert not handoffs.is_active("first")
    after = waits.standing("second")
    assert after is not None and after.position == 1
    assert not waits.withdraw("earlier-0")  # held by an agent: not the user's to give up


def test_waits_older_than_a_day_are_not_used(db: Database, settings: Settings) -> None:
    clock = Clock()
    handoffs = HandoffService(db, settings, clock)
    agent = AgentService(db, clock).add("wang", "王小明", "a-long-password", Role.AGENT)
    for index in range(3):
        handoffs.request(f"earlier-{index}", "rest", HandoffReason.USER_REQUEST, {})
        handoffs.claim(handoffs.queue()[0]["id"], agent)
    clock.advance(days=2)
    handoffs.request("now", "rest", HandoffReason.USER_REQUEST, {})
    standing = QueueWaits(db, clock).standing("now")
    assert standing is not None and standing.minutes is None


def test_each_waiting_user_is_told_once_per_spell_without_agents() -> None:
    notices = OfflineNotices()
    assert notices.due(True, ["a", "b"]) == []
    assert notices.due(False, ["a", "b"]) == ["a", "b"]
    notices.sent("a")
    assert notices.due(False, ["a", "b", "c"]) == ["b", "c"]  # b was not reached yet
    notices.sent("b")
    notices.sent("c")
    assert notices.due(False, ["a", "b", "c"]) == []
    assert notices.due(True, ["a", "b", "c"]) == []  # an agent is back
    assert notices.due(False, ["a"]) == ["a"]  # the next spell tells again
