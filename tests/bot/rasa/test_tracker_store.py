"""The tracker store keeps conversations exactly as Rasa's own SQL store does,
writes each event once, publishes each new event once, and survives
PostgreSQL closing its connections (as a restart or failover does) where
Rasa's own store fails the turn."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import pytest
import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    FollowupAction,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    StoryExported,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.rasa.tracker_store import ResilientSQLTrackerStore
from tests.databases import POSTGRES_ADMIN_URL

DOMAIN = Domain.from_dict({"slots": {"phase": {"type": "text", "mappings": [{"type": "custom"}]}}})


def sqlite_store(tmp_path, **kwargs) -> ResilientSQLTrackerStore:
    return ResilientSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), **kwargs)


def dicts(tracker: DialogueStateTracker) -> list:
    return [event.as_dict() for event in tracker.events]


def turn(text: str, phase: str) -> list:
    return [
        UserUttered(text, {"name": "greet"}),
        SlotSet("phase", phase),
        ActionExecuted("utter_greet"),
        BotUttered("您好"),
        ActionExecuted("action_listen"),
    ]


async def test_turns_are_stored_once_each_and_read_back_by_rasas_own_store(tmp_path):
    store = sqlite_store(tmp_path)
    tracker = await store.get_or_create_tracker("user-a")
    tracker.update_with_events(turn("你好", "one"), DOMAIN)
    await store.save(tracker)
    tracker.update_with_events(turn("在吗", "two"), DOMAIN)
    await store.save(tracker)  # the same object saved twice in one turn
    await store.save(tracker)

    reloaded = await store.retrieve("user-a")
    reloaded.update_with_events(turn("谢谢", "three"), DOMAIN)
    await store.save(reloaded)

    rasas_view = await SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db")).retrieve(
        "user-a"
    )
    assert dicts(rasas_view) == dicts(reloaded)
    assert [e["text"] for e in dicts(rasas_view) if e["event"] == "user"] == ["你好", "在吗", "谢谢"]
    assert rasas_view.get_slot("phase") == "three"


async def test_every_kind_of_event_is_read_back_as_rasa_reads_it(tmp_path):
    events = [
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(
            "我要投诉",
            {"name": "complain", "confidence": 0.98},
            [{"entity": "complaint_category", "value": "claims", "start": 0, "end": 2}],
        ),
        DefinePrevUserUtteredFeaturization(False),
        EntitiesAdded([{"entity": "phone_number", "value": "1"}]),
        ActiveLoop("complaint_form"),
        SlotSet("phase", "asked"),
        LoopInterrupted(True),
        ActionExecutionRejected("complaint_form"),
        BotUttered("请问您的姓名？", {"buttons": []}),
        AgentUttered("人工消息"),
        ConversationPaused(),
        ConversationResumed(),
        FollowupAction("utter_greet"),
        ReminderScheduled("remind", datetime(2026, 11, 23, 9, 0), name="r1"),
        ReminderCancelled(name="r1"),
        UserUtteranceReverted(),
        ActionReverted(),
        StoryExported(str(tmp_path / "exported.yml")),  # applying it writes the file
        AllSlotsReset(),
        Restarted(),
        ActiveLoop(None),
    ]
    store = sqlite_store(tmp_path)
    await store.save(DialogueStateTracker.from_events("user-k", events, slots=DOMAIN.slots))

    ours = await store.retrieve_full_tracker("user-k")
    rasas = await SQLTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db")
    ).retrieve_full_tracker("user-k")
    assert [type(e) for e in ours.events] == [type(e) for e in events]
    assert dicts(ours) == dicts(rasas)


async def test_a_tracker_it_did_not_load_is_appended_after_what_is_stored(tmp_path):
    store = sqlite_store(tmp_path)
    first = DialogueStateTracker.from_events("user-b", turn("你好", "one"), slots=DOMAIN.slots)
    await store.save(first)
    # e.g. built by another process: its stored events are counted, as Rasa does
    longer = DialogueStateTracker.from_events("user-b", turn("你好", "one") + turn("在吗", "two"), slots=DOMAIN.slots)
    await store.save(longer)

    assert len((await store.retrieve("user-b")).events) == 10


async def test_only_the_latest_session_is_loaded_and_every_session_is_kept(tmp_path):
    store = sqlite_store(tmp_path)
    tracker = DialogueStateTracker.from_events("user-c", turn("你好", "old"), slots=DOMAIN.slots)
    await store.save(tracker)
    tracker.update_with_events(
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
        + turn("又来了", "new"),
        DOMAIN,
    )
    await store.save(tracker)

    latest = await store.retrieve("user-c")
    everything = await store.retrieve_full_tracker("user-c")
    assert [e["text"] for e in dicts(latest) if e["event"] == "user"] == ["又来了"]
    assert [e["text"] for e in dicts(everything) if e["event"] == "user"] == ["你好", "又来了"]
    assert latest.get_slot("phase") == "new"


async def test_each_new_event_is_published_once(tmp_path):
    broker = SQLEventBroker(db=str(tmp_path / "broker.db"))
    store = sqlite_store(tmp_path, event_broker=broker)
    tracker = DialogueStateTracker.from_events("user-d", turn("你好", "one"), slots=DOMAIN.slots)
    await store.save(tracker)
    tracker = await store.retrieve("user-d")
    tracker.update_with_events(turn("在吗", "two"), DOMAIN)
    await store.save(tracker)
    await store.save(tracker)

    with broker.session_scope() as session:
        published = [json.loads(row.data) for row in session.query(broker.SQLBrokerEvent).all()]
    assert [e["event"] for e in published] == [e["event"] for e in dicts(tracker)]
    assert {e["sender_id"] for e in published} == {"user-d"}


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = sqlite_store(tmp_path)
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"


def drop_connections(url: str) -> None:
    """What a PostgreSQL restart does to the pooled connections, without restarting the shared server."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": make_url(url).database},
        )
    admin.dispose()


