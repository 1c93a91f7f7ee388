"""`.venv/bin/python -m bench.services`: what a turn's lock and event publishing
cost the Rasa server's process, Rasa's stores against the production ones, on
the machine's Redis and RabbitMQ. CPU time of this process (the client side),
and wall time, per turn; the whole-topology benchmark cannot separate these
few milliseconds from the machine's drift.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.brokers.pika import PikaEventBroker
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.log_utils import configure_structlog

from bot.analytics import delete_feed
from bot.rasa.event_broker import RabbitMQEventBroker
from bot.rasa.lock_store import AtomicRedisLockStore
from bot.settings import Settings

REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)


def turn_events(sender: str) -> List[Dict[str, Any]]:
    """About what one turn of a form publishes: the user's message with its parse
    data, the form's action, two slots, the bot's question, action_listen."""
    ranking = [{"name": f"intent_{i}", "confidence": 0.01} for i in range(10)]
    parse = {
        "intent": {"name": "inform", "confidence": 0.9},
        "intent_ranking": ranking,
        "entities": [{"entity": "phone", "value": "138****5678", "start": 0, "end": 11}],
        "text": "我的手机号是13812345678",
    }
    events = [
        UserUttered(parse["text"], parse["intent"], parse["entities"], parse_data=parse),
        ActionExecuted("complaint_form"),
        SlotSet("phone", "13812345678"),
        SlotSet("requested_slot", "name"),
        BotUttered("请问您的姓名是？"),
        ActionExecuted("action_listen"),
    ]
    return [{"sender_id": sender, **event.as_dict()} for event in events]


async def measure(label: str, turns: int, turn: Callable[[int], Awaitable[None]]) -> Dict[str, Any]:
    for number in range(min(50, turns)):  # connections, scripts loaded
        await turn(-number - 1)
    cpu, wall = time.process_time(), time.perf_counter()
    for number in range(turns):
        await turn(number)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "what": label,
        "turns": turns,
        "cpu_ms_per_turn": round(1000 * cpu / turns, 3),
        "wall_ms_per_turn": round(1000 * wall / turns, 3),
    }


async def locks(turns: int) -> List[Dict[str, Any]]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    config = EndpointConfig(url=REDIS[0], port=REDIS[1], db=1, key_prefix=prefix)
    rasas: LockStore = RedisLockStore(host=REDIS[0], port=REDIS[1], db=1, key_prefix=prefix)
    ours = AtomicRedisLockStore(config)

    def turn_of(store: LockStore) -> Callable[[int], Awaitable[None]]:
        async def turn(number: int) -> None:
            async with store.lock(f"user-{number}"):
                pass

        return turn

    found = [
        await measure("lock: Rasa's RedisLockStore", turns, turn_of(rasas)),
        await measure("lock: bot.rasa.lock_store.AtomicRedisLockStore", turns, turn_of(ours)),
    ]
    await ours.redis.close()
    return found


async def publishing(turns: int) -> List[Dict[str, Any]]:
    found = []
    for label, kind in (
        ("publish: Rasa's PikaEventBroker", PikaEventBroker),
        ("publish: bot.rasa.event_broker.RabbitMQEventBroker", RabbitMQEventBroker),
    ):
        name = uuid.uuid4().hex[:8]
        settings = Settings.from_env(
            {"EVENTS_EXCHANGE": f"bench_events_{name}", "ANALYTICS_QUEUE": f"bench_analytics_{name}"}
        )
        broker = kind(
            RABBITMQ[0],
            "guest",
            "guest",
            port=RABBITMQ[1],
            queues=[settings.analytics_queue],
            exchange_name=settings.events_exchange,
            connection_attempts=1,
        )
        await broker.connect()

        async def turn(number: int, broker: PikaEventBroker = broker) -> None:
            for event in turn_events(f"user-{number}"):
                broker.publish(event)
            await asyncio.gather(*broker._background_tasks)  # a turn's publishes end before the next turn's

        try:
            found.append(await measure(label, turns, turn))
        finally:
            await broker.close()
            await delete_feed(settings)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.services", description=__doc__)
    parser.add_argument("--turns", type=int, default=2000, choices=range(100, 100_001), metavar="100-100000")
    args = parser.parse_args()

    async def run() -> List[Dict[str, Any]]:
        return await locks(args.turns) + await publishing(args.turns)

    configure_structlog(logging.INFO)  # as `rasa run` does: Rasa's debug log lines are not written
    results = asyncio.run(run())
    print("| what | turns | CPU ms per turn | wall ms per turn |\n|---|---:|---:|---:|")
    for row in results:
        print(f"| {row['what']} | {row['turns']} | {row['cpu_ms_per_turn']} | {row['wall_ms_per_turn']} |")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
