"""Web chat: the policyholder chat page and its socket.io channel.

One Rasa input channel serves everything under its blueprint (default
`/webhooks/web/`): the page, its assets, the socket.io endpoint and a small
history endpoint. Keeping it all on the Rasa server's origin means the page
needs no CORS and works behind a load balancer as one site.

Differences from Rasa's stock `socketio` channel, and why:
- The conversation is keyed by a session id the client generates
  (`crypto.randomUUID()`, or stock Rasa's `uuid4().hex`), kept across reloads
  and reconnects. Whoever knows it can read the conversation, so it must be a
  random UUID v4, dashed or 32 hex digits, any case; anything else is replaced
  by a fresh one. Every form of one UUID is one conversation: the Rasa
  conversation id is `web-<lower-case dashed UUID>`, so a web client can never
  address a conversation of another channel. `session_confirm` echoes the id as
  the client sent it, so the client keeps using its own string.
- Connections, messages and history requests are limited per client address
  (bot/channels/rate_limit.py); a message over the limit gets a notice.
- What the user typed reaches Rasa as bot/channels/user_text.py passes it on:
  storable text, and `/intent{...}` only for a button the bot just offered.
- Bot messages have Rasa's shape (`text`, `quick_replies`, `attachment`,
  `custom`), which stock clients such as rasa-webchat render only when no other
  top-level key is present; the channel's extras go in `metadata`: a stable
  `id` (user: the client's message id; bot: a digest of the BotUttered event's
  timestamp and text, identical live and in the history), `sender`,
  `timestamp`, `agent` (Rasa's SocketIOOutput drops it) and the notice marks.
- `metadata_key` (default `customData`, rasa-webchat's) names the part of
  `user_uttered` that reaches the tracker's message metadata: bounded, and
  never the keys the project itself puts there (identity, address, buttons).
- A `user_uttered` that cannot be handled gets an `error` event (and
  `bot_done`) instead of silence.
- `cors_allowed_origins` adds origins to the page's own, it does not replace it.
- `open_notice` {token}: the page was opened from an SMS notice's link; the
  notice and its rating question join the conversation (bot/channels/notice_link.py).
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
from bot.channels.notice_link import NoticeLinkOpener
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
_UUID4_HEX = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$")
DEFAULT_METADATA_KEY = "customData"
# Keys of a user message's metadata that the project sets and reads (identity,
# client address, buttons, bursts, agents, notices, WeChat): a client's
# `metadata_key` content never supplies them. Compared without case.
RESERVED_METADATA_KEYS = frozenset(
    {
        "button_title",
        CLIENT_ADDRESS_KEY,
        "burst",
        "burst_ids",
        "agent",
        "notice",
        "notice_kind",
        "wechat",
        "sender",
        "sender_id",
        "session_id",
        "conversation_id",
        "user_id",
        "openid",
        "secret",
        "conversation_secret",
        "token",
        "auth",
        "jwt",
    }
)
MAX_METADATA_BYTES = 4096
MAX_METADATA_DEPTH = 4
MAX_METADATA_ITEMS = 32
MAX_METADATA_KEY = 64
MAX_METADATA_STRING = 1000
# A bot's attachment or custom payload (from the domain or the desk).
MAX_BOT_EXTRA_BYTES = 16 * 1024
NO_SESSION_TEXT = "连接尚未建立会话，请刷新页面后重新发送。"
OTHER_SESSION_TEXT = "该消息所属的会话与当前连接不一致，请刷新页面后重新发送。"
BAD_MESSAGE_TEXT = "消息格式不正确，请刷新页面后重新发送。"
EMPTY_MESSAGE_TEXT = "消息内容为空，请输入内容后再发送。"
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
    """The canonical (lower-case, dashed) form of a UUID v4 given dashed or as 32 hex digits, any case; else None."""
    if not isinstance(value, str) or len(value) not in (32, 36):
        return None
    value = value.lower()
    if len(value) == 36:
        return value if _UUID4.match(value) else None
    if not _UUID4_HEX.match(value):
        return None
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _bounded(value: Any, depth: int) -> bool:
    """True for JSON data within the depth, item and string bounds, with short string keys."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_METADATA_STRING
    if depth >= MAX_METADATA_DEPTH:
        return False
    if isinstance(value, list):
        return len(value) <= MAX_METADATA_ITEMS and all(_bounded(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return len(value) <= MAX_METADATA_ITEMS and all(
            isinstance(key, str) and 0 < len(key) <= MAX_METADATA_KEY and _bounded(item, depth + 1)
            for key, item in value.items()
        )
    return False


def client_metadata(value: Any) -> Optional[Dict[str, Any]]:
    """A client's `metadata_key` object without the project's own keys; None when it is malformed or too big.

    Absent (None) or empty gives {}. Never trusted for identity: it only adds
    keys that no part of the project reads.
    """
    if value is None:
        return {}
    if not isinstance(value, dict) or not _bounded(value, 1):
        return None
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except ValueError:  # NaN or infinity
        return None
    if size > MAX_METADATA_BYTES:
        return None
    return {key: item for key, item in value.items() if key.lower() not in RESERVED_METADATA_KEYS}


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


def _extra(value: Any) -> Optional[Dict[str, Any]]:
    """A bot's attachment or custom payload when it is a JSON object of bounded size."""
    if not isinstance(value, dict):
        return None
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError):
        return None
    return value if size <= MAX_BOT_EXTRA_BYTES else None


def _extras(message: Mapping[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """The non-text parts of an utterance as Rasa's socket.io channel sends them, one message each."""
    parts: List[Tuple[str, Dict[str, Any]]] = []
    image = message.get("image")
    if isinstance(image, str) and re.match(r"^https?://", image) and len(image) <= 2048:
        parts.append(("attachment", {"type": "image", "payload": {"src": image}}))
    attachment = _extra(message.get("attachment"))
    if attachment is not None:
        parts.append(("attachment", attachment))
    custom = _extra(message.get("custom"))
    if custom is not None:
        parts.append(("custom", custom))
    return parts


def bot_payloads(message: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """What a client receives for one bot or agent utterance, in Rasa's message shape.

    `message` has the shape of `BotUttered.message()`: the event's data (buttons,
    ...), `text`, `timestamp` and the event's metadata keys merged in. Text with
    its buttons is one message; an image, attachment or custom payload follows
    as a message of its own (as Rasa sends them). The channel's extras are in
    each message's `metadata`.
    """
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    buttons = _buttons(message)
    timestamp = message.get("timestamp")
    meta: Dict[str, Any] = {"id": bot_message_id(timestamp, text), "sender": "bot", "timestamp": timestamp}
    agent = message.get("agent")
    if isinstance(agent, Mapping):
        name = agent.get("name")
        meta["sender"] = "agent"
        meta["agent"] = {"name": name.strip()[:MAX_AGENT_NAME] if isinstance(name, str) else ""}
    if isinstance(message.get("notice"), bool):
        meta["notice"] = message["notice"]
    kind = message.get("notice_kind")
    if isinstance(kind, str) and re.fullmatch(r"[a-z_]{1,32}", kind):
        meta["notice_kind"] = kind
    payloads: List[Dict[str, Any]] = []
    if text or buttons:
        payload: Dict[str, Any] = {"text": text}
        if buttons:
            payload["quick_replies"] = buttons
        payloads.append({**payload, "metadata": meta})
    for index, (key, value) in enumerate(_extras(message)):
        payloads.append({key: value, "metadata": {**meta, "id": f"{meta['id']}-{index + 1}"}})
    return payloads


def bot_payload(message: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The first message a client receives for one utterance; None when there is nothing to show."""
    payloads = bot_payloads(message)
    return payloads[0] if payloads else None


def _user_payload(event: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    text = event.get("text")
    if not isinstance(text, str) or not text:
        return None
    raw_metadata = event.get("metadata")
    metadata = raw_metadata if isinstance(raw_metadata, Mapping) else {}
    title = metadata.get("button_title")
    shown = title if isinstance(title, str) and title else text
    return {
        "text": shown[:MAX_TEXT_LENGTH],
        "metadata": {
            "id": str(event.get("message_id") or bot_message_id(event.get("timestamp"), text)),
            "sender": "user",
            "timestamp": event.get("timestamp"),
        },
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
        elif kind == "bot":
            raw_metadata, raw_data = event.get("metadata"), event.get("data")
            metadata = raw_metadata if isinstance(raw_metadata, Mapping) else {}
            data = raw_data if isinstance(raw_data, Mapping) else {}
            # Same shape as BotUttered.message(), so ids match the live messages.
            uttered = {**data, "text": event.get("text"), "timestamp": event.get("timestamp"), **metadata}
            messages += bot_payloads(uttered)
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
        # An empty room would make socket.io broadcast to every client.
        if not recipient_id:
            return
        for payload in bot_payloads(message):
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
            metadata_key=credentials.get("metadata_key", DEFAULT_METADATA_KEY),
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
        metadata_key: Text = DEFAULT_METADATA_KEY,
    ) -> None:
        if not isinstance(socketio_path, str) or not re.fullmatch(r"/[A-Za-z0-9._~/-]{1,200}", socketio_path):
            raise ValueError(f"web channel: socketio_path {socketio_path!r} must be a URL path such as /socket.io")
        if not isinstance(metadata_key, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}", metadata_key):
            raise ValueError(f"web channel: metadata_key {metadata_key!r} must be 1-64 letters, digits or '_'")
        super().__init__(
            user_message_evt=user_message_evt,
            bot_message_evt=bot_message_evt,
            session_persistence=True,
            socketio_path=socketio_path,
            jwt_key=jwt_key,
            jwt_method=jwt_method,
            metadata_key=metadata_key,
        )
        origins = [cors_allowed_origins] if isinstance(cors_allowed_origins, str) else cors_allowed_origins or []
        for origin in origins:
            # Compared exactly (origin_allowed), so `*` is the whole entry or nothing: no `https://*.example`.
            if not isinstance(origin, str) or not (
                origin == "*" or (_ORIGIN.match(origin) and not {"'", "*"} & set(origin))
            ):
                raise ValueError(
                    f"web channel: cors_allowed_origins entry {origin!r} is not an origin "
                    "(scheme://host[:port], or `*` alone: wildcards inside a host are not supported)"
                )
        # Origins allowed besides the page's own (engine.io also honours X-Forwarded-Proto/Host for that one).
        self.cors_allowed_origins: List[str] = [origin.rstrip("/") for origin in origins]
        self.frame_ancestors = _frame_ancestors(frame_ancestors)
        self.redis_url = redis_url
        self.app: Optional[Sanic] = None  # the Rasa server's app, known from the first connection
        self._rate_limit: Optional[ClientRateLimit] = None
        self.notice_links = NoticeLinkOpener()  # the page opened from an SMS notice's link

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

    def origin_allowed(self, origin: Optional[str], environ: Mapping[str, Any]) -> bool:
        """Same origin (as engine.io computes it, proxies' X-Forwarded-* included) or a configured one."""
        if "*" in self.cors_allowed_origins or origin in self.cors_allowed_origins:
            return True
        scheme, host = environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST")
        if not (scheme and host):
            return False
        own = {f"{scheme}://{host}"}
        if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
            forwarded_scheme = str(environ.get("HTTP_X_FORWARDED_PROTO", scheme)).split(",")[0].strip()
            forwarded_host = str(environ.get("HTTP_X_FORWARDED_HOST", host)).split(",")[0].strip()
            own.add(f"{forwarded_scheme}://{forwarded_host}")
        return origin in own

    def create_server(self) -> AsyncServer:
        return AsyncServer(
            async_mode="sanic",
            # Without a list engine.io allows the same origin only; a list would replace it.
            cors_allowed_origins=self.origin_allowed if self.cors_allowed_origins else None,
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
            claimed = body.get("session_id") if isinstance(body, dict) else None
            session_id = parse_session_id(claimed)
            if session_id is None:
                return response.json({"error": "session_id must be a UUID v4"}, status=400, headers=no_store)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or agent.tracker_store is None:
                return response.json({"error": "not ready"}, status=503, headers=no_store)
            tracker = await agent.tracker_store.retrieve(sender_id_for(session_id))
            events = [event.as_dict() for event in tracker.events] if tracker else []
            # The id as the client wrote it (hex or dashed, any case); the conversation is the same.
            return response.json({"session_id": claimed, "messages": history(events)}, headers=no_store)

        async def notice(sid: Text, text: str) -> None:
            """A bot message to this socket only, not part of the conversation."""
            await sio.emit(
                self.bot_message_evt,
                {"text": text, "metadata": {"id": "n" + uuid.uuid4().hex, "sender": "bot", "timestamp": None}},
                to=sid,
            )

        async def refuse(sid: Text, code: str, text: str, message_id: Optional[str]) -> None:
            """A `user_uttered` the channel cannot handle: say why instead of staying silent."""
            logger.warning("Web chat message refused: %s", code)
            await sio.emit("error", {"code": code, "message": text, "message_id": message_id}, to=sid)
            await sio.emit("bot_done", {"message_id": message_id}, to=sid)

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
            raw = data.get("session_id") if isinstance(data, dict) else None
            claimed = parse_session_id(raw)
            session_id = claimed or str(uuid.uuid4())
            await self._join(sid, session_id)
            # Echo the client's own spelling (e.g. upper-case or hex): it stays the client's key.
            await sio.emit("session_confirm", raw if claimed else session_id, to=sid)

        @sio.on("open_notice")
        async def open_notice(sid: Text, data: Any) -> None:
            """The page was opened from an SMS notice's link: the notice and its rating question, or why not."""
            session = await sio.get_session(sid)
            if not self._admit(session).allowed:
                await notice(sid, RATE_LIMITED_TEXT)
                return
            bound = session.get("session_id")
            if bound is None:
                await notice(sid, NO_SESSION_TEXT)
                return
            token = data.get("token") if isinstance(data, dict) else None
            agent = getattr(self.app.ctx, "agent", None) if self.app is not None else None
            output = WebChatOutput(sio, self.bot_message_evt)
            refused = await self.notice_links.open(token, sender_id_for(bound), agent, output)
            if refused is not None:
                await notice(sid, refused)

        @sio.on(self.user_message_evt)
        async def user_uttered(sid: Text, data: Any) -> None:
            if not isinstance(data, dict):
                await refuse(sid, "invalid_message", BAD_MESSAGE_TEXT, None)
                return
            session = await sio.get_session(sid)
            admission = self._admit(session)
            if not admission.allowed:
                await notice(sid, RATE_LIMITED_TEXT)
                await sio.emit("bot_done", {"message_id": parse_message_id(data.get("message_id"))}, to=sid)
                return
            message_id = parse_message_id(data.get("message_id"))
            bound = session.get("session_id")
            raw_claim = data.get("session_id")
            claimed = parse_session_id(raw_claim)
            # A message may overtake `session_request` after a reconnect; it
            # names its conversation itself. A socket never switches silently.
            if bound is None and claimed is not None:
                await self._join(sid, claimed)
                bound = claimed
            if bound is None:
                await refuse(sid, "no_session", NO_SESSION_TEXT, message_id)
                return
            if raw_claim is not None and claimed != bound:
                await refuse(sid, "other_session", OTHER_SESSION_TEXT, message_id)
                return
            text = data.get("message")
            if not isinstance(text, str):
                await refuse(sid, "invalid_message", BAD_MESSAGE_TEXT, message_id)
                return
            if not text.strip():
                await refuse(sid, "empty_message", EMPTY_MESSAGE_TEXT, message_id)
                return
            if len(text) > MAX_TEXT_LENGTH:
                await notice(sid, TOO_LONG_TEXT)
                await sio.emit("bot_done", {"message_id": message_id}, to=sid)
                return
            metadata = client_metadata(data.get(self.metadata_key))
            if metadata is None:  # the message still counts; only the integrator's extras are dropped
                logger.warning("Web chat %s dropped: not a JSON object within the bounds", self.metadata_key)
                metadata = {}
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
