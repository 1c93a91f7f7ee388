"""Tracker fixtures for the rasa-sdk actions, against a real migrated SQLite database."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services as services_module
from bot.db import migrate
from bot.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@pytest.fixture
def svc(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    migrate(Settings.from_env())
    services_module.services.cache_clear()
    yield services_module.services()
    services_module.services.cache_clear()


def user(
    text: str, intent: str = "inform", entities: Optional[List[Dict]] = None, timestamp: float = 1.0
) -> Dict[str, Any]:
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


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") for m in dispatcher.messages]


def slot_events(events: List[Dict]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
