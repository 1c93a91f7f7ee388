"""Answers to a user who writes while waiting for an agent, on every channel.

While a conversation waits in the queue Rasa keeps it paused: a message is
recorded for the agent and nothing answers it, so "还要等多久啊" met silence.
After such a turn the user is told their place and a rough wait
(bot/queue_wait.py), with the way out; "等不了了 我留言吧" gives up the place,
lifts the pause and opens the 留言 (`callback_form`) with the wish already
taken. Once an agent holds the conversation nothing is added: the agent answers.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, Sanic

from bot import replies
from bot.db import Database
from bot.queue_wait import QueueWaits, wants_to_leave_message
from bot.settings import Settings

CALLBACK_FORM = "callback_form"

Handler = Callable[[UserMessage], Awaitable[Any]]


class QueuedAnswers:
    """Wraps a channel's `on_new_message`; `attach` it to the channel's blueprint to find Rasa's agent."""

    def __init__(self, handle: Handler, settings: Settings) -> None:
        self._handle = handle
        self._settings = settings
        self._app: Optional[Sanic] = None
        self._queue: Optional[QueueWaits] = None

    def attach(self, blueprint: Blueprint) -> None:
        async def bind(app: Sanic, _loop: Any) -> None:
            self._app = app

        blueprint.before_server_start(bind)

    def _waits(self) -> QueueWaits:
        if self._queue is None:
            self._queue = QueueWaits(Database(self._settings.database_url))
        return self._queue

    async def __call__(self, message: UserMessage) -> None:
        await self._handle(message)
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or not message.text:
            return
        # The handoff table first: one indexed query, where the tracker is a conversation's every event.
        standing = await asyncio.to_thread(self._waits().standing, message.sender_id)
        if standing is None:
            return
        async with agent.lock_store.lock(message.sender_id):
            tracker = await agent.tracker_store.retrieve(message.sender_id)
            # Answered already: this very turn queued the user ("已为您转接…"). Slots the message filled
            # (an entity it carries) may follow it; an action or a bot message may not.
            last = next((e for e in reversed(tracker.events) if not isinstance(e, SlotSet)), None) if tracker else None
            if tracker is None or not tracker.is_paused() or not isinstance(last, UserUttered):
                return
            if not wants_to_leave_message(message.text):
                await _say(agent, tracker, message, replies.queue_standing(standing.position, standing.minutes))
                return
        if await asyncio.to_thread(self._waits().withdraw, message.sender_id):
            await self._leave_message(agent, message)

    async def _leave_message(self, agent: Any, message: UserMessage) -> None:
        """Lifts the pause and opens the 留言 form, whose offer the user has already accepted."""
        async with agent.lock_store.lock(message.sender_id):
            tracker = await agent.tracker_store.retrieve(message.sender_id)
            tracker.update(ConversationResumed())
            tracker.update(SlotSet("callback_wanted", True))
            tracker.update(SlotSet("requested_slot", None))
            tracker.update(SlotSet("validation_failures", None))
            await _say(agent, tracker, message, replies.QUEUE_LEFT_FOR_MESSAGE)
            tracker = await agent.execute_action(message.sender_id, CALLBACK_FORM, message.output_channel, None, None)
            if tracker is not None:
                tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
                await agent.tracker_store.save(tracker)


async def _say(agent: Any, tracker: DialogueStateTracker, message: UserMessage, text: str) -> None:
    """Sends the text through the turn's channel and keeps it in the conversation's history."""
    await message.output_channel.send_text_message(message.sender_id, text)
    tracker.update(BotUttered(text, metadata={"queue": True}))
    await agent.tracker_store.save(tracker)
