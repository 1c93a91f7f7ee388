"""The RabbitMQ server of the tests, and the event broker on an exchange and queue of a test's own."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Type

from rasa.core.brokers.pika import PikaEventBroker

from bot.rasa.event_broker import RabbitMQEventBroker
from bot.settings import Settings
from tests.databases import make_settings

RABBITMQ = (os.environ.get("RABBITMQ_HOST", "127.0.0.1"), int(os.environ.get("RABBITMQ_PORT", "5672")))


def feed_settings(tmp_path: Path) -> Settings:
    """Settings with an exchange and analytics queue of the test's own."""
    name = uuid.uuid4().hex[:8]
    return make_settings(tmp_path, EVENTS_EXCHANGE=f"test_events_{name}", ANALYTICS_QUEUE=f"test_analytics_{name}")


def production_broker(settings: Settings, kind: Type[PikaEventBroker] = RabbitMQEventBroker) -> PikaEventBroker:
    """The event broker as endpoints.production.yml configures it (or Rasa's own, `kind`),
    on the settings' exchange and queue."""
    return kind(
        RABBITMQ[0],
        "guest",
        "guest",
        port=RABBITMQ[1],
        queues=[settings.analytics_queue],
        exchange_name=settings.events_exchange,
        connection_attempts=1,
        retry_delay_in_seconds=1,
    )


async def published(broker: PikaEventBroker) -> None:
    """Until every publish the broker started has finished."""
    while broker._background_tasks:
        await asyncio.sleep(0.05)
