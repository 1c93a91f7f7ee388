"""Conversation storage for replicated Rasa servers (endpoints.production.yml).

Rasa wraps every tracker store in `FailSafeTrackerStore`, which answers a
database error by continuing with a blank in-memory conversation: after a
PostgreSQL restart, the first message on each replica (whose pooled
connections the restart closed) was answered as if the conversation had just
begun, and then dropped. This store avoids both halves of that:

- connections are checked before use (`pool_pre_ping`), so connections that
  PostgreSQL closed are replaced instead of failing a turn;
- a short outage (a restart, a failover) is waited out: reads and writes are
  retried for up to `outage_wait_seconds` before the error reaches Rasa.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Optional, Text, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

T = TypeVar("T")
# A turn holds its conversation's lock meanwhile (TICKET_LOCK_LIFETIME, 30 s in
# the production topology), so the wait must stay below the lock's lifetime.
DEFAULT_OUTAGE_WAIT_SECONDS = 20.0


class ResilientSQLTrackerStore(SQLTrackerStore):
    """`type: bot.tracker_store.ResilientSQLTrackerStore` with the SQL store's keys,
    plus `outage_wait_seconds`."""

    def __init__(self, *args: Any, outage_wait_seconds: float = DEFAULT_OUTAGE_WAIT_SECONDS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.outage_wait_seconds = max(0.0, float(outage_wait_seconds))

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.outage_wait_seconds
        delay = 0.25
        while True:
            try:
                return await operation()
            except (OperationalError, InterfaceError) as exc:
                if time.monotonic() + delay > deadline:
                    logger.error("Tracker store: the database is still unavailable after %.0f s (%s); "
                                 "giving up on this %s.", self.outage_wait_seconds,
                                 exc.__class__.__name__, what)
                    raise
                logger.warning("Tracker store: the database is unavailable (%s); retrying the %s "
                               "in %.2f s.", exc.__class__.__name__, what, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _retrieve(
        self, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        retrieve = super()._retrieve
        return await self._retrying(
            "read", lambda: retrieve(sender_id, fetch_events_from_all_sessions)
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        # A retried save may publish its new events again: broker consumers
        # must be idempotent (bot/analytics.py keys facts by event).
        save = super().save
        await self._retrying("write", lambda: save(tracker))
