"""Domain services shared by the actions of one action-server process."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, TypeVar

from rasa_sdk import Tracker

from bot import materials
from bot.db import Database
from bot.handoff import HandoffService
from bot.materials import MaterialsScript
from bot.settings import Settings
from bot.spool import ComplaintSpool
from bot.tickets import TicketService

T = TypeVar("T")


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
