"""The production tracker store survives PostgreSQL closing its connections
(as a restart or failover does) where Rasa's own SQL store fails the turn."""
from __future__ import annotations

import threading
import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.tracker_store import ResilientSQLTrackerStore
from tests.conftest import POSTGRES_ADMIN_URL

pytestmark = pytest.mark.postgres

DOMAIN = Domain.from_dict({"slots": {"phase": {"type": "text", "mappings": [{"type": "custom"}]}}})


def drop_connections(url: str) -> None:
    """What a PostgreSQL restart does to the pooled connections, without restarting the shared server."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = :name AND pid <> pg_backend_pid()"),
                           {"name": make_url(url).database})
    admin.dispose()


async def test_connections_closed_by_the_server_are_replaced_before_use(postgres_url):
    store = ResilientSQLTrackerStore(domain=DOMAIN, host=postgres_url, outage_wait_seconds=5)
    tracker = DialogueStateTracker.from_events("user-1", [UserUttered("你好"), SlotSet("phase", "asked")],
                                               slots=DOMAIN.slots)
    await store.save(tracker)
    drop_connections(postgres_url)
    retrieved = await store.retrieve("user-1")
    assert retrieved is not None and retrieved.get_slot("phase") == "asked"
    store.engine.dispose()


async def test_rasas_own_store_fails_the_turn_in_the_same_situation(postgres_url):
    # The reason for ResilientSQLTrackerStore: Rasa then answers from a blank conversation.
    store = SQLTrackerStore(domain=DOMAIN, host=postgres_url)
    await store.save(DialogueStateTracker.from_events("user-2", [UserUttered("你好")], slots=DOMAIN.slots))
    drop_connections(postgres_url)
    with pytest.raises(OperationalError):
        await store.retrieve("user-2")
    store.engine.dispose()


def set_connections_allowed(url: str, allowed: bool) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{make_url(url).database}" '
                                f'ALLOW_CONNECTIONS {"true" if allowed else "false"}'))
    admin.dispose()


async def test_a_short_outage_is_waited_out_and_a_long_one_reaches_rasa(postgres_url):
    """An outage of this database only (new connections refused), so the shared server stays up."""
    store = ResilientSQLTrackerStore(domain=DOMAIN, host=postgres_url, outage_wait_seconds=10)
    await store.save(DialogueStateTracker.from_events("user-3", [SlotSet("phase", "kept")], slots=DOMAIN.slots))
    try:
        set_connections_allowed(postgres_url, False)
        drop_connections(postgres_url)
        returns = threading.Timer(1.5, set_connections_allowed, (postgres_url, True))
        returns.start()
        started = time.monotonic()
        retrieved = await store.retrieve("user-3")
        assert retrieved.get_slot("phase") == "kept" and time.monotonic() - started >= 1.0
        returns.join()

        store.outage_wait_seconds = 0.5
        set_connections_allowed(postgres_url, False)
        drop_connections(postgres_url)
        with pytest.raises(OperationalError):
            await store.retrieve("user-3")
    finally:
        set_connections_allowed(postgres_url, True)
        store.engine.dispose()
