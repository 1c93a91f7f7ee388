"""Bursts: quick messages of one conversation answered as one turn.

People type a thought as several short messages ("在吗" "你好" "我要投诉"
"理赔拖了三个月"). Rasa takes each message as a turn of its own, one at a time
under the conversation's lock, so every message was answered as if the user
had read the previous answer: the welcome menu came once per greeting, and the
second half of a complaint was read as the answer to a question the user had
not seen yet (the apology and the policy-number question came twice).

Here a message waits while a turn of its conversation is running, and a
message sent within the burst window of the previous one, or of the previous
answer (too soon to have read it), waits that long for more. The messages that
wait together are joined, in order, into one message that Rasa answers once.
The answer goes to the output channel of the last of them (web chat and WeChat
reach the same user either way); the earlier ones' requests end without
answers of their own. A button tap (intent syntax) is never joined with typed
text: it waits for a turn of its own. A single message typed at a normal pace
is not delayed.

Coalescing is per process: with several Rasa replicas behind a balancer, the
messages of one conversation must reach one replica (sticky sessions) to be
joined; otherwise each replica answers its own part, as before.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.channels.channel import UserMessage

from bot.channels.user_text import is_intent_syntax
from bot.validators import MAX_TEXT_LENGTH

SEPARATOR = "\n"
MAX_HOLD_WINDOWS = 3  # a burst that goes on is answered after at most this many windows

Handler = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class _Batch:
    """Messages waiting together for the conversation's next turn."""

    messages: List[UserMessage]
    last_arrival: float
    done: "asyncio.Future[None]" = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def accepts(self, message: UserMessage) -> bool:
        texts = [*(m.text or "" for m in self.messages), message.text or ""]
        if any(is_intent_syntax(text) for text in texts):
            return False
        return len(SEPARATOR.join(texts)) <= MAX_TEXT_LENGTH

    def joined(self) -> UserMessage:
        """One message with every text, carried by the last message's channel and ids."""
        last = self.messages[-1]
        if len(self.messages) == 1:
            return last
        metadata = dict(last.metadata or {})
        metadata["burst"] = [m.text for m in self.messages]
        metadata["burst_ids"] = [m.message_id for m in self.messages]  # the chat page's history shows each part
        return UserMessage(
            SEPARATOR.join(m.text or "" for m in self.messages),
            last.output_channel,
            last.sender_id,
            input_channel=last.input_channel,
            message_id=last.message_id,
            metadata=metadata,
        )


@dataclass
class _Conversation:
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: List[_Batch] = field(default_factory=list)
    users: int = 0


class Bursts:
    """Wraps a channel's `on_new_message` so that a burst is answered once per turn."""

    def __init__(self, handle: Handler, window_seconds: float = 0.0) -> None:
        self._handle = handle
        self._window = window_seconds
        self._conversations: Dict[str, _Conversation] = {}
        self._last_seen: Dict[str, float] = {}  # a message's arrival or an answer's end

    def _quick(self, sender: str, now: float) -> bool:
        """Whether this message follows the conversation's previous message or answer within the window."""
        for other, moment in list(self._last_seen.items()):
            if now - moment > self._window:
                del self._last_seen[other]
        quick = sender in self._last_seen
        self._last_seen[sender] = now
        return quick

    async def _hold(self, batch: _Batch) -> None:
        """Waits until the burst has been quiet for a window (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._window * MAX_HOLD_WINDOWS
        while (wake := min(batch.last_arrival + self._window, deadline)) > loop.time():
            await asyncio.sleep(wake - loop.time())

    async def __call__(self, message: UserMessage) -> None:
        """Processes the message, alone or joined with the others that waited with it."""
        sender = message.sender_id
        now = asyncio.get_running_loop().time()
        quick = self._window > 0 and self._quick(sender, now)
        conversation = self._conversations.setdefault(sender, _Conversation())
        conversation.users += 1
        try:
            if conversation.waiting and conversation.waiting[-1].accepts(message):
                batch = conversation.waiting[-1]
                batch.messages.append(message)
                batch.last_arrival = now
                await asyncio.shield(batch.done)
                return
            batch = _Batch([message], now)
            conversation.waiting.append(batch)
            if quick:
                await self._hold(batch)
            async with conversation.turn:
                conversation.waiting.remove(batch)
                try:
                    await self._handle(batch.joined())
                except BaseException as exc:
                    if len(batch.messages) > 1:  # the joined messages' requests fail with it
                        batch.done.set_exception(exc)
                    raise
                batch.done.set_result(None)
                if self._window > 0:
                    self._last_seen[sender] = asyncio.get_running_loop().time()
        finally:
            conversation.users -= 1
            if conversation.users == 0:
                del self._conversations[sender]
