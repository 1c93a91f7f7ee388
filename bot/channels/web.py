"""Web chat: the policyholder chat page and its socket.io channel.

One Rasa input channel serves everything under its blueprint (default
`/webhooks/web/`): the page, its assets, the socket.io endpoint and a small
history endpoint. Keeping it all on the Rasa server's origin means the page
needs no CORS and works behind a load balancer as one site.

Differences from Rasa's stock `socketio` channel, and why:
- The conversation is keyed by a session id the client generates
  (`crypto.randomUUID()`), kept across reloads and reconnects. Whoever knows it
  can read the conversation, so it must be a random UUID v4; anything else is
  replaced by a fresh one. The Rasa conversation id is `web-<session id>`, so a
  web client can never address a conversation of another channel.
- Connections, messages and history requests are limited per client address
  (bot/channels/rate_limit.py); a message over the limit gets a notice.
- What the user typed reaches Rasa as bot/channels/user_text.py passes it on:
  storable text, and `/intent{...}` only for a button the bot just offered.
- Every message carries a stable `id` (user: the client's message id; bot: a
  digest of the BotUttered event's timestamp and text), identical live and in
  the history, so clients can de-duplicate.
- Agent messages keep `metadata.agent` (Rasa's SocketIOOutput drops metadata),
  so the page can label them with the agent's name.
- `bot_done` tells the client that the bot finished answering one message (the
  typing indicator stops even when the bot stays silent during a handoff).
- `AsyncServer` is built by `create_server()`; `redis_url` in the credentials
  (or a subclass overriding `client_manager()`) lets several Rasa servers share
  sockets, so an agent's message reaches a socket held by another server.

The wire format is documented in docs/chat-channels.md.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import time
import uuid
from pathlib import Path
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Text,
    Tuple,
)

import rasa.core.channels.channel
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.async_manager import AsyncManager
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from bot import consent
from bot.channels import FAILED_TURN_TEXT, TOO_LONG_TEXT
from bot.channels.rate_limit import (
    CLIENT_ADDRESS_KEY,
    RATE_LIMITED_TEXT,
    Admission,
    ClientRateLimit,
    forwarded_for,
)
from bot.channels.turns import channel_turns
from bot.channels.user_text import passed_on, storable
from bot.settings import PROJECT_ROOT, Settings
from bot.validators import MAX_TEXT_LENGTH

logger = logging.getLogger(__name__)

CHANNEL_NAME = "web"
SENDER_PREFIX = "web-"
WEB_DIR = PROJECT_ROOT / "web"
# Messages returned by the history endpoint (the most recent ones).
HISTORY_LIMIT = 200
MAX_BUTTONS = 12
MAX_BUTTON_TEXT = 200
MAX_AGENT_NAME = 32
# A 5,000-character message is ~15 kB of UTF-8; engine.io's default is 1 MB.
MAX_PACKET_BYTES = 64 * 1024
MAX_HISTORY_REQUEST_BYTES = 1024

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_ORIGIN = re.compile(r"^(\*|'self'|'none'|https?://[A-Za-z0-9.*-]+(:\d{1,5})?)$")

ASSETS: Dict[str, Tuple[Path, str]] = {
    "chat.js": (WEB_DIR / "chat.js", "text/javascript; charset=utf-8"),
    "chat.css": (WEB_DIR / "chat.css", "text/css; charset=utf-8"),
    # Installed by `npm ci` in web/ (pinned in web/package-lock.json).
    "socket.io.min.js": (
        WEB_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js",
        "text/javascript; charset=utf-8",
    ),
}


def parse_session_id(value: Any) -> Optional[str]:
    """The canonical (lower-case) UUID v4, or None when `value` is not one."""
    if not isinstance(value, str) or len(value) != 36:
        return None
    value = value.lower()
    return value if _UUID4.match(value) else None


def sender_id_for(session_id: str) -> str:
    return SENDER_PREFIX + session_id


def parse_message_id(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and _MESSAGE_ID.match(value) else None


def bot_message_id(timestamp: Any, text: str) -> str:
    """Stable id of a bot message: the same live and when read back from the tracker."""
    digest = hashlib.sha256(f"{timestamp!r}\x00{text}".encode("utf-8")).hexdigest()
    return "b" + digest[:24]


def _buttons(message: Mapping[str, Any]) -> List[Dict[str, str]]:
    raw = message.get("buttons") or message.get("quick_replies") or []
    buttons = []
    for button in raw if isinstance(raw, list) else []:
        if not isinstance(button, Mapping):
            continue
        title, payload = button.get("title"), button.get("payload")
        if isinstance(title, str) and isinstance(payload, str) and title and payload:
            buttons.append(
                {"content_type": "text", "title": title[:MAX_BUTTON_TEXT], "payload": payload[:MAX_BUTTON_TEXT]}
            )
    return buttons[:MAX_BUTTONS]


def bot_payload(message: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """What a client receives for one bot or agent utterance.

    `message` has the shape of `BotUttered.message()`: the event's data (buttons,
    ...), `text`, `timestamp` and the event's metadata keys merged in. Only text
    and buttons are supported; a message with neither yields None.
    """
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    buttons = _buttons(message)
    if not text and not buttons:
        return None
    timestamp = message.get("timestamp")
    payload: Dict[str, Any] = {
        "id": bot_message_id(timestamp, text),
        "sender": "bot",
        "text": text,
        "timestamp": timestamp,
    }
    if buttons:
        payload["quick_replies"] = buttons
    agent = message.get("agent")
    if isinstance(agent, Mapping):
        name = agent.get("name")
        payload["sender"] = "agent"
        payload["agent"] = {"name": name.strip()[:MAX_AGENT_NAME] if isinstance(name, str) else ""}
    return payload


def _user_payload(event: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    text = event.get("text")
    if not isinstance(text, str) or not text:
        return None
    raw_metadata = event.get("metadata")
    metadata = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    title = metadata.get("button_title")
    shown = title if isinstance(title, str) and title else text
    return {
        "id": str(event.get("message_id") or bot_message_id(event.get("timestamp"), text)),
        "sender": "user",
        "text": shown[:MAX_TEXT_LENGTH],
        "timestamp": event.get("timestamp"),
    }


def _burst_parts(event: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """A user event that joined a burst (bot/channels/bursts.py) as the messages the user sent."""
    metadata = event.get("metadata")
    parts = metadata.get("burst") if isinstance(metadata, Mapping) else None
    ids = metadata.get("burst_ids") if isinstance(metadata, Mapping) else None
    if not (isinstance(parts, list) and isinstance(ids, list) and len(parts) == len(ids) > 1):
        return [event]
    return [{**event, "text": text, "message_id": part_id, "metadata": {}} for text, part_id in zip(parts, ids)]


def history(events: Iterable[Mapping[str, Any]], limit: int = HISTORY_LIMIT) -> List[Dict[str, Any]]:
    """The user, bot and agent messages among serialised tracker events, oldest first."""
    messages: List[Dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            messages += [payload for part in _burst_parts(event) if (payload := _user_payload(part)) is not None]
            continue
        elif kind == "bot":
            raw_metadata, raw_data = event.get("metadata"), event.get("data")
            metadata = raw_metadata if isinstance(raw_metadata, Mapping) else {}
            data = raw_data if isinstance(raw_data, Mapping) else {}
            # Same shape as BotUttered.message(), so ids match the live messages.
            payload = bot_payload({**data, "text": event.get("text"), "timestamp": event.get("timestamp"), **metadata})
        else:
            continue
        if payload is not None:
            messages.append(payload)
    return messages[-limit:] if limit > 0 else []


def _frame_ancestors(value: Any) -> str:
    origins = [value] if isinstance(value, str) else list(value or ["'self'"])
    for origin in origins:
        if not isinstance(origin, str) or not _ORIGIN.match(origin):
            raise ValueError(f"web channel: frame_ancestors entry {origin!r} is not an origin")
    return " ".join(origins)


class WebChatOutput(OutputChannel):
    """Emits bot and agent messages to every socket of one conversation (its room)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, sio: AsyncServer, bot_message_evt: Text = "bot_uttered") -> None:
        self.sio = sio
        self.bot_message_evt = bot_message_evt

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        payload = bot_payload(message)
        # An empty room would make socket.io broadcast to every client.
        if payload is None or not recipient_id:
            return
        await self.sio.emit(self.bot_message_evt, payload, to=recipient_id)

    # Direct calls, not made for a tracker event: they appear live only.
    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, "timestamp": time.time()})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self.send_response(recipient_id, {"text": text, "buttons": buttons, "timestamp": time.time()})


