"""The production lock store on the machine's real Redis: two stores stand for
two Rasa replicas sharing it. Each test uses its own key prefix."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from contextlib import contextmanager
from typing import AsyncIterator, Iterator, List, Tuple

import pytest
import redis
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from bot.rasa.lock_store import AtomicRedisLockStore
from tests.databases import IN_CI

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POLL = 0.01  # seconds between a waiting ticket's checks (Rasa waits 1 s)


@pytest.fixture
def prefix() -> str:
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2).ping()
    except redis.ConnectionError as exc:
        if IN_CI:
            pytest.fail(f"Redis must be reachable under CI: {exc}")
        pytest.skip(f"Redis is not running at {REDIS_HOST}:{REDIS_PORT}; skipping lock store tests")
    return f"test{uuid.uuid4().hex[:8]}"


def store(prefix: str, port: int = REDIS_PORT) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(EndpointConfig(url=REDIS_HOST, port=port, db=1, key_prefix=prefix, socket_timeout=2))


@pytest.fixture
async def replicas(prefix: str) -> AsyncIterator[Tuple[AtomicRedisLockStore, AtomicRedisLockStore]]:
    first, second = store(prefix), store(prefix)
    yield first, second
    await first.redis.close()
    await second.redis.close()


def keys_left(prefix: str) -> List[bytes]:
    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=1).keys(f"{prefix}:*")


async def test_one_conversations_messages_are_served_one_at_a_time_in_arrival_order(replicas, prefix):
    served: List[Tuple[int, float, float]] = []

    async def turn(number: int) -> None:
        await asyncio.sleep(number * 0.02)  # messages arrive one after another, on alternate replicas
        async with replicas[number % 2].lock("user-1", wait_time_in_seconds=POLL):
            entered = time.monotonic()
            await asyncio.sleep(0.05)
            served.append((number, entered, time.monotonic()))

    await asyncio.gather(*(turn(number) for number in range(5)))

    assert [number for number, _, _ in served] == [0, 1, 2, 3, 4]
    for (_, _, left), (_, entered, _) in zip(served, served[1:]):
        assert entered >= left  # never two turns of one conversation at once
    assert keys_left(prefix) == []  # nobody waiting: the lock is gone


async def test_other_conversations_do_not_wait(replicas):
    first, second = replicas
    async with first.lock("user-1", wait_time_in_seconds=POLL):
        started = time.monotonic()
        async with second.lock("user-2", wait_time_in_seconds=POLL):
            assert time.monotonic() - started < 0.5


async def test_a_lock_left_by_a_dead_replica_expires(replicas, prefix):
    dead, alive = replicas
    held = dead.lock("user-1", lock_lifetime=0.3)
    await held.__aenter__()  # the replica dies inside its turn: never released
    started = time.monotonic()
    async with alive.lock("user-1", wait_time_in_seconds=POLL):
        waited = time.monotonic() - started
    assert 0.2 <= waited < 2
    assert keys_left(prefix) == []
    await held.__aexit__(None, None, None)  # releasing an expired ticket changes nothing
    assert keys_left(prefix) == []


async def test_a_message_waiting_longer_than_its_lifetime_is_refused(replicas):
    slow, other = replicas
    async with slow.lock("user-1", lock_lifetime=10):
        with pytest.raises(LockError, match="Could not acquire lock for conversation_id 'user-1'"):
            async with other.lock("user-1", lock_lifetime=0.2, wait_time_in_seconds=0.05):
                pytest.fail("served while another message of the conversation was being processed")


async def test_a_failure_inside_the_turn_releases_the_lock(replicas, prefix):
    with pytest.raises(RuntimeError):
        async with replicas[0].lock("user-1"):
            raise RuntimeError("the turn failed")
    assert keys_left(prefix) == []
    async with replicas[1].lock("user-1", wait_time_in_seconds=POLL):
        pass


async def test_unreachable_redis_is_a_lock_error_that_names_it(prefix):
    with socket_without_server() as port:
        unreachable = store(prefix, port)
        with pytest.raises(LockError, match=f"Error while acquiring lock(.|\\n)*127.0.0.1:{port}"):
            async with unreachable.lock("user-1"):
                pytest.fail("served without a lock")


@contextmanager
def socket_without_server() -> Iterator[int]:
    """A port nothing listens on, held bound (not listening) so nothing takes it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_a_connection_closed_by_redis_is_reopened_for_the_next_turn(replicas, prefix):
    store = replicas[0]
    async with store.lock("user-1"):
        pass
    connection_id = await store.redis.client_id()  # the pooled connection the next turn will use
    redis.Redis(host=REDIS_HOST, port=REDIS_PORT).client_kill_filter(_id=connection_id)  # as a restart does
    async with store.lock("user-1", wait_time_in_seconds=POLL):
        pass
    assert keys_left(prefix) == []


async def test_a_ticket_issued_again_after_a_lost_answer_is_queued_once(replicas, prefix):
    store = replicas[0]
    keys = store._keys("user-1")
    assert await store._issue(keys=keys, args=["ticket-a", 10_000]) == 1
    assert await store._issue(keys=keys, args=["ticket-a", 10_000]) == 1  # the same ticket, still first
    assert await store._issue(keys=keys, args=["ticket-b", 10_000]) == 0
    assert redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=1).hlen(keys[0]) == 2
    await store._release(keys=keys, args=["ticket-a"])
    assert await store._poll(keys=keys, args=["ticket-b"]) == 1
    await store._release(keys=keys, args=["ticket-b"])
    assert keys_left(prefix) == []


async def test_a_conversation_id_cannot_name_another_conversations_keys(replicas, prefix):
    first, second = replicas
    async with first.lock("user-1"):
        started = time.monotonic()
        for sneaky in ("user-1:last", "sequence:user-1", "tickets:user-1"):
            async with second.lock(sneaky, wait_time_in_seconds=POLL):
                pass
        assert time.monotonic() - started < 0.5  # neither blocked nor broken by user-1's lock
    assert keys_left(prefix) == []
