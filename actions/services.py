"""Domain services shared by the actions of one action-server process."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import materials, replies, validators
from bot.db import Database
from bot.handoff import HandoffService
from bot.materials import MaterialsScript
from bot.settings import Settings
from bot.spool import ComplaintSpool
from bot.tickets import TicketService

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    tickets: TicketService
    handoffs: HandoffService
    spool: ComplaintSpool
    materials: MaterialsScript


@lru_cache(maxsize=1)
def services() -> Services:
    settings = Settings.from_env()
    db = Database(settings.database_url)
    return Services(
        settings=settings,
        tickets=TicketService(db, settings),
        handoffs=HandoffService(db, settings),
        spool=ComplaintSpool(settings.spool_dir),
        materials=materials.load(settings.materials_file),
    )


async def blocking(function: Callable[..., T], *args: Any) -> T:
    """Runs database work off the event loop (rasa-sdk runs actions on it)."""
    return await asyncio.to_thread(function, *args)


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def user_events(tracker: Tracker) -> List[Dict[str, Any]]:
    return [event for event in tracker.events if event.get("event") == "user"]


def from_payload(tracker: Tracker) -> bool:
    """True when the latest message was Rasa's intent syntax (`/intent{...}`), not typed text."""
    message = tracker.latest_message or {}
    text = message.get("text") or ""
    return text.lstrip().startswith("/") or any(
        entity.get("extractor") == "RegexMessageHandler" for entity in message.get("entities") or []
    )


def client_of(tracker: Tracker) -> Optional[str]:
    """The client address a channel put in the message's metadata (`client_address`), if any."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    address = metadata.get("client_address") if isinstance(metadata, dict) else None
    return address[:64] if isinstance(address, str) and address else None


@dataclass
class WriteCheck:
    """Re-validates, right before a write, every value an action is about to store.

    Actions can be called with any tracker (the action server's webhook), so what
    the forms validated is validated again here, whatever called the action.
    """

    problems: List[str] = field(default_factory=list)

    def take(self, name: str, check: validators.Check) -> Optional[str]:
        if not check.ok:
            self.problems.append(name)
        return check.value

    def conversation(self, tracker: Tracker) -> str:
        return self.take("conversation_id", validators.conversation_id(tracker.sender_id)) or ""

    def refused(self, dispatcher: CollectingDispatcher, action: str) -> bool:
        """True (and the user told, a warning logged) when anything was invalid."""
        if not self.problems:
            return False
        log.warning("%s refused to write: invalid %s", action, ", ".join(self.problems))
        dispatcher.utter_message(text=replies.WRITE_REFUSED)
        return True
