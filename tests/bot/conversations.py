"""Conversations in Rasa's tracker store, written at chosen moments, for the retention purge and subject requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import List

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.db import Database
from bot.rasa.tracker_store import ResilientSQLTrackerStore
from bot.retention import TrackerEvents

DOMAIN = Domain.from_dict({})
NOW = datetime.now(timezone.utc)


def ago(**delta: float) -> datetime:
    """The moment `delta` before the start of the test session."""
    return NOW - timedelta(**delta)


class Conversations:
    """Rasa's tracker store for a test, and the purge's view of it."""

    def __init__(self, url: str, store: ResilientSQLTrackerStore) -> None:
        self.url, self.store = url, store
        self.events = TrackerEvents(url)
        self.prefix = f"t{uuid.uuid4().hex[:6]}-"
        self.written: List[str] = []

    @classmethod
    def beside(cls, db: Database, var: Path) -> Conversations:
        """A tracker store in the PostgreSQL database `db` is in, or in an SQLite file in `var`."""
        if db.engine.dialect.name == "postgresql":
            return cls(db.url, ResilientSQLTrackerStore(domain=DOMAIN, host=db.url))
        store = ResilientSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(var / "tracker.db"))
        return cls(f"sqlite:///{var / 'tracker.db'}", store)

    def write(self, name: str, *moments: datetime, text: str = "我的电话是13812345678") -> str:
        """A conversation with one user message and one bot reply at each moment."""
        sender = self.prefix + name
        events = []
        for moment in moments:
            at = moment.timestamp()
            events += [
                SessionStarted(timestamp=at),
                UserUttered(text, {"name": "greet"}, timestamp=at),
                BotUttered("您好", timestamp=at),
            ]
        asyncio.run(self.store.save(DialogueStateTracker.from_events(sender, events)))
        self.written.append(sender)
        return sender

    def count(self, sender: str) -> int:
        """How many events the conversation has."""
        with self.store.engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender}
            ).scalar_one()

    def close(self) -> None:
        """Deletes this test's conversations (PostgreSQL's database is the session's) and disconnects."""
        with self.store.engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM events WHERE sender_id LIKE :p"), {"p": self.prefix + "%"})
        self.events.dispose()
        self.store.engine.dispose()
