"""Getting bot and agent texts to a WeChat user: passively within the 5-second
window, otherwise through the customer-service API.

Texts are merged into as few messages as the size limit allows, because the
customer-service API allows only a handful of messages per user message.
Failures are logged and recorded for the desk; they never propagate into Rasa.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, List, Sequence

from bot.channels.wechat.api import CustomerServiceApi, WeChatApiError
from bot.channels.wechat.messages import merge_texts

logger = logging.getLogger(__name__)

# (conversation_id, channel, code, message) → None; runs in a worker thread (it touches the database).
FailureRecorder = Callable[[str, str, str, str], None]


class Delivery:
    def __init__(
        self, api: CustomerServiceApi, record_failure: FailureRecorder, channel: str, max_bytes: int = 2048
    ) -> None:
        self.api = api
        self.record_failure = record_failure
        self.channel = channel
        self.max_bytes = max_bytes

    async def send(self, conversation_id: str, openid: str, texts: Sequence[str]) -> bool:
        """Sends ``texts`` merged; True if every message was accepted by WeChat."""
        for message in merge_texts(texts, self.max_bytes):
            try:
                await self.api.send_text(openid, message)
            except WeChatApiError as error:
                logger.warning("WeChat delivery to %s failed: %s %s", conversation_id, error.code, error.message)
                await self._record(conversation_id, error.code, error.explanation)
                # The rest would fail the same way (quota, window) and count against the quota.
                return False
            except Exception:  # never let a delivery problem crash a Rasa turn or API call
                logger.exception("WeChat delivery to %s failed unexpectedly", conversation_id)
                await self._record(conversation_id, "internal", "发送客服消息时出现内部错误")
                return False
        return True

    async def _record(self, conversation_id: str, code: str, message: str) -> None:
        try:
            await asyncio.to_thread(self.record_failure, conversation_id, self.channel, code, message)
        except Exception:
            logger.exception("could not record a WeChat delivery failure for %s", conversation_id)


COLLECTING, PUSHING, CLOSED = "collecting", "pushing", "closed"


class TurnReplies:
    """The bot's texts for one inbound message.

    While the turn runs within the passive window the texts are only collected;
    the webhook takes them for its passive reply. If the window closes first,
    the webhook hands over and everything goes through the API when the turn
    ends. Texts arriving after that (e.g. reminders) are pushed at once.
    """

    def __init__(self, delivery: Delivery, conversation_id: str, openid: str) -> None:
        self.delivery = delivery
        self.conversation_id = conversation_id
        self.openid = openid
        self._texts: List[str] = []
        self._state = COLLECTING

    async def add(self, text: str) -> None:
        if self._state == CLOSED:
            await self.delivery.send(self.conversation_id, self.openid, [text])
        else:
            self._texts.append(text)

    def take(self) -> List[str]:
        """The turn ended in time: the texts go into the passive reply."""
        texts, self._texts, self._state = self._texts, [], CLOSED
        return texts

    def hand_over(self) -> None:
        """The passive window closed before the turn ended."""
        self._state = PUSHING

    async def turn_finished(self) -> None:
        if self._state == PUSHING:
            texts, self._texts, self._state = self._texts, [], CLOSED
            if texts:
                await self.delivery.send(self.conversation_id, self.openid, texts)
