"""Conversation storage: Rasa's SQL tracker store, made resilient and cheaper per turn.

`type: bot.rasa.tracker_store.ResilientSQLTrackerStore` in endpoints.yml (SQLite)
and endpoints.production.yml (PostgreSQL), with the SQL store's keys; the rows
are exactly Rasa's.

Rasa's `FailSafeTrackerStore` answers a database error with a blank, in-memory
conversation. This store waits out a short outage (a restart, a failover)
instead: reads and writes are retried for up to `outage_wait_seconds`, and a
pooled connection that the database closed fails one attempt and is replaced.
Per turn it runs fixed SQL statements, saves (and publishes) only the events
not yet stored, whose count the tracker remembers, and finds each event's
class in a table; on PostgreSQL each statement commits by itself, so a turn
makes few round trips on the blocking driver. Measurements: docs/benchmark.md,
"Why the Rasa overrides exist".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Type, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.common import all_subclasses
from sqlalchemy.exc import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")
# A turn holds its conversation's lock meanwhile (TICKET_LOCK_LIFETIME, 30 s in
# the production topology), so the wait must stay below the lock's lifetime.
DEFAULT_OUTAGE_WAIT_SECONDS = 20.0

# Rasa's own query: the latest session is everything from its last
# `session_started` on, or the whole conversation if there is none.
_SESSION_FILTER = """
    sender_id = :sender_id AND (
        timestamp >= (SELECT MAX(timestamp) FROM events
                      WHERE sender_id = :sender_id AND type_name = :session_started)
        OR NOT EXISTS (SELECT 1 FROM events
                       WHERE sender_id = :sender_id AND type_name = :session_started))
"""
_LAST_SESSION = sa.text(f"SELECT data FROM events WHERE {_SESSION_FILTER} ORDER BY id")
_ALL_SESSIONS = sa.text("SELECT data FROM events WHERE sender_id = :sender_id ORDER BY id")
_COUNT_LAST_SESSION = sa.text(f"SELECT COUNT(*) FROM events WHERE {_SESSION_FILTER}")

# How many of a tracker's events are in the database, on the tracker object
# itself: it lives exactly as long as the turn that loaded it.
_STORED = "_bot_stored_events"


def event_classes() -> Dict[Text, Type[Event]]:
    """Each event type name's class: the first in Rasa's order, as `Event.resolve_by_type` finds it."""
    classes: Dict[Text, Type[Event]] = {}
    for cls in all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)
    return classes


def _enable_wal(dbapi_connection: Any, _record: Any) -> None:
    # Readers no longer block the writer, and a commit is one append and sync.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class ResilientSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL store with `outage_wait_seconds`; see the module docstring."""

    engine: sa.engine.Engine  # set by SQLTrackerStore.__init__, replaced in ours

    def __init__(self, *args: Any, outage_wait_seconds: float = DEFAULT_OUTAGE_WAIT_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        if url.get_backend_name() == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection for every session otherwise.
            self.engine = sa.create_engine(
                url, future=True, poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
            )
            sa.event.listen(self.engine, "connect", _enable_wal)
        else:
            # Each statement commits by itself: a load is one round trip and a save one
            # multi-row INSERT (atomic by itself), instead of BEGIN, statement, COMMIT or
            # ROLLBACK and a pre-ping each, all of which block the event loop. A connection
            # that PostgreSQL closed fails once and is replaced (see _retrying).
            self.engine = sa.create_engine(url, future=True, isolation_level="AUTOCOMMIT", **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.outage_wait_seconds = max(0.0, float(outage_wait_seconds))
        self._event_classes = event_classes()

    def _event(self, parameters: Dict[Text, Any]) -> Optional[Event]:
        cls = self._event_classes.get(parameters.get("event"))  # type: ignore[arg-type]
        # Anything else gets Rasa's own handling (old "topic" events, unknown names).
        return cls._from_parameters(parameters) if cls else Event.from_parameters(parameters)

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.outage_wait_seconds
        delay = 0.25
        while True:
            try:
                return await operation()
            except (OperationalError, InterfaceError) as exc:
                if time.monotonic() + delay > deadline:
                    logger.error(
                        "Tracker store: the database is still unavailable after %.0f s (%s); " "giving up on this %s.",
                        self.outage_wait_seconds,
                        exc.__class__.__name__,
                        what,
                    )
                    raise
                logger.warning(
                    "Tracker store: the database is unavailable (%s); retrying the %s " "in %.2f s.",
                    exc.__class__.__name__,
                    what,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        async def load() -> Optional[DialogueStateTracker]:
            statement = _ALL_SESSIONS if fetch_events_from_all_sessions else _LAST_SESSION
            with self.engine.connect() as connection:
                rows = connection.execute(statement, self._parameters(sender_id)).scalars().all()
            if not rows or not self.domain:
                return None
            events = [self._event(json.loads(row)) for row in rows]
            tracker = DialogueStateTracker.from_events(
                sender_id, [event for event in events if event is not None], self.domain.slots
            )
            setattr(tracker, _STORED, len(rows))
            return tracker

        return await self._retrying("read", load)

    async def save(self, tracker: DialogueStateTracker) -> None:
        async def write() -> List[Event]:
            with self.engine.begin() as connection:
                stored = getattr(tracker, _STORED, None)
                if stored is None:  # a tracker this store did not load: Rasa's way
                    stored = connection.execute(_COUNT_LAST_SESSION, self._parameters(tracker.sender_id)).scalar_one()
                new = list(itertools.islice(tracker.events, stored, None))
                if new:
                    connection.execute(
                        sa.insert(self.SQLEvent.__table__), [self._row(tracker.sender_id, event) for event in new]
                    )
            setattr(tracker, _STORED, stored + len(new))
            return new

        new = await self._retrying("write", write)
        if self.event_broker is not None and new:
            await self._stream_new_events(self.event_broker, new, tracker.sender_id)

    @staticmethod
    def _parameters(sender_id: Text) -> dict:
        return {"sender_id": sender_id, "session_started": SessionStarted.type_name}

    @staticmethod
    def _row(sender_id: Text, event: Event) -> dict:
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }
