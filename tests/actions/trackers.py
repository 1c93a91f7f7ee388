"""Rasa-sdk trackers as Rasa would send them to an action, and what an action answered."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def user(
    text: str, intent: str = "inform", entities: Optional[List[Dict]] = None, timestamp: float = 1.0
) -> Dict[str, Any]:
    """A user event from the REST channel, parsed as `intent` with `entities`."""
    return {
        "event": "user",
        "text": text,
        "timestamp": timestamp,
        "input_channel": "rest",
        "parse_data": {"intent": {"name": intent, "confidence": 0.9}, "entities": entities or [], "text": text},
    }


def tracker(
    text: str = "",
    intent: str = "inform",
    slots: Optional[Dict[str, Any]] = None,
    entities: Optional[List[Dict]] = None,
    events: Optional[List[Dict]] = None,
    active_loop: Optional[str] = None,
    sender: str = "conv-1",
) -> Tracker:
    """The tracker an action gets after the user said `text`, with `events` before it and an optional active form."""
    latest = user(text, intent, entities)
    history = list(events or [])
    if active_loop and not any(e.get("event") == "active_loop" for e in history):
        history.insert(0, {"event": "active_loop", "name": active_loop, "timestamp": 0.5})
    history.append(latest)
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message=latest["parse_data"] | {"text": text},
        events=history,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    """The texts (or response names) the action sent."""
    return [m.get("text") or m.get("response") for m in dispatcher.messages]


def slot_events(events: List[Dict]) -> Dict[str, Any]:
    """The slots the events set, by name."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
