"""Rasa's REST channel plus a mailbox for messages that arrive between requests.

REST answers only the request that carried the user's message. An agent's reply,
a queue update or the hand-back greeting arrive later; a REST client fetches them
with `POST /webhooks/rest/messages {"sender": "...", "after": <timestamp>}`.

The client chooses the conversation id (`sender`), so the id proves nothing.
The answer to the message that creates a conversation carries its secret in the
`X-Conversation-Secret` header (bot/channels/conversation_secret.py); every
later message and every mailbox read must present it (header, or a `secret`
field in the body), or is refused with 403. A message without a secret is
taken only while the conversation does not exist, one at a time per id. Ids of
other channels' conversations (`web-…`, `wx:…`) are refused, so a REST client
can neither read them nor redirect their agent replies.

Requests are limited per client address (bot/channels/rate_limit.py), answered
429 with a Chinese message. What Rasa receives of a message is bot/channels/user_text.py's: storable text,
and intent syntax (`/intent{...}`) only for a button the bot just offered.

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

from bot import crypto as field_crypto
from bot.channels import FAILED_TURN_TEXT, TOO_LONG_TEXT
from bot.channels.conversation_ids import BAD_ID_TEXT, RESERVED_ID_TEXT, is_reserved, is_safe_id
from bot.channels.conversation_secret import (
    BODY_FIELD as SECRET_FIELD,
)
from bot.channels.conversation_secret import (
    HEADER as SECRET_HEADER,
)
from bot.channels.conversation_secret import (
    MISSING_SECRET_TEXT,
    WRONG_SECRET_TEXT,
    ConversationSecrets,
)
from bot.channels.rate_limit import CLIENT_ADDRESS_KEY, RATE_LIMITED_TEXT, ClientRateLimit, forwarded_for
from bot.channels.turns import channel_turns
from bot.channels.user_text import passed_on
from bot.settings import Settings
from bot.validators import MAX_TEXT_LENGTH

logger = logging.getLogger(__name__)

MAX_MESSAGES = 100
MAX_REQUEST_BYTES = 64 * 1024  # a message of MAX_TEXT_LENGTH characters is at most 15 KB of UTF-8
RETRY_AFTER_SECONDS = "5"
# Lock-store key of a conversation's first message; ':' keeps it out of every channel's ids.
FIRST_MESSAGE_LOCK = "rest-first-message:"
FIRST_MESSAGE_LOCK_SECONDS = 60.0

BAD_REQUEST_TEXT = (
    "请求格式不正确：需要一个不超过64KB的JSON对象，" '形如 {"sender": "会话编号", "message": "消息文本"}。'
)
BAD_MAILBOX_REQUEST_TEXT = '请求格式不正确：需要形如 {"sender": "会话编号", "after": 时间戳数字} 的JSON对象。'


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
    """Bot and agent texts (with their buttons) newer than `after`, oldest first, at most MAX_MESSAGES."""
    found = []
    for event in events:
        if event.get("event") != "bot" or float(event.get("timestamp") or 0) <= after:
            continue
        agent = (event.get("metadata") or {}).get("agent")
        message = {
            "text": event.get("text") or "",
            "timestamp": event.get("timestamp"),
            "agent": agent.get("name") if isinstance(agent, dict) else None,
        }
        data = event.get("data")
        buttons = data.get("buttons") if isinstance(data, dict) else None
        if isinstance(buttons, list) and buttons:  # e.g. a notice's rating question (bot/notice_routes/chat.py)
            message["buttons"] = [
                {"title": str(b.get("title") or ""), "payload": str(b.get("payload") or "")}
                for b in buttons
                if isinstance(b, dict)
            ]
        found.append(message)
    return found[-MAX_MESSAGES:]


class RestChannel(RestInput):
    """Rasa's REST channel with bounded input, a mailbox and per-conversation secrets."""

    @classmethod
    def name(cls) -> Text:
        return "rest"  # same URL and tracker channel name as Rasa's own REST channel

    @property
    def secrets(self) -> ConversationSecrets:
        """Made on first use: the key file is only read (or created) by a running server."""
        secrets = getattr(self, "_secrets", None)
        if secrets is None:
            secrets = ConversationSecrets(field_crypto.load(Settings.from_env().var_dir).hash_key)
            self._secrets = secrets
        return secrets

    @property
    def rate_limit(self) -> ClientRateLimit:
        limit = getattr(self, "_rate_limit", None)
        if limit is None:
            limit = self._rate_limit = ClientRateLimit.from_settings(Settings.from_env())
        return limit

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        on_new_message = channel_turns(on_new_message, blueprint, Settings.from_env())

        async def turn(request: Request, sender: str, text: str) -> HTTPResponse:
            collector = CollectingOutputChannel()
            # Counted by the status look-ups' per-address limit (actions/services.py).
            client = request.ctx.client
            metadata = {CLIENT_ADDRESS_KEY: client} if client else None
            try:
                text = await passed_on(text, request.app.ctx.agent.tracker_store, sender)
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata))
            except Exception:
                logger.exception("Rasa turn for a REST message failed")
                return response.json(
                    [{"recipient_id": sender, "text": FAILED_TURN_TEXT}],
                    status=503,
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                )
            return response.json(collector.messages)

        async def first_turn(request: Request, sender: str, text: str) -> HTTPResponse:
            """A message without a secret: only for a conversation that does not exist yet,
            whose secret then goes back with the answer."""
            agent = request.app.ctx.agent
            try:
                # Serialises first messages to one id, across replicas with a shared lock store.
                async with agent.lock_store.lock(
                    FIRST_MESSAGE_LOCK + sender, lock_lifetime=FIRST_MESSAGE_LOCK_SECONDS, wait_time_in_seconds=0.05
                ):
                    if await _exists(agent, sender):
                        logger.warning("REST message refused: no conversation secret for an existing conversation")
                        return _refused(MISSING_SECRET_TEXT, 403)
                    if len(text) > MAX_TEXT_LENGTH:  # nothing is created, so no secret either
                        return response.json([{"recipient_id": sender, "text": TOO_LONG_TEXT}])
                    answer = await turn(request, sender, text)
                    # Only the request whose turn created the conversation learns its secret.
                    if answer.status == 200 or await _exists(agent, sender):
                        answer.headers[SECRET_HEADER] = self.secrets.issue(sender)
                        answer.headers["Access-Control-Expose-Headers"] = SECRET_HEADER
                        answer.headers["Cache-Control"] = "no-store"
                    return answer
            except Exception:  # the lock store or the tracker store; the turn answers its own failures
                logger.exception("REST first message: could not check whether the conversation exists")
                return response.json(
                    [{"recipient_id": sender, "text": FAILED_TURN_TEXT}],
                    status=503,
                    headers={"Retry-After": RETRY_AFTER_SECONDS},
                )

        def refusal(sender: str, presented: Any) -> Optional[HTTPResponse]:
            """403 for another channel's conversation or a wrong secret; None when the client may go on."""
            if is_reserved(sender):
                logger.warning("REST request refused: conversation id reserved to another channel")
                return _refused(RESERVED_ID_TEXT, 403)
            if presented is not None and not self.secrets.verify(sender, presented):
                logger.warning("REST request refused: wrong conversation secret")
                return _refused(WRONG_SECRET_TEXT, 403)
            return None

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        def throttled(request: Request) -> bool:
            """Counts the request against its client address; True when over the limit."""
            admission = self.rate_limit.admit(request.ip, forwarded_for(request.headers))
            request.ctx.client = admission.client
            if admission.first_refusal:
                logger.warning("REST requests refused: over the rate limit for %s", admission.client)
            return not admission.allowed

        def too_many(body: Any) -> HTTPResponse:
            headers = {"Retry-After": self.rate_limit.retry_after(), "Cache-Control": "no-store"}
            return response.json(body, status=429, headers=headers)

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if throttled(request):
                return too_many([{"text": RATE_LIMITED_TEXT}])  # Rasa's format: apps show the text
            body = _body(request)
            sender, text = (body.get("sender"), body.get("message")) if body else (None, None)
            if body is None or not isinstance(text, str):
                return _refused(BAD_REQUEST_TEXT)
            if not is_safe_id(sender):
                return _refused(BAD_ID_TEXT)
            presented = _presented_secret(request, body)
            refused = refusal(sender, presented)
            if refused is not None:
                return refused
            if presented is None:
                return await first_turn(request, sender, text)
            if len(text) > MAX_TEXT_LENGTH:
                return response.json([{"recipient_id": sender, "text": TOO_LONG_TEXT}])
            return await turn(request, sender, text)

        @blueprint.route("/messages", methods=["POST"])
        async def messages(request: Request) -> HTTPResponse:
            if throttled(request):
                return too_many({"error": RATE_LIMITED_TEXT})
            body = _body(request)
            try:
                sender, after = body["sender"], float(body.get("after", 0))  # type: ignore[index,union-attr]
            except (KeyError, TypeError, ValueError):
                return _refused(BAD_MAILBOX_REQUEST_TEXT)
            if not math.isfinite(after):
                return _refused(BAD_MAILBOX_REQUEST_TEXT)
            if not is_safe_id(sender):
                return _refused(BAD_ID_TEXT)
            assert body is not None  # body["sender"] above raised TypeError otherwise
            presented = _presented_secret(request, body)
            refused = refusal(sender, presented)
            if refused is not None:
                return refused
            if presented is None:
                logger.warning("REST mailbox read refused: no conversation secret")
                return _refused(MISSING_SECRET_TEXT, 403)
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
            events = [event.as_dict() for event in tracker.events] if tracker else []
            return response.json({"messages": bot_messages_after(events, after)}, headers={"Cache-Control": "no-store"})

        return blueprint


def _presented_secret(request: Request, body: Mapping[str, Any]) -> Any:
    """The secret from the header, else the body's `secret` field; None when absent or empty."""
    presented = request.headers.get(SECRET_HEADER)
    if presented is None:
        presented = body.get(SECRET_FIELD)
    return None if presented is None or presented == "" else presented


async def _exists(agent: Any, sender: str) -> bool:
    tracker = await agent.tracker_store.retrieve(sender)
    return bool(tracker and tracker.events)
