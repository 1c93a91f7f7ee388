"""Rasa's HTTP API, as the desk uses it: read a conversation, speak into it, pause and resume.

Messages go out with `execute_side_effects=true&output_channel=latest`, so Rasa
delivers them through the channel the user last wrote from (web chat, WeChat…)
and records them in the tracker, where the transcript is read back from.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.settings import Settings


class RasaUnavailable(Exception):
    """Rasa did not answer or refused; the caller tells the agent to retry."""


class RasaConversations:
    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.base = settings.rasa_url
        self.token = settings.rasa_token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def _call(self, method: str, path: str, *, json: Any = None,
                    params: Optional[Dict[str, str]] = None) -> Any:
        query = {"token": self.token, **(params or {})}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.request(method, f"{self.base}{path}", json=json, params=query) as response:
                    if response.status >= 400:
                        raise RasaUnavailable(f"Rasa answered {response.status} to {method} {path}")
                    return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc.__class__.__name__}") from exc

    def _path(self, conversation_id: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}/tracker"

    async def events(self, conversation_id: str) -> List[Dict[str, Any]]:
        """Every event of the conversation, all sessions included."""
        tracker = await self._call("GET", self._path(conversation_id),
                                   params={"include_events": "ALL"})
        return tracker.get("events") or []

    async def append(self, conversation_id: str, events: List[Dict[str, Any]]) -> None:
        """Appends events; bot messages among them are delivered to the user."""
        await self._call("POST", f"{self._path(conversation_id)}/events", json=events,
                         params={"execute_side_effects": "true", "output_channel": "latest"})

    async def say(self, conversation_id: str, text: str,
                  agent: Optional[Dict[str, Any]] = None) -> None:
        message: Dict[str, Any] = {"event": "bot", "text": text}
        if agent is not None:
            message["metadata"] = {"agent": agent}
        await self.append(conversation_id, [message])

    async def resume(self, conversation_id: str, text: str) -> None:
        """The bot listens again; the user is told so in the same step."""
        await self.append(conversation_id, [
            {"event": "resume"},
            {"event": "action", "name": "action_listen"},
            {"event": "bot", "text": text},
        ])
