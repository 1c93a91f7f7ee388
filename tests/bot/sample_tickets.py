"""Tickets for the case management tests, received at a given moment with given case fields."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.db import Database
from bot.models import Ticket
from bot.settings import Settings
from bot.tickets import TicketService
from tests.bot.complaints import draft

SHANGHAI = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def shanghai(*parts: int) -> datetime:
    """A moment given in Shanghai local time, as UTC (what the database stores)."""
    return datetime(*parts, tzinfo=SHANGHAI).astimezone(timezone.utc)


@dataclass(frozen=True)
class Viewer:
    username: str
    is_supervisor: bool = False


__all__ = ["AGENT_LI", "AGENT_WANG", "SUPERVISOR", "Viewer", "draft", "shanghai", "submit"]

AGENT_LI = Viewer("li")
AGENT_WANG = Viewer("wang")
SUPERVISOR = Viewer("boss", is_supervisor=True)


def submit(db: Database, settings: Settings, received: datetime, case: Any = None, **fields: Any) -> str:
    """A new ticket received at `received`; `case` sets columns afterwards (assignee, status…)."""
    service = TicketService(db, settings, clock=lambda: received)
    ticket_no = service.submit(draft(**fields), f"sample:{next(_keys)}").ticket_no
    if case:
        # A plain UPDATE: the ticket stays at version 1, as if it had been written so.
        with db.transaction() as session:
            session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(**case))
    return ticket_no
