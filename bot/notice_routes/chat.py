"""The chat route: a notice spoken into the complainant's conversation through Rasa's HTTP API.

Rasa delivers the appended bot messages on the channel the user last wrote from
(`output_channel=latest`: the web chat's open socket, the REST mailbox) and keeps
them in the tracker, so the web chat shows them in its history when the page is
opened again. The events follow the contract of issue 16: the notice as a bot
message with metadata `notice` (its idempotency key) and `notice_kind`; for a
notice that asks for a rating, the slot `rating_notice` and the rating question
with its buttons. An acknowledgement also sets `last_ticket_no`, so "我的投诉编号
是多少" is answered with the number, as after the bot's own confirmation.

Never twice: before appending, the conversation is read; a bot message carrying
this key means a previous attempt delivered it (and crashed before recording),
so AlreadyDelivered is raised instead of speaking again.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from bot.desk.rasa_client import RasaConversations, RasaUnavailable, UnaddressableConversation
from bot.notice_routes.route import AlreadyDelivered, DeliveryError, OutgoingNotice
from bot.satisfaction import rating_request
from bot.settings import Settings

log = logging.getLogger(__name__)

# Input channels whose conversation the chat route can reach (Rasa's tracker channel names).
CHAT_CHANNELS = ("web", "socketio", "rest")
# Channels whose conversation Rasa keeps, where a notice sent another way is recorded.
CONVERSATION_CHANNELS = (*CHAT_CHANNELS, "wechat")


def notice_events(notice: OutgoingNotice) -> List[Dict[str, Any]]:
    """The events that deliver `notice` into its conversation."""
    events: List[Dict[str, Any]] = []
    if notice.kind == "acknowledgement":
        events.append({"event": "slot", "name": "last_ticket_no", "value": notice.ticket_no})
    events.append({"event": "bot", "text": notice.text, "metadata": {"notice": notice.key, "notice_kind": notice.kind}})
    if notice.asks_rating:
        events += rating_request("rating_notice", notice.key, {"notice": notice.key})
    return events


def delivered(events: List[Dict[str, Any]], key: str) -> bool:
    """Whether a bot message of the notice `key` is in the conversation already."""
    for event in events:
        metadata = event.get("metadata")
        if event.get("event") == "bot" and isinstance(metadata, dict) and metadata.get("notice") == key:
            return True
    return False


class ChatRoute:
    name = "chat"
    deduplicates = True  # reads the conversation first (AlreadyDelivered)

    def __init__(self, settings: Settings, rasa: Optional[RasaConversations] = None) -> None:
        self.rasa = rasa or RasaConversations(settings)

    def unavailable(self) -> Optional[str]:
        return None  # whether Rasa answers is found out by trying (a retryable failure)

    async def deliver(self, notice: OutgoingNotice) -> None:
        if not notice.conversation_id:
            raise DeliveryError("no_conversation", "工单没有关联的对话", retryable=False)
        try:
            if delivered(await self.rasa.events(notice.conversation_id), notice.key):
                raise AlreadyDelivered(notice.key)
            await self.rasa.append(notice.conversation_id, notice_events(notice))
        except UnaddressableConversation as exc:
            raise DeliveryError("unaddressable", "对话编号无法通过机器人接口访问", retryable=False) from exc
        except RasaUnavailable as exc:
            raise DeliveryError("rasa_unavailable", f"机器人服务暂时不可用：{exc}", retryable=True) from exc

    async def keep(self, notice: OutgoingNotice) -> None:
        """Records a notice another route delivered in its conversation, unsent: the history shows it and a
        rating answered in the conversation (WeChat's numbered replies) finds the notice it rates."""
        try:
            if not delivered(await self.rasa.events(notice.conversation_id), notice.key):
                await self.rasa.append(notice.conversation_id, notice_events(notice), False)
        except RasaUnavailable as exc:  # delivered all the same; only the history misses it
            log.warning("notice %s delivered but not kept in its conversation: %s", notice.key, exc)
