"""The production event broker on the real RabbitMQ: the messages Rasa's own
pika broker would publish, and an event that cannot be published is kept for
later without its content reaching the log."""

from __future__ import annotations

import json
import logging

import aio_pika
from rasa.core.brokers.pika import PikaEventBroker
from rasa.shared.core.events import UserUttered

from bot.analytics import delete_feed
from tests.bot.rasa.rabbitmq import feed_settings, production_broker, published

PHONE = "13812345678"


def an_event(sender: str) -> dict:
    event = UserUttered(
        f"我的手机号是{PHONE}",
        {"name": "inform", "confidence": 0.98},
        parse_data={"intent": {"name": "inform", "confidence": 0.98}, "entities": [], "text": f"我的手机号是{PHONE}"},
    ).as_dict()
    return {"sender_id": sender, **event}


async def test_it_publishes_what_rasas_pika_broker_publishes(rabbitmq, tmp_path):
    settings = feed_settings(tmp_path)
    ours = production_broker(settings)
    await ours.connect()
    try:
        event = an_event("web-1")
        ours.publish(event)
        await published(ours)
        # Rasa's own broker, declared the same way, publishes the same event after it.
        theirs = production_broker(settings, PikaEventBroker)
        await theirs.connect()
        theirs.publish(event)
        await published(theirs)
        await theirs.close()

        connection = await aio_pika.connect_robust(settings.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(settings.analytics_queue)
            first, second = await queue.get(timeout=5), await queue.get(timeout=5)
        assert json.loads(first.body) == event == json.loads(second.body)
        assert first.delivery_mode == second.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert first.app_id == second.app_id
    finally:
        await ours.close()
        await delete_feed(settings)


async def test_an_event_it_cannot_publish_is_kept_and_logged_without_its_text(rabbitmq, tmp_path, caplog):
    settings = feed_settings(tmp_path)
    broker = production_broker(settings)
    await broker.connect()
    try:
        await delete_feed(settings)  # the exchange disappears under the broker: publishing fails
        event = an_event("web-2")
        with caplog.at_level(logging.ERROR, logger="bot.rasa.event_broker"):
            broker.publish(event)
            await published(broker)
        assert list(broker._unpublished_events) == [event]
        assert "Could not publish a 'user' event" in caplog.text
        assert PHONE not in caplog.text
    finally:
        await broker.close()
        await delete_feed(settings)
