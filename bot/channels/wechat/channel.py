"""The Rasa input and output channels for a WeChat Official Account (公众号).

Enable in credentials.yml (see docs/wechat.md)::

    bot.channels.wechat.channel.WeChatInput:
      token: ...
      app_id: wx...
      app_secret: ${WECHAT_APP_SECRET}
      encoding_aes_key: ...
      mode: safe

Routes: ``GET/POST /webhooks/wechat/webhook``. The Rasa sender id is the
OpenID with the ``wx:`` prefix, so WeChat conversations never collide with
those of other channels; the output channel strips it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Set

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import FAILED_TURN_TEXT
from bot.channels.turns import channel_turns
from bot.channels.wechat import inbox as inbox_states
from bot.channels.wechat.api import customer_service_api
from bot.channels.wechat.credentials import WeChatCredentials
from bot.channels.wechat.delivery import Delivery, TurnReplies
from bot.channels.wechat.failures import record_delivery_failure
from bot.channels.wechat.inbox import Claim, Inbox
from bot.channels.wechat.messages import InboundMessage, merge_texts, text_with_buttons
from bot.channels.wechat.webhook import NO_REPLY, OpenedRequest, Rejected, Webhook
from bot.db import Database
from bot.retention import record_unfollow_safely
from bot.settings import Settings

logger = logging.getLogger(__name__)

CHANNEL_NAME = "wechat"
_AGENT_NAME_CHARS = 32
# Process-local fallback dedupe when the database cannot be reached.
_LOCAL_DEDUPE_SECONDS = 120.0


def _agent_label(kwargs: Mapping[str, Any]) -> Optional[str]:
    agent = kwargs.get("agent")
    if isinstance(agent, Mapping) and str(agent.get("name") or "").strip():
        return str(agent["name"]).strip()[:_AGENT_NAME_CHARS]
    return None


class _WeChatOutputBase(OutputChannel):
    """Renders Rasa messages as WeChat text; subclasses decide where the text goes."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def _emit(self, recipient_id: str, text: str) -> None:
        raise NotImplementedError

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        name = _agent_label(kwargs)
        await self._emit(recipient_id, f"【人工客服 · {name}】\n{text}" if name else text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_message(recipient_id, text_with_buttons(text, buttons), **kwargs)

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        # Images need an uploaded media_id; a link is what a text message can carry.
        await self._emit(recipient_id, f"图片：{image}")

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, f"附件：{attachment}")

    async def send_elements(self, recipient_id: str, elements: Iterable[Dict[str, Any]], **kwargs: Any) -> None:
        for element in elements:
            lines = [str(element.get(key)) for key in ("title", "subtitle") if element.get(key)]
            if lines:
                await self._emit(recipient_id, "\n".join(lines))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        logger.debug("custom payloads are not sent to WeChat")


class WeChatTurnOutput(_WeChatOutputBase):
    """The output of one inbound message's turn: collected for the passive reply or pushed."""

    def __init__(self, replies: TurnReplies) -> None:
        self.replies = replies

    async def _emit(self, recipient_id: str, text: str) -> None:
        await self.replies.add(text)


