"""The analytics feed: what happened in each conversation, from Rasa's event broker.

With the production endpoints (endpoints.production.yml) every Rasa replica
publishes each new tracker event to a RabbitMQ fanout exchange; the analytics
queue bound to it is read by `python -m bot analytics consume`, which keeps a
compact feed per conversation: intents, fallbacks, handoffs and tickets.
Message texts and slot values never enter the feed (ticket numbers are the only
values kept), although the broker messages carry them.

Delivery is at least once: messages are acknowledged only after their facts are
committed, and every fact is keyed by a digest of its event, so a redelivered
event changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from bot.db import Database
from bot.models import AnalyticsEvent
from bot.settings import Settings

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset({"action_default_fallback"})
TICKET_SLOT = "last_ticket_no"
# These actions pause again a conversation that a human already holds (a new
# session, /restart); their pause is not a new handoff.
REPAUSE_ACTIONS = frozenset({"action_session_start", "action_restart"})
TICKET_NO = re.compile(r"^[A-Z]{2}\d{14}$")
MAX_MESSAGE_BYTES = 1_000_000
MAX_CONVERSATION_ID = 255
MAX_NAME = 100
MAX_CHANNEL = 64
MAX_SUMMARIES = 1000


class Kind(str, Enum):
    INTENT = "intent"
    FALLBACK = "fallback"
    HANDOFF = "handoff"
    TICKET = "ticket"


@dataclass(frozen=True)
class Fact:
    event_key: str
    conversation_id: str
    channel: Optional[str]
    kind: Kind
    name: str
    at: datetime


def _name(value: Any, limit: int = MAX_NAME) -> Optional[str]:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


class EventClassifier:
    """Turns broker messages into facts.

    Remembers the latest action of recently active conversations (bounded),
    which tells the pause of a handoff from a re-pause and names the action
    that handed off. Events of one conversation arrive in order on one queue.
    """

    def __init__(self, memory: int = 10_000) -> None:
        self._latest_action: "OrderedDict[str, str]" = OrderedDict()
        self._memory = memory

    def _remember(self, conversation_id: str, action: str) -> None:
        self._latest_action[conversation_id] = action
        self._latest_action.move_to_end(conversation_id)
        while len(self._latest_action) > self._memory:
            self._latest_action.popitem(last=False)

    def classify(self, body: bytes) -> List[Fact]:
        """The facts in one broker message; [] for events the feed ignores.

        Raises ValueError for a message that is not a Rasa event.
        """
        if len(body) > MAX_MESSAGE_BYTES:
            raise ValueError("message too large")
        try:
            event = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("message is not JSON") from exc
        if not isinstance(event, dict):
            raise ValueError("message is not a JSON object")
        conversation_id = event.get("sender_id")
        timestamp = event.get("timestamp")
        kind = event.get("event")
        if (
            not isinstance(conversation_id, str)
            or not 0 < len(conversation_id) <= MAX_CONVERSATION_ID
            or isinstance(timestamp, bool)
            or not isinstance(timestamp, (int, float))
            or not math.isfinite(timestamp)
            or not isinstance(kind, str)
        ):
            raise ValueError("message lacks sender_id, timestamp or event")
        at = datetime.fromtimestamp(timestamp, timezone.utc)
        digest = hashlib.sha256(json.dumps(event, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()

        def fact(fact_kind: Kind, name: str, channel: Optional[str] = None) -> Fact:
            # One event may yield two facts (an nlu_fallback intent is also a fallback).
            key = hashlib.sha256(f"{digest}:{fact_kind.value}".encode()).hexdigest()
            return Fact(key, conversation_id, channel, fact_kind, name, at)

        if kind == "user":
            parse_data = event["parse_data"] if isinstance(event.get("parse_data"), dict) else {}
            intent = parse_data["intent"] if isinstance(parse_data.get("intent"), dict) else {}
            name = _name(intent.get("name"))
            if name is None:
                return []
            channel = _name(event.get("input_channel"), MAX_CHANNEL)
            facts = [fact(Kind.INTENT, name, channel)]
            if name == FALLBACK_INTENT:
                facts.append(fact(Kind.FALLBACK, name, channel))
            return facts
        if kind == "action":
            name = _name(event.get("name"))
            if name is None:
                return []
            self._remember(conversation_id, name)
            return [fact(Kind.FALLBACK, name)] if name in FALLBACK_ACTIONS else []
        if kind == "pause":
            latest = self._latest_action.get(conversation_id)
            if latest in REPAUSE_ACTIONS:
                return []
            return [fact(Kind.HANDOFF, latest or "unknown")]
        if kind == "slot" and event.get("name") == TICKET_SLOT:
            value = event.get("value")
            if isinstance(value, str) and TICKET_NO.match(value):
                return [fact(Kind.TICKET, value)]
        return []


class AnalyticsFeed:
    """The feed's table: recording facts (idempotent) and per-conversation summaries."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, facts: Sequence[Fact]) -> int:
        """Stores facts not stored yet; returns how many were new."""
        if not facts:
            return 0
        rows = [
            {
                "event_key": f.event_key,
                "conversation_id": f.conversation_id,
                "channel": f.channel,
                "kind": f.kind.value,
                "name": f.name,
                "at": f.at,
            }
            for f in facts
        ]
        with self.db.transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
            statement = insert(AnalyticsEvent).values(rows).on_conflict_do_nothing(index_elements=["event_key"])
            return session.execute(statement).rowcount or 0

    def conversation(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        summaries = self._summaries([conversation_id])
        return summaries[0] if summaries else None

    def recent(self, limit: int = 100) -> List[Dict[str, Any]]:
        """Summaries of the most recently active conversations, newest first."""
        limit = max(1, min(int(limit), MAX_SUMMARIES))
        latest = func.max(AnalyticsEvent.at)
        with self.db.transaction() as session:
            ids = (
                session.execute(
                    select(AnalyticsEvent.conversation_id)
                    .group_by(AnalyticsEvent.conversation_id)
                    .order_by(latest.desc())
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        return self._summaries(ids)

    def _summaries(self, conversation_ids: Sequence[str]) -> List[Dict[str, Any]]:
        if not conversation_ids:
            return []
        with self.db.transaction() as session:
            rows = (
                session.execute(
                    select(AnalyticsEvent)
                    .where(AnalyticsEvent.conversation_id.in_(list(conversation_ids)))
                    .order_by(AnalyticsEvent.at, AnalyticsEvent.id)
                )
                .scalars()
                .all()
            )
        grouped: Dict[str, List[AnalyticsEvent]] = {}
        for row in rows:
            grouped.setdefault(row.conversation_id, []).append(row)
        summaries = []
        for conversation_id in conversation_ids:
            facts = grouped.get(conversation_id)
            if not facts:
                continue
            by_kind: Dict[str, List[str]] = {kind.value: [] for kind in Kind}
            for row in facts:
                by_kind.setdefault(row.kind, []).append(row.name)
            summaries.append(
                {
                    "conversation_id": conversation_id,
                    "channel": next((row.channel for row in facts if row.channel), None),
                    "first_at": facts[0].at.isoformat(),
                    "last_at": facts[-1].at.isoformat(),
                    "messages": len(by_kind[Kind.INTENT.value]),
                    "intents": dict(Counter(by_kind[Kind.INTENT.value]).most_common()),
                    "fallbacks": len(by_kind[Kind.FALLBACK.value]),
                    "handoffs": len(by_kind[Kind.HANDOFF.value]),
                    "tickets": by_kind[Kind.TICKET.value],
                }
            )
        return summaries


async def delete_feed(settings: Settings) -> None:
    """Deletes the feed's queue and the events exchange (throwaway ones of tests and benchmarks)."""
    import aio_pika

    connection = await aio_pika.connect_robust(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(settings.analytics_queue)
        await channel.exchange_delete(settings.events_exchange)


def _broker_address(url: str) -> str:
    """host:port of the broker, for log lines (never the credentials)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5672}"


class AnalyticsConsumer:
    """Reads the analytics queue and writes the feed, in batches.

    A batch is acknowledged after its facts are committed. When the database
    is unavailable the batch (and whatever was prefetched after it) goes back
    to the queue in order, and the consumer waits before trying again.
    """

    def __init__(
        self,
        settings: Settings,
        feed: AnalyticsFeed,
        classifier: Optional[EventClassifier] = None,
        batch_size: int = 100,
        batch_wait: float = 0.2,
    ) -> None:
        self.settings = settings
        self.feed = feed
        self.classifier = classifier or EventClassifier()
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.recorded = 0

    async def _connect(self, stop: asyncio.Event) -> Any:
        import aio_pika  # a Rasa dependency; imported here so the feed works without it

        delay = 1.0
        address = _broker_address(self.settings.rabbitmq_url)
        while not stop.is_set():
            try:
                return await aio_pika.connect_robust(self.settings.rabbitmq_url)
            except Exception as exc:  # aio-pika raises many kinds while RabbitMQ starts
                logger.error(
                    "Analytics: RabbitMQ at %s is unreachable (%s); retrying in %.0f s.",
                    address,
                    exc.__class__.__name__,
                    delay,
                )
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                delay = min(delay * 2, 30.0)
        return None

    async def run(self, stop: Optional[asyncio.Event] = None) -> None:
        import aio_pika

        stop = stop or asyncio.Event()
        connection = await self._connect(stop)
        if connection is None:
            return
        inbox: "asyncio.Queue[Any]" = asyncio.Queue()
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.batch_size)
            # Declared exactly as Rasa's pika broker declares them, so either may start first.
            exchange = await channel.declare_exchange(self.settings.events_exchange, aio_pika.ExchangeType.FANOUT)
            queue = await channel.declare_queue(self.settings.analytics_queue, durable=True)
            await queue.bind(exchange, "")
            await queue.consume(inbox.put)
            logger.info(
                "Analytics: consuming queue %r on %s.",
                self.settings.analytics_queue,
                _broker_address(self.settings.rabbitmq_url),
            )
            delay = 1.0
            while not stop.is_set():
                batch = await self._next_batch(inbox, stop)
                if not batch:
                    continue
                if await self._write(batch):
                    delay = 1.0
                    continue
                # Everything prefetched after the batch goes back too, keeping the order.
                while not inbox.empty():
                    batch.append(inbox.get_nowait())
                await self._settle(batch[-1], ok=False)
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except asyncio.TimeoutError:
                    pass
                delay = min(delay * 2, 30.0)
        finally:
            await connection.close()

    async def _next_batch(self, inbox: "asyncio.Queue[Any]", stop: asyncio.Event) -> List[Any]:
        try:
            first = await asyncio.wait_for(inbox.get(), 0.5)
        except asyncio.TimeoutError:
            return []
        batch = [first]
        deadline = asyncio.get_running_loop().time() + self.batch_wait
        while len(batch) < self.batch_size and not stop.is_set():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _write(self, batch: List[Any]) -> bool:
        facts: List[Fact] = []
        for message in batch:
            try:
                facts.extend(self.classifier.classify(message.body))
            except ValueError as exc:
                # Not a Rasa event: dropped (acknowledged with the batch), never retried.
                logger.warning("Analytics: ignored a broker message (%s).", exc)
        try:
            self.recorded += await asyncio.to_thread(self.feed.record, facts)
        except SQLAlchemyError as exc:
            logger.error(
                "Analytics: the database is unavailable (%s); %d event(s) go back to the " "queue and are retried.",
                exc.__class__.__name__,
                len(batch),
            )
            return False
        await self._settle(batch[-1], ok=True)
        return True

    @staticmethod
    async def _settle(last: Any, ok: bool) -> None:
        """Acknowledges (or requeues) every delivery up to `last`, which is the newest."""
        try:
            if ok:
                await last.ack(multiple=True)
            else:
                await last.nack(multiple=True, requeue=True)
        except Exception as exc:  # the channel was lost: RabbitMQ redelivers, the keys dedupe
            logger.warning(
                "Analytics: could not settle deliveries (%s); they will be redelivered.", exc.__class__.__name__
            )


def summaries_as_rows(summaries: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Flat rows for the CLI's plain output."""
    return [
        {
            "conversation_id": s["conversation_id"],
            "channel": s["channel"],
            "last_at": s["last_at"],
            "messages": s["messages"],
            "fallbacks": s["fallbacks"],
            "handoffs": s["handoffs"],
            "tickets": ",".join(s["tickets"]) or "-",
        }
        for s in summaries
    ]
