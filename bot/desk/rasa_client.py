"""Rasa's HTTP API, as the desk uses it: read a conversation, speak into it, pause and resume.

Messages go out with `execute_side_effects=true&output_channel=latest`, so Rasa
delivers them through the channel the user last wrote from (web chat, WeChat…)
and records them in the tracker, where the transcript is read back from.

How a conversation id travels: Rasa 3.6 declares these routes as
`/conversations/<conversation_id:path>/tracker...` on Sanic 21.12, whose router
matches the raw request path (`request.path`, the request line's bytes decoded
as UTF-8) and never percent-decodes a parameter (routes are added without
`unquote`). So the id must appear in the path exactly as it is: `a%20b` in the
path is the conversation named `a%20b`, not `a b`, and quoting an id addresses
a different, new conversation. `/` needs no escaping (the `path` type spans
slashes and the suffix is anchored). What cannot be sent as it is cannot be
addressed at all: a space ends the request target, `?` starts the query, `#`
the fragment, and Sanic's HTTP parser refuses control characters and any byte
above 0x7e (so every non-ASCII id). In front of Rasa, nginx also refuses a `%`
that does not start a valid escape, an escaped NUL, and dot segments that climb
above the root (it normalises the path, decoding escapes, before routing it).
Such ids are refused here, loudly, before anything is sent.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence
from urllib.parse import unquote

import aiohttp
from yarl import URL

from bot.settings import Settings

# Printable ASCII but for space, '?' and '#'; '%' only as a valid escape, and not of NUL.
_SENDABLE = re.compile(r"(?:[!\x22$&-\x3e@-~]|%(?!00)[0-9A-Fa-f]{2})+")
MAX_CONVERSATION_ID = 255


class RasaUnavailable(Exception):
    """Rasa did not answer or refused; the caller tells the agent to retry."""


class UnaddressableConversation(RasaUnavailable):
    """The conversation's id cannot be put in a URL of Rasa's HTTP API as it is (see the module's text)."""

    message = "该会话的编号含有机器人接口无法识别的字符，无法读取记录或向用户发送消息；请通过工单中的联系电话联系用户"


def addressable(conversation_id: str) -> bool:
    """Whether Rasa's HTTP API (and nginx in front of it) can route this id as it is."""
    if not 0 < len(conversation_id) <= MAX_CONVERSATION_ID or not _SENDABLE.fullmatch(conversation_id):
        return False
    return not {".", ".."} & set(unquote(conversation_id).split("/"))


class RasaConversations:
    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.base = settings.rasa_url
        self.token = settings.rasa_token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _call(self, method: str, path: str, *, json: Any = None, params: Optional[Dict[str, str]] = None) -> Any:
        query = {"token": self.token, **(params or {})}
        # encoded=True: the path goes out byte for byte, as Rasa must see it.
        url = URL(f"{self.base}{path}", encoded=True)
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.request(method, url, json=json, params=query) as response:
                    if response.status >= 400:
                        raise RasaUnavailable(f"Rasa answered {response.status} to {method} {path}")
                    return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc.__class__.__name__}") from exc

    def _path(self, conversation_id: str) -> str:
        if not addressable(conversation_id):
            raise UnaddressableConversation(f"conversation id not addressable in Rasa's HTTP API: {conversation_id!r}")
        return f"/conversations/{conversation_id}/tracker"

    async def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        """Every event of the conversation, all sessions included."""
        tracker = await self._call("GET", self._path(conversation_id), params={"include_events": "ALL"})
        return tracker.get("events") or []

    async def heard(self, conversation_id: str) -> List[str]:
        """What the policyholder wrote (for risk flags); nothing when Rasa cannot tell."""
        try:
            events = await self.events(conversation_id)
        except RasaUnavailable:  # UnaddressableConversation too
            return []
        said = (event for event in events if event.get("event") == "user")
        return [event["text"] for event in said if isinstance(event.get("text"), str)]

    async def append(self, conversation_id: str, events: List[Dict[str, Any]], deliver: bool = True) -> None:
        """Appends events; bot messages among them are delivered to the user unless `deliver` is false
        (a message sent another way, kept in the conversation's history)."""
        params = {"execute_side_effects": "true", "output_channel": "latest"} if deliver else {}
        await self._call("POST", f"{self._path(conversation_id)}/events", json=events, params=params)

    async def say(self, conversation_id: str, text: str, agent: Optional[Dict[str, Any]] = None) -> None:
        message: Dict[str, Any] = {"event": "bot", "text": text}
        if agent is not None:
            message["metadata"] = {"agent": agent}
        await self.append(conversation_id, [message])

    async def resume(self, conversation_id: str, text: str, then: Sequence[Dict[str, Any]] = ()) -> None:
        """The bot listens again; the user is told so in the same step, followed by `then` (the rating question)."""
        await self.append(
            conversation_id,
            [
                {"event": "resume"},
                {"event": "action", "name": "action_listen"},
                {"event": "bot", "text": text},
                *then,
            ],
        )
