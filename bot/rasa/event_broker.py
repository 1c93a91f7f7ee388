"""The production event broker: Rasa's RabbitMQ (pika) broker, minus a deep copy.

Rasa 3.6's `PikaEventBroker` deep-copies every event it publishes, only for a
debug log line. This broker publishes the same messages to the same exchange
and queues. Failures are handled as Rasa's broker handles them (the event is
kept for publishing when RabbitMQ is back, unless configured otherwise); the
error logged names the event's kind, never its content (it carries what the
user wrote).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Text

from rasa.core.brokers.pika import PikaEventBroker

logger = logging.getLogger(__name__)


class RabbitMQEventBroker(PikaEventBroker):
    """`event_broker: type: bot.rasa.event_broker.RabbitMQEventBroker` with
    the options of Rasa's `pika` broker."""

    async def _publish(self, event: Dict[Text, Any], headers: Optional[Dict[Text, Text]] = None) -> None:
        if self._exchange is None:
            return
        try:
            await self._exchange.publish(self._message(event, headers), "")
        except Exception as exc:
            logger.error(
                "Could not publish a %r event of a conversation to RabbitMQ at %s (%s).",
                event.get("event"),
                self.host,
                exc.__class__.__name__,
            )
            if self.should_keep_unpublished_messages:
                self._unpublished_events.append(event)
            if self.raise_on_failure:
                await self.close()
                raise