class WebChatInput(SocketIOInput):
    """The policyholder web/app chat (credentials key `bot.channels.web.WebChatInput`)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WebChatInput":
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            socketio_path=credentials.get("socketio_path", f"/webhooks/{CHANNEL_NAME}/socket.io"),
            jwt_key=credentials.get("jwt_key"),
            jwt_method=credentials.get("jwt_method", "HS256"),
            cors_allowed_origins=credentials.get("cors_allowed_origins"),
            frame_ancestors=credentials.get("frame_ancestors"),
            redis_url=credentials.get("redis_url"),
        )

    def __init__(
        self,
        user_message_evt: Text = "user_uttered",
        bot_message_evt: Text = "bot_uttered",
        socketio_path: Text = f"/webhooks/{CHANNEL_NAME}/socket.io",
        jwt_key: Optional[Text] = None,
        jwt_method: Text = "HS256",
        cors_allowed_origins: Optional[Sequence[Text]] = None,
        frame_ancestors: Any = None,
        redis_url: Optional[Text] = None,
    ) -> None:
        super().__init__(
            user_message_evt=user_message_evt,
            bot_message_evt=bot_message_evt,
            session_persistence=True,
            socketio_path=socketio_path,
            jwt_key=jwt_key,
            jwt_method=jwt_method,
        )
        # None: same origin only (engine.io also honours X-Forwarded-Proto/Host).
        self.cors_allowed_origins = list(cors_allowed_origins) if cors_allowed_origins else None
        self.frame_ancestors = _frame_ancestors(frame_ancestors)
        self.redis_url = redis_url
        self.app: Optional[Sanic] = None  # the Rasa server's app, known from the first connection
        self._rate_limit: Optional[ClientRateLimit] = None

    @property
    def rate_limit(self) -> ClientRateLimit:
        if self._rate_limit is None:
            self._rate_limit = ClientRateLimit.from_settings(Settings.from_env())
        return self._rate_limit

    def _admit(self, peer: Mapping[str, Any]) -> Admission:
        """Counts a connection, message or history request against the client's address."""
        admission = self.rate_limit.admit(peer.get("peer") or "", peer.get("forwarded_for"))
        if admission.first_refusal:
            logger.warning("Web chat requests refused: over the rate limit for %s", admission.client)
        return admission

    def _tracker_store(self) -> Any:
        agent = getattr(self.app.ctx, "agent", None) if self.app is not None else None
        return agent.tracker_store if agent is not None else None

    def client_manager(self) -> Optional[AsyncManager]:
        """Where socket.io keeps its clients; None: in this process only."""
        if not self.redis_url:
            return None
        from socketio import AsyncRedisManager  # needs the redis package (a Rasa dependency)

        return AsyncRedisManager(self.redis_url)

    def create_server(self) -> AsyncServer:
        return AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.cors_allowed_origins,
            client_manager=self.client_manager(),
            max_http_buffer_size=MAX_PACKET_BYTES,
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return None
        return WebChatOutput(self.sio, self.bot_message_evt)

    async def _join(self, sid: Text, session_id: str) -> None:
        """Binds the socket to one conversation: it receives that conversation's messages."""
        assert self.sio is not None
        session = await self.sio.get_session(sid)
        previous = session.get("session_id")
        if previous == session_id:
            return
        if previous:
            await self.sio.leave_room(sid, sender_id_for(previous))
        await self.sio.enter_room(sid, sender_id_for(session_id))
        await self.sio.save_session(sid, {**session, "session_id": session_id})

    def _authorised(self, auth: Any) -> bool:
        if not self.jwt_key:
            return True
        token = auth.get("token") if isinstance(auth, Mapping) else None
        return bool(token) and bool(
            rasa.core.channels.channel.decode_bearer_token(token, self.jwt_key, self.jwt_algorithm)
        )

    def _page(self) -> str:
        template = (WEB_DIR / "index.html").read_text(encoding="utf-8")
        return template.replace("{{socketio_path}}", html.escape(self.socketio_path or "", quote=True))

    def _privacy_page(self) -> str:
        """The full personal-information rules the notice links to, from the reviewed file."""
        settings = Settings.from_env()
        notice = consent.load(settings.privacy_notice_file)
        paragraphs = "\n".join(  # blank lines part paragraphs; a paragraph's lines run on
            "<p>{}</p>".format(html.escape("".join(line.strip() for line in block.splitlines())))
            for block in notice.full_rules(settings).split("\n\n")
            if block.strip()
        )
        return (
            '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>个人信息处理规则</title><link rel="stylesheet" href="static/chat.css"></head>'
            f'<body class="privacy-rules"><main>{paragraphs}'
            f"<p>版本 {html.escape(notice.version)}，{html.escape(notice.reviewed_on)}</p></main></body></html>"
        )

    def _page_headers(self) -> Dict[str, str]:
        return {
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                "img-src 'self' data:; base-uri 'none'; form-action 'none'; "
                f"frame-ancestors {self.frame_ancestors}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = self.create_server()
        self.sio = sio
        blueprint = SocketBlueprint(sio, self.socketio_path, "web_chat_webhook")
        on_new_message = channel_turns(on_new_message, blueprint, Settings.from_env())
        missing = [name for name, (path, _) in ASSETS.items() if not path.exists()]
        if missing:
            logger.error("Web chat assets missing (%s): run `npm ci` in web/.", ", ".join(missing))

        @blueprint.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            # Relative asset and history URLs need the trailing slash.
            if not request.path.endswith("/"):
                return response.redirect(request.path + "/")
            return response.html(self._page(), headers=self._page_headers())

        privacy_page = self._privacy_page()  # read once, like the domain and the materials script

        @blueprint.route("/privacy", methods=["GET"])
        async def privacy(request: Request) -> HTTPResponse:
            return response.html(privacy_page, headers=self._page_headers())

        @blueprint.route("/static/<name>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            if name not in ASSETS or not ASSETS[name][0].exists():
                return response.text("not found", status=404)
            path, content_type = ASSETS[name]
            return await response.file(
                path,
                mime_type=content_type,
                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
            )

        @blueprint.route("/history", methods=["POST"])
        async def history_endpoint(request: Request) -> HTTPResponse:
            no_store = {"Cache-Control": "no-store"}
            if not self._admit({"peer": request.ip, "forwarded_for": forwarded_for(request.headers)}).allowed:
                return response.json(
                    {"error": RATE_LIMITED_TEXT},
                    status=429,
                    headers={**no_store, "Retry-After": self.rate_limit.retry_after()},
                )
            if len(request.body or b"") > MAX_HISTORY_REQUEST_BYTES:
                return response.json({"error": "request too large"}, status=413, headers=no_store)
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                body = None
            session_id = parse_session_id(body.get("session_id")) if isinstance(body, dict) else None
            if session_id is None:
                return response.json({"error": "session_id must be a UUID v4"}, status=400, headers=no_store)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or agent.tracker_store is None:
                return response.json({"error": "not ready"}, status=503, headers=no_store)
            tracker = await agent.tracker_store.retrieve(sender_id_for(session_id))
            events = [event.as_dict() for event in tracker.events] if tracker else []
            return response.json({"session_id": session_id, "messages": history(events)}, headers=no_store)

        async def notice(sid: Text, text: str) -> None:
            """A bot message to this socket only, not part of the conversation."""
            await sio.emit(
                self.bot_message_evt,
                {"id": "n" + uuid.uuid4().hex, "sender": "bot", "text": text, "timestamp": None},
                to=sid,
            )

        @sio.on("connect")
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            request = environ.get("sanic.request")
            if request is None:  # not served by Sanic: nothing to count by
                return self._authorised(auth)
            if self.app is None:
                self.app = request.app  # its agent's tracker store, for the offered buttons
            peer = {"peer": request.ip, "forwarded_for": forwarded_for(request.headers)}
            if not self._admit(peer).allowed:
                raise SocketRefused(RATE_LIMITED_TEXT)
            if not self._authorised(auth):
                return False
            await sio.save_session(sid, peer)
            return True

        @sio.on("session_request")
        async def session_request(sid: Text, data: Any) -> None:
            claimed = parse_session_id(data.get("session_id")) if isinstance(data, dict) else None
            session_id = claimed or str(uuid.uuid4())
            await self._join(sid, session_id)
            await sio.emit("session_confirm", session_id, to=sid)

        @sio.on(self.user_message_evt)
        async def user_uttered(sid: Text, data: Any) -> None:
            if not isinstance(data, dict):
                return
            session = await sio.get_session(sid)
            admission = self._admit(session)
            if not admission.allowed:
                await notice(sid, RATE_LIMITED_TEXT)
                await sio.emit("bot_done", {"message_id": parse_message_id(data.get("message_id"))}, to=sid)
                return
            bound = session.get("session_id")
            claimed = parse_session_id(data.get("session_id"))
            # A message may overtake `session_request` after a reconnect; it
            # names its conversation itself. A socket never switches silently.
            if bound is None and claimed is not None:
                await self._join(sid, claimed)
                bound = claimed
            if bound is None or (claimed is not None and claimed != bound):
                logger.warning("Web chat message without a matching session was ignored.")
                return
            text = data.get("message")
            message_id = parse_message_id(data.get("message_id"))
            if not isinstance(text, str) or not text.strip():
                return
            if len(text) > MAX_TEXT_LENGTH:
                await notice(sid, TOO_LONG_TEXT)
                await sio.emit("bot_done", {"message_id": message_id}, to=sid)
                return
            metadata: Dict[str, Any] = {}
            raw_metadata = data.get("metadata")
            title = raw_metadata.get("button_title") if isinstance(raw_metadata, dict) else None
            if isinstance(title, str) and 0 < len(title) <= MAX_BUTTON_TEXT:
                metadata["button_title"] = storable(title)
            if admission.client:  # counted by the status look-ups' per-address limit
                metadata[CLIENT_ADDRESS_KEY] = admission.client
            sender_id = sender_id_for(bound)
            try:
                text = await passed_on(text, self._tracker_store(), sender_id)
                await on_new_message(
                    UserMessage(
                        text,
                        WebChatOutput(sio, self.bot_message_evt),
                        sender_id,
                        input_channel=self.name(),
                        message_id=message_id,
                        metadata=metadata,
                    )
                )
            except Exception:
                logger.exception("Rasa turn for a web chat message failed")
                await notice(sid, FAILED_TURN_TEXT)
            finally:
                await sio.emit("bot_done", {"message_id": message_id}, to=sid)

        return blueprint
