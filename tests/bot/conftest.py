from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import List, Type

import pytest
from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.training import load_data
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.event_broker import RabbitMQEventBroker
from bot.settings import PROJECT_ROOT, Settings
from tests.databases import IN_CI, make_settings

RABBITMQ = (os.environ.get("RABBITMQ_HOST", "127.0.0.1"), int(os.environ.get("RABBITMQ_PORT", "5672")))


@pytest.fixture(scope="session")
def story_steps(agent) -> List[DialogueStateTracker]:
    """The tracker before each bot action of each test story (and of the training stories)."""
    domain = agent.domain
    stories = load_data(
        str(PROJECT_ROOT / "tests" / "model" / "test_stories.yml"), domain, augmentation_factor=0
    ) + load_data(str(PROJECT_ROOT / "data" / "stories"), domain, augmentation_factor=0)
    steps = [
        DialogueStateTracker.from_events(prior.sender_id, list(prior.events), slots=domain.slots)
        for story in stories
        for prior, _ in story.generate_all_prior_trackers()
    ]
    assert len(steps) > 50
    return steps


@pytest.fixture
def rabbitmq() -> None:
    try:
        socket.create_connection(RABBITMQ, timeout=2).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"RabbitMQ must be reachable under CI at {RABBITMQ}: {exc}")
        pytest.skip(f"RabbitMQ is not running at {RABBITMQ[0]}:{RABBITMQ[1]}; skipping RabbitMQ tests")


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