class WeChatOutput(_WeChatOutputBase):
    """Sends at once through the customer-service API: agent messages, queue updates, reminders."""

    def __init__(self, credentials: WeChatCredentials, delivery: Delivery) -> None:
        self.credentials = credentials
        self.delivery = delivery

    async def _emit(self, recipient_id: str, text: str) -> None:
        openid = self.credentials.openid(recipient_id)
        if openid is None:
            logger.warning("not a WeChat conversation, message dropped: %s", recipient_id)
            return
        await self.delivery.send(recipient_id, openid, [text])


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatInput":
        return cls(WeChatCredentials.from_mapping(credentials))

    def __init__(self, credentials: WeChatCredentials, settings: Optional[Settings] = None) -> None:
        self.credentials = credentials
        self.webhook = Webhook(credentials)
        self._settings = settings or Settings.from_env()
        self._db: Optional[Database] = None
        self._inbox: Optional[Inbox] = None
        self.api = customer_service_api(
            credentials.api_base_url,
            credentials.app_id,
            credentials.app_secret,
            credentials.token_endpoint,
            credentials.api_timeout_seconds,
        )
        self.delivery = Delivery(self.api, self._record_failure, self.name(), credentials.max_reply_bytes)
        # Strong references: the event loop keeps only weak ones to tasks.
        self._tasks: Set[asyncio.Task] = set()
        self._local_seen: Dict[str, float] = {}

    # --- collaborators --------------------------------------------------

    def _database(self) -> Database:
        if self._db is None:
            self._db = Database(self._settings.database_url)
        return self._db

    def _get_inbox(self) -> Inbox:
        if self._inbox is None:
            self._inbox = Inbox(self._database())
        return self._inbox

    def _record_failure(self, conversation_id: str, channel: str, code: str, message: str) -> None:
        record_delivery_failure(self._database(), conversation_id, channel, code, message)

    def _background(self, coroutine: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def get_output_channel(self) -> OutputChannel:
        return WeChatOutput(self.credentials, self.delivery)

    # --- HTTP -----------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"{self.name()}_webhook", __name__)
        on_new_message = channel_turns(on_new_message, hook, self._settings)

        @hook.get("/")
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.get("/webhook")
        async def verify(request: Request) -> HTTPResponse:
            try:
                echostr = self.webhook.verify_url(_query(request))
            except Rejected as rejected:
                logger.warning("WeChat URL verification refused: %s", rejected.reason)
                return response.text("", status=rejected.status)
            return response.text(echostr, content_type="text/plain")

        @hook.post("/webhook", stream=True)
        async def receive(request: Request) -> HTTPResponse:
            started = time.monotonic()
            try:
                body = await self._read_body(request)
                opened = self.webhook.open(_query(request), body)
            except Rejected as rejected:
                logger.warning("WeChat callback refused (%s): %s", rejected.status, rejected.reason)
                return response.text("", status=rejected.status)
            return await self._answer(opened, on_new_message, started)

        @hook.listener("after_server_stop")
        async def close_api(*_: Any) -> None:
            await self.api.close()

        return hook

    async def _read_body(self, request: Request) -> bytes:
        """Reads at most the cap: a larger body is refused before it is buffered or parsed."""
        cap = self.credentials.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            raise Rejected(413, "declared body over the size cap")
        stream: Any = request.stream  # Sanic's Http, or under ASGI its app (no request_max_size)
        if hasattr(stream, "request_max_size"):
            # Sanic then closes the connection instead of draining a huge remainder.
            stream.request_max_size = min(stream.request_max_size, cap)
        chunks: List[bytes] = []
        size = 0
        try:
            while True:
                chunk = await stream.read()
                if chunk is None:
                    break
                size += len(chunk)
                if size > cap:
                    raise Rejected(413, "body over the size cap")
                chunks.append(chunk)
        except PayloadTooLarge as exc:
            raise Rejected(413, "body over the size cap") from exc
        return b"".join(chunks)

    # --- one message ----------------------------------------------------

    async def _answer(
        self, opened: OpenedRequest, on_new_message: Callable[[UserMessage], Awaitable[Any]], started: float
    ) -> HTTPResponse:
        message = opened.message
        key = message.dedupe_key()
        claim = await self._claim(key, message.from_user, opened.request_signature)
        if claim.outcome == inbox_states.REPLAY:
            logger.warning("WeChat callback refused: signed URL reused for another message")
            return response.text("", status=403)
        if claim.outcome == inbox_states.DUPLICATE:
            logger.info("WeChat retry of %s answered without a new turn", message.msg_id or message.event)
            return self._reply(opened, claim.reply)

        if message.event == "unsubscribe":  # the conversation's retention clock starts (bot/retention.py)
            await asyncio.to_thread(
                record_unfollow_safely, self._database(), self.credentials.sender_id(message.from_user)
            )
        route = self.webhook.route(message)
        if route.kind == "ignore":
            await self._settle(key, inbox_states.IGNORED)
            return self._reply(opened, None)
        if route.kind == "reply":
            await self._settle(key, inbox_states.REPLIED, route.text)
            return self._reply(opened, route.text)

        sender_id = self.credentials.sender_id(message.from_user)
        replies = TurnReplies(self.delivery, sender_id, message.from_user)
        user_message = UserMessage(
            route.text,
            WeChatTurnOutput(replies),
            sender_id,
            input_channel=self.name(),
            message_id=message.msg_id,
            metadata={"wechat": _metadata(message)},
        )
        turn = self._background(self._run_turn(on_new_message, user_message, replies))
        budget = self.credentials.passive_reply_seconds - (time.monotonic() - started)
        # asyncio.wait, not wait_for: running out of time must not cancel the turn.
        await asyncio.wait({turn}, timeout=max(0.0, budget))
        if not turn.done():
            replies.hand_over()
            await self._settle(key, inbox_states.PUSHED)
            return self._reply(opened, None)

        chunks = merge_texts(replies.take(), self.credentials.max_reply_bytes)
        if not chunks:
            await self._settle(key, inbox_states.IGNORED)
            return self._reply(opened, None)
        if len(chunks) > 1:
            # One passive reply per message; the overflow goes through the API.
            self._background(self.delivery.send(sender_id, message.from_user, chunks[1:]))
        await self._settle(key, inbox_states.REPLIED, chunks[0])
        return self._reply(opened, chunks[0])

    async def _run_turn(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], user_message: UserMessage, replies: TurnReplies
    ) -> None:
        try:
            await on_new_message(user_message)
        except Exception:
            logger.exception("Rasa turn for a WeChat message failed")
            await replies.add(FAILED_TURN_TEXT)
        await replies.turn_finished()

    def _reply(self, opened: OpenedRequest, text: Optional[str]) -> HTTPResponse:
        if not text:
            # Unencrypted even in safe mode: established practice, and nothing is disclosed.
            return response.text(NO_REPLY, content_type="text/plain")
        return response.text(self.webhook.render_reply(opened, text), content_type="application/xml; charset=utf-8")

    async def _claim(self, key: str, openid: str, request_signature: str) -> Claim:
        try:
            return await asyncio.to_thread(self._get_inbox().claim, key, openid, request_signature)
        except Exception:
            logger.exception("WeChat inbox unavailable; deduplicating retries in this process only")
            now = time.monotonic()
            self._local_seen = {k: t for k, t in self._local_seen.items() if t > now}
            if key in self._local_seen:
                return Claim(inbox_states.DUPLICATE)
            self._local_seen[key] = now + _LOCAL_DEDUPE_SECONDS
            return Claim(inbox_states.NEW)

    async def _settle(self, key: str, status: str, reply: Optional[str] = None) -> None:
        try:
            await asyncio.to_thread(self._get_inbox().settle, key, status, reply)
        except Exception:
            logger.exception("could not record the state of a WeChat message")


def _query(request: Request) -> Dict[str, str]:
    return {name: values[0] for name, values in request.args.items() if values}


def _metadata(message: InboundMessage) -> Dict[str, Any]:
    return {
        "account": message.to_user,
        "msg_type": message.msg_type,
        "msg_id": message.msg_id,
        "event": message.event,
        "event_key": message.event_key,
        "create_time": message.create_time,
    }
