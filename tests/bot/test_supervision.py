"""Supervision of a live conversation, on SQLite and PostgreSQL: whispers, take-over, reassignment."""

from __future__ import annotations

import pytest

from bot.agents import AgentService, Role
from bot.handoff import ClaimError, HandoffReason, HandoffService
from bot.supervision import Handover, Supervision


@pytest.fixture
def people(db):
    service = AgentService(db)
    return {
        "wang": service.add("wang", "王小明", "a-long-password", Role.AGENT),
        "li": service.add("li", "李娜", "a-long-password", Role.AGENT),
        "zhou": service.add("zhou", "周主管", "a-long-password", Role.SUPERVISOR),
    }


@pytest.fixture
def held(db, settings, people):
    handoffs = HandoffService(db, settings)
    request_id = handoffs.request("conv-a", "rest", HandoffReason.USER_REQUEST, {}).id
    handoffs.claim(request_id, people["wang"])
    return request_id


def test_whispers_are_kept_for_the_holder_and_supervisors(db, people, held):
    supervision = Supervision(db)
    with pytest.raises(ClaimError, match="只有主管"):
        supervision.whisper(held, people["wang"], "我能悄悄说吗")
    sent = supervision.whisper(held, people["zhou"], "先别承诺赔付")
    assert supervision.whispers(held, people["wang"]) == [sent] and sent["author_name"] == "周主管"
    with pytest.raises(ClaimError):
        supervision.whispers(held, people["li"])


def test_take_over_and_reassign_move_the_conversation(db, settings, people, held):
    supervision, handoffs = Supervision(db), HandoffService(db, settings)
    assert supervision.reassign(held, people["zhou"], "li") == Handover("conv-a", "王小明", "李娜")
    with pytest.raises(ClaimError, match="由 李娜 处理"):
        handoffs.touch(held, people["wang"])
    assert supervision.take_over(held, people["zhou"]) == Handover("conv-a", "李娜", "周主管")
    assert handoffs.get(held)["assigned_to"] == "zhou"
    with pytest.raises(ClaimError, match="已在处理"):
        supervision.take_over(held, people["zhou"])
    with pytest.raises(ClaimError, match="只有主管"):
        supervision.reassign(held, people["li"], "li")
    AgentService(db).deactivate("wang")
    with pytest.raises(ClaimError, match="没有这个在职坐席"):
        supervision.reassign(held, people["zhou"], "wang")
    assert supervision.names()["wang"] == "王小明"  # a deactivated account still signs its old records


def test_an_ended_conversation_cannot_be_supervised(db, settings, people, held):
    HandoffService(db, settings).finish(held, people["wang"], "closed")
    supervision = Supervision(db)
    for attempt in (
        lambda: supervision.whisper(held, people["zhou"], "x"),
        lambda: supervision.take_over(held, people["zhou"]),
        lambda: supervision.reassign(held, people["zhou"], "li"),
    ):
        with pytest.raises(ClaimError, match="已结束"):
            attempt()
