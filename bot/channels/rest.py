"""Rasa's REST channel plus a mailbox for messages that arrive between requests.

REST answers only the request that carried the user's message. An agent's reply,
a queue update or the hand-back greeting arrive later; a REST client fetches them
with `POST /webhooks/rest/messages {"sender": "...", "after": <timestamp>}`.
The sender id is the conversation's only secret on this channel: clients must
use long random ids (e.g. a UUID), as they must for the webhook itself.

The webhook is Rasa's (`POST /webhooks/rest/webhook {"sender", "message"}`,
answered with a list of bot messages) with its inputs bounded and its failures
told: a request without a sender would otherwise join the shared "default"
conversation, a client could name another channel as its own, and a turn that
fails inside Rasa (its lock store unreachable, say) was answered `200 []`. It
is now answered 503 with an apology the app can show, and the message counts
as not received.
"""
from __future__ import annotations

import json
import logging
import math
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import FAILED_TURN_TEXT, TOO_LONG_TEXT
from bot.channels.conversation_ids import BAD_ID_TEXT, is_safe_id
from bot.validators import MAX_TEXT_LENGTH

logger = logging.getLogger(__name__)

MAX_MESSAGES = 100
MAX_REQUEST_BYTES = 64 * 1024  # a message of MAX_TEXT_LENGTH characters is at most 15 KB of UTF-8
RETRY_AFTER_SECONDS = "5"

BAD_REQUEST_TEXT = (
    "请求格式不正确：需要一个不超过64KB的JSON对象，"
    "形如 {\"sender\": \"会话编号\", \"message\": \"消息文本\"}。"
)
BAD_MAILBOX_REQUEST_TEXT = "请求格式不正确：需要形如 {\"sender\": \"会话编号\", \"after\": 时间戳数字} 的JSON对象。"


def _body(request: Request) -> Optional[Dict[str, Any]]:
    """The request's JSON object; None when it is not one or is too large."""
    if len(request.body or b"") > MAX_REQUEST_BYTES:
        return None
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _refused(text: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": text}, status=status, headers={"Cache-Control": "no-store"})


def bot_messages_after(events: List[Mapping[str, Any]], after: float) -> List[Dict[str, Any]]:
    """Bot and agent texts newer than `after`, oldest first, at most MAX_MESSAGES."""
    found = []
    for event in events:
        if event.get("event") != "bot" or float(event.get("timestamp") or 0) <= after:
            continue
        agent = (event.get("metadata") or {}).get("agent")
        found.append({
            "text": event.get("text") or "",
            "timestamp": event.get("timestamp"),
            "agent": agent.get("name") if isinstance(agent, dict) else None,
        })
    return found[-MAX_MESSAGES:]


class RestChannel(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"  # same URL and tracker channel name as Rasa's own REST channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = _body(request)
            sender, text = (body.get("sender"), body.get("message")) if body else (None, None)
            if body is None or not isinstance(text, str):
                return _refused(BAD_REQUEST_TEXT)
            if not is_safe_id(sender):
                return _refused(BAD_ID_TEXT)
            if len(text) > MAX_TEXT_LENGTH:
                return response.json([{"recipient_id": sender, "text": TOO_LONG_TEXT}])
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name()))
            except Exception:
                logger.exception("Rasa turn for a REST message failed")
                return response.json([{"recipient_id": sender, "text": FAILED_TURN_TEXT}], status=503,
                                     headers={"Retry-After": RETRY_AFTER_SECONDS})
            return response.json(collector.messages)

        @blueprint.route("/messages", methods=["POST"])
        async def messages(request: Request) -> HTTPResponse:
            body = _body(request)
            try:
                sender, after = body["sender"], float(body.get("after", 0))  # type: ignore[index,union-attr]
            except (KeyError, TypeError, ValueError):
                return _refused(BAD_MAILBOX_REQUEST_TEXT)
            if not math.isfinite(after):
                return _refused(BAD_MAILBOX_REQUEST_TEXT)
            if not is_safe_id(sender):
                return _refused(BAD_ID_TEXT)
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
            events = [event.as_dict() for event in tracker.events] if tracker else []
            return response.json({"messages": bot_messages_after(events, after)},
                                 headers={"Cache-Control": "no-store"})

        return blueprint
