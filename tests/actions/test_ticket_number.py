"""'那我的投诉编号是多少？': answered from the ticket created in this conversation, by the bot or at the desk."""

from __future__ import annotations

import asyncio

from actions.ticket_number import ActionTellTicketNumber
from bot import replies
from tests.actions.trackers import texts, tracker


def test_the_number_of_this_conversations_ticket_is_told(dispatcher, domain):
    asked = tracker("那我的投诉编号是多少？", "ask_ticket_number", slots={"last_ticket_no": "TS20261128000042"})
    events = asyncio.run(ActionTellTicketNumber().run(dispatcher, asked, domain))
    assert events == []
    assert texts(dispatcher) == [replies.ticket_number_reminder("TS20261128000042")]
    assert "TS20261128000042" in texts(dispatcher)[0]


def test_without_a_ticket_the_user_is_told_how_to_find_an_older_one(dispatcher, domain):
    for slot in (None, "<script>", 42):  # never set, or a forged value
        dispatcher.messages.clear()
        asked = tracker("我的编号呢", "ask_ticket_number", slots={"last_ticket_no": slot})
        asyncio.run(ActionTellTicketNumber().run(dispatcher, asked, domain))
        assert texts(dispatcher) == [replies.NO_TICKET_IN_CONVERSATION]
