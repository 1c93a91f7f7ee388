"""The production lock store: one ticket lock per conversation, in Redis, atomic.

Rasa processes a conversation's messages one at a time, in the order they
arrived, by taking a ticket lock around each turn (`LockStore.lock`, the only
method Rasa calls). Rasa OSS's `RedisLockStore` reads, changes and writes back
one JSON value with a blocking client, and two replicas can get the same
ticket. Here each step is one Lua script that Redis runs atomically, through
redis-py's asyncio client, timed by Redis's own clock (replicas' clocks may
differ):

- issue: drop expired tickets, queue this one, say whether it is served now;
- poll (only while another message of the conversation is being processed):
  is this ticket served now, still waiting, or expired;
- release: remove the ticket, and the lock's keys when nobody else holds one.

Keys expire by themselves after the lock lifetime, so a replica that dies
holding a ticket blocks its conversation for at most that long, as with
Rasa's store. Measurements: docs/benchmark.md, "Why the Rasa overrides exist".
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX, LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)

DEFAULT_SOCKET_TIMEOUT_SECONDS = 10.0

# KEYS[1]: the conversation's tickets, a hash: ticket id -> "<sequence> <expiry>",
# the sequence giving the order of arrival and the expiry in ms of Redis time.
# KEYS[2]: the sequence last issued. Both expire with the newest ticket.
# Ticket ids are chosen by the caller, so a script that is sent again after a
# lost connection changes nothing more.
_DROP_EXPIRED = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local first, serving = nil, nil
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do
  local sequence, expiry = string.match(held[i + 1], '^(%d+) (%d+)$')
  sequence, expiry = tonumber(sequence), tonumber(expiry)
  if expiry <= now then
    redis.call('HDEL', KEYS[1], held[i])
  elseif first == nil or sequence < first then
    first, serving = sequence, held[i]
  end
end
"""

# ARGV[1]: the ticket id, ARGV[2]: the lifetime in ms. Returns 1 if it is served now, else 0.
ISSUE = (
    _DROP_EXPIRED
    + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  local sequence = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], ARGV[1], sequence .. ' ' .. string.format('%.0f', now + tonumber(ARGV[2])))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  if first == nil or sequence < first then serving = ARGV[1] end
end
return serving == ARGV[1] and 1 or 0
"""
)

# ARGV[1]: the ticket id. Returns 1 served now, 0 waiting, -1 expired.
POLL = (
    _DROP_EXPIRED
    + """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
return serving == ARGV[1] and 1 or 0
"""
)

# ARGV[1]: the ticket id. Nobody left holding one: both keys go.
RELEASE = """
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return 1
"""


class AtomicRedisLockStore(LockStore):
    """`lock_store: type: bot.rasa.lock_store.AtomicRedisLockStore` with Rasa's Redis
    lock store options: url (the host), port, db, password, key_prefix, socket_timeout."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        config = endpoint_config or EndpointConfig(url="localhost")
        options = config.kwargs
        timeout = float(options.get("socket_timeout") or DEFAULT_SOCKET_TIMEOUT_SECONDS)
        host, port = config.url or "localhost", int(options.get("port") or 6379)
        self.address = f"{host}:{port}"  # errors name it: an operator must know which Redis is down
        self.redis = aioredis.Redis(
            host=host,
            port=port,
            db=int(options.get("db") or 1),
            password=options.get("password") or None,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # After a Redis restart a pooled connection fails once; it is reopened and
            # the script sent again (the scripts are idempotent).
            retry_on_error=[RedisConnectionError],
        )
        prefix = options.get("key_prefix")
        self.key_prefix = (
            f"{prefix}:{DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX}" if prefix else DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX
        )
        self._issue = self.redis.register_script(ISSUE)
        self._poll = self.redis.register_script(POLL)
        self._release = self.redis.register_script(RELEASE)

    def _error(self, exc: Exception) -> LockError:
        return LockError(f"Error while acquiring lock. Error:\n{exc} (the lock store's Redis at {self.address})")

    def _keys(self, conversation_id: Text) -> list:
        # Distinct namespaces: no conversation id (chosen by clients) can name another's key.
        return [f"{self.key_prefix}tickets:{conversation_id}", f"{self.key_prefix}sequence:{conversation_id}"]

    @asynccontextmanager
    async def lock(
        self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        """Holds the conversation's lock for the block; raises LockError if Redis
        fails or the ticket expires while waiting its turn."""
        keys = self._keys(conversation_id)
        ticket = uuid.uuid4().hex
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        try:
            served = await self._issue(keys=keys, args=[ticket, lifetime_ms]) == 1
        except Exception as exc:  # redis-py's connection and timeout errors; Rasa's message and type
            raise self._error(exc) from exc
        try:
            while not served:
                await asyncio.sleep(wait_time_in_seconds)
                try:
                    state = await self._poll(keys=keys, args=[ticket])
                except Exception as exc:
                    raise self._error(exc) from exc
                if state < 0:
                    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
                served = state == 1
            yield TicketLock(conversation_id)
        finally:
            try:
                await self._release(keys=keys, args=[ticket])
            except Exception as exc:  # the ticket expires by itself, after the lock lifetime
                logger.warning(
                    "Could not release the lock of conversation %r in Redis at %s (%s); it " "expires in %.0f s.",
                    conversation_id,
                    self.address,
                    exc,
                    lock_lifetime,
                )

    # Rasa's synchronous lock-store API is not used by Rasa beyond lock(); these
    # would bypass the scripts' atomicity, so they are refused loudly.
    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        raise NotImplementedError("AtomicRedisLockStore only supports lock()")

    def delete_lock(self, conversation_id: Text) -> None:
        raise NotImplementedError("AtomicRedisLockStore only supports lock()")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore only supports lock()")

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> Any:
        raise NotImplementedError("AtomicRedisLockStore only supports lock()")
