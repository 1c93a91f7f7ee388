"""Rasa's REST channel plus a mailbox for messages that arrive between requests.

REST answers only the request that carried the user's message. An agent's reply,
a queue update or the hand-back greeting arrive later; a REST client fetches them
with `POST /webhooks/rest/messages {"sender": "...", "after": <timestamp>}`.
The sender id is the conversation's only secret on this channel: clients must
use long random ids (e.g. a UUID), as they must for the webhook itself.
"""
from __future__ import annotations

import json
import math
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_SENDER_LENGTH = 255
MAX_MESSAGES = 100


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
        blueprint = super().blueprint(on_new_message)

        @blueprint.route("/messages", methods=["POST"])
        async def messages(request: Request) -> HTTPResponse:
            try:
                body = json.loads(request.body or b"{}")
                sender, after = body["sender"], float(body.get("after", 0))
            except (ValueError, KeyError, TypeError):
                return response.json({"error": "expected {\"sender\": str, \"after\": number}"}, status=400)
            if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER_LENGTH or not math.isfinite(after):
                return response.json({"error": "invalid sender or after"}, status=400)
            tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
            events = [event.as_dict() for event in tracker.events] if tracker else []
            return response.json({"messages": bot_messages_after(events, after)},
                                 headers={"Cache-Control": "no-store"})

        return blueprint
