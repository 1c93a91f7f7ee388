"""The analytics feed: classifying Rasa's broker messages, idempotent recording,
and the consumer against the real RabbitMQ, fed by the production broker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import List

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from bot.analytics import AnalyticsConsumer, AnalyticsFeed, EventClassifier, Kind, delete_feed
from bot.db import Database, migrate
from tests.bot.command_line import cli
from tests.bot.rasa.rabbitmq import feed_settings, production_broker, published


def body(sender: str, event: Event) -> bytes:
    """A broker message exactly as Rasa's tracker store publishes it."""
    return json.dumps({"sender_id": sender, **event.as_dict()}).encode("utf-8")


def user(sender: str, intent: str, text: str = "我要投诉，电话13812345678") -> bytes:
    return body(sender, UserUttered(text, {"name": intent, "confidence": 0.9}, input_channel="web"))


def conversation(sender: str) -> List[bytes]:
    """A complaint, a fallback, a handoff, then a new session that pauses again."""
    return [
        user(sender, "complain"),
        body(sender, ActionExecuted("complaint_form")),
        body(sender, ActionExecuted("action_submit_complaint")),
        body(sender, SlotSet("last_ticket_no", "TS20261123000042")),
        user(sender, "nlu_fallback", "啊啊啊"),
        body(sender, ActionExecuted("action_default_fallback")),
        user(sender, "request_human", "转人工"),
        body(sender, ActionExecuted("action_request_handoff")),
        body(sender, ConversationPaused()),
        body(sender, ActionExecuted("action_session_start")),
        body(sender, SessionStarted()),
        body(sender, ConversationPaused()),
    ]


def test_classifier_keeps_names_and_ticket_numbers_only():
    classifier = EventClassifier()
    facts = [fact for message in conversation("web-1") for fact in classifier.classify(message)]
    assert [(f.kind, f.name) for f in facts] == [
        (Kind.INTENT, "complain"),
        (Kind.TICKET, "TS20261123000042"),
        (Kind.INTENT, "nlu_fallback"),
        (Kind.FALLBACK, "nlu_fallback"),
        (Kind.FALLBACK, "action_default_fallback"),
        (Kind.INTENT, "request_human"),
        (Kind.HANDOFF, "action_request_handoff"),
        # The pause after action_session_start keeps a human's hold: not a new handoff.
    ]
    assert {f.channel for f in facts if f.kind is Kind.INTENT} == {"web"}
    assert len({f.event_key for f in facts}) == len(facts)
    assert "13812345678" not in repr(facts)


def test_classifier_rejects_what_is_not_a_rasa_event():
    classifier = EventClassifier()
    for bad in [
        b"not json",
        b"[]",
        b'{"event": "user"}',
        json.dumps({"sender_id": "x" * 256, "event": "user", "timestamp": 1.0}).encode(),
        json.dumps({"sender_id": "a", "event": "user", "timestamp": "NaN"}).encode(),
        b"{" + b" " * 1_000_001 + b"}",
    ]:
        with pytest.raises(ValueError):
            classifier.classify(bad)
    # A ticket slot with something else than a ticket number is not a ticket.
    assert classifier.classify(body("a", SlotSet("last_ticket_no", "<script>"))) == []


def test_recording_is_idempotent_and_summarised_per_conversation(db):
    feed = AnalyticsFeed(db)
    messages = conversation("web-2")
    classifier = EventClassifier()
    facts = [fact for message in messages for fact in classifier.classify(message)]
    assert feed.record(facts) == len(facts) == 7
    # Redelivered events (a consumer restart, a lost ack) change nothing.
    redelivery = EventClassifier()
    again = [fact for message in messages for fact in redelivery.classify(message)]
    assert feed.record(again) == 0
    summary = feed.conversation("web-2")
    assert summary["intents"] == {"complain": 1, "nlu_fallback": 1, "request_human": 1}
    assert (summary["messages"], summary["fallbacks"], summary["handoffs"]) == (3, 2, 1)
    assert summary["tickets"] == ["TS20261123000042"] and summary["channel"] == "web"
    feed.record(EventClassifier().classify(user("web-3", "greet")))
    assert [s["conversation_id"] for s in feed.recent(10)] == ["web-3", "web-2"]
    assert feed.conversation("nobody") is None


def test_cli_shows_the_feed(tmp_path, sqlite_db):
    AnalyticsFeed(sqlite_db).record(EventClassifier().classify(user("web-4", "greet")))
    shown = json.loads(cli(tmp_path, "analytics", "show", "--conversation", "web-4", "--json").stdout)
    assert shown["intents"] == {"greet": 1}
    assert "conversation_id=web-4" in cli(tmp_path, "analytics", "show").stdout


# --- the consumer on the real RabbitMQ ----------------------------------------


async def _publish(settings, messages: List[dict]) -> None:
    """Publishes through the production broker, configured like endpoints.production.yml."""
    broker = production_broker(settings)
    await broker.connect()
    for message in messages:
        broker.publish(message)
    await published(broker)
    await broker.close()


async def _until(predicate, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_consumer_feeds_the_table_and_survives_redelivery_and_a_database_outage(rabbitmq, tmp_path: Path):
    settings = feed_settings(tmp_path)
    # The database is not migrated yet: writes fail as while PostgreSQL is down.
    db = Database(settings.database_url)
    feed = AnalyticsFeed(db)
    consumer = AnalyticsConsumer(settings, feed, batch_wait=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        messages = [json.loads(m) for m in conversation("web-5")]
        # Queue and exchange exist once the consumer (or Rasa) declared them.
        await asyncio.sleep(1.0)
        await _publish(settings, messages + [messages[0]] + [{"garbage": True}])
        await asyncio.sleep(2.0)
        assert consumer.recorded == 0 and not running.done()

        migrate(settings)  # the database is back: the requeued events are written
        await _until(lambda: consumer.recorded == 7)
        summary = feed.conversation("web-5")
        assert summary["intents"] == {"complain": 1, "nlu_fallback": 1, "request_human": 1}
        assert summary["handoffs"] == 1 and summary["tickets"] == ["TS20261123000042"]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await delete_feed(settings)
        db.dispose()