@pytest.mark.postgres
async def test_connections_closed_by_the_server_are_replaced_and_the_turn_goes_on(postgres_url):
    store = ResilientSQLTrackerStore(domain=DOMAIN, host=postgres_url, outage_wait_seconds=5)
    tracker = DialogueStateTracker.from_events(
        "user-1", [UserUttered("你好"), SlotSet("phase", "asked")], slots=DOMAIN.slots
    )
    await store.save(tracker)
    drop_connections(postgres_url)
    retrieved = await store.retrieve("user-1")
    assert retrieved is not None and retrieved.get_slot("phase") == "asked"
    store.engine.dispose()


@pytest.mark.postgres
async def test_on_postgresql_a_load_and_a_save_are_one_statement_each_without_transactions(postgres_url):
    # The synchronous driver blocks the event loop for each round trip.
    store = ResilientSQLTrackerStore(domain=DOMAIN, host=postgres_url)
    statements: list = []
    sa.event.listen(
        store.engine,
        "before_cursor_execute",
        lambda connection, cursor, statement, *args: statements.append(statement.split()[0]),
    )
    tracker = DialogueStateTracker.from_events("user-statements", turn("你好", "one"), slots=DOMAIN.slots)
    await store.save(tracker)  # a tracker it did not load: Rasa's count first
    loaded = await store.retrieve("user-statements")
    loaded.update_with_events(turn("在吗", "two"), DOMAIN)
    statements.clear()
    await store.save(loaded)
    await store.retrieve("user-statements")
    assert statements == ["INSERT", "SELECT"]
    with store.engine.connect() as connection:
        assert connection.connection.dbapi_connection.autocommit  # no BEGIN, COMMIT or ROLLBACK
    store.engine.dispose()


@pytest.mark.postgres
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
        connection.execute(
            text(f'ALTER DATABASE "{make_url(url).database}" ' f'ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        )
    admin.dispose()


@pytest.mark.postgres
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
