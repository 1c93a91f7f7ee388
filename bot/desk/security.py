"""The desk's defences against login abuse, and the log of what it refuses.

Password verification (argon2) is expensive on purpose: it runs on a small
executor of its own behind a bounded queue, so a flood of login attempts is
answered 429 instead of filling the shared thread pool that every other
request's database work waits on. Failed logins are counted per username and
client address, so guesses from one address cannot lock an agent out at
another, and per address, so one address cannot guess through many usernames.
Records go to the `bot.desk.security` logger; they never hold a password, and
a username is only named when it is an account (a mistyped password is often
entered as a username).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Dict, Generic, Hashable, Optional, Tuple, TypeVar

from bot.privacy import mask_text

log = logging.getLogger(__name__)

FAILURES_PER_USERNAME = 5  # from one address, within the window
FAILURES_PER_ADDRESS = 20  # any usernames, within the window
FAILURE_WINDOW = 15 * 60.0  # seconds
MAX_TRACKED = 10_000  # keys per counter: memory stays bounded under a flood of random usernames
PASSWORD_WORKERS = 1  # argon2id uses several lanes already
PASSWORD_QUEUE = 3  # attempts waiting for a worker; more at once are answered 429

LOCKED_MESSAGE = "登录失败次数过多，请15分钟后再试"
ADDRESS_LOCKED_MESSAGE = "该网络登录失败次数过多，请15分钟后再试"
BUSY_MESSAGE = "登录请求过多，请稍后再试"

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class LoginBusy(Exception):
    """More login attempts at once than the password executor may queue."""


class PasswordChecks:
    """Runs password verifications on an executor of their own, refusing work beyond a small queue."""

    def __init__(self, workers: int = PASSWORD_WORKERS, queue: int = PASSWORD_QUEUE) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="desk-password")
        self.capacity = workers + queue
        self._lock = threading.Lock()
        self._pending = 0

    async def run(self, work: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._pending >= self.capacity:
                raise LoginBusy()
            self._pending += 1
        # Counted until the work itself is done: a client that hangs up does not free
        # its place while its verification still runs (a queued one is cancelled).
        future = self.executor.submit(work, *args)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Count:
    failures: int
    since: float


class _WindowCounter(Generic[K]):
    """Failures per key within a fixed window from the first one; bounded in size."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.counts: Dict[K, _Count] = {}

    def _live(self, key: K) -> Optional[_Count]:
        count = self.counts.get(key)
        if count is not None and self.clock() - count.since >= self.window:
            del self.counts[key]
            return None
        return count

    def exceeded(self, key: K) -> bool:
        count = self._live(key)
        return count is not None and count.failures >= self.limit

    def add(self, key: K) -> int:
        """Records a failure; the number within the window."""
        count = self._live(key)
        if count is None:
            if len(self.counts) >= MAX_TRACKED:
                self._make_room()
            count = self.counts[key] = _Count(0, self.clock())
        count.failures += 1
        return count.failures

    def forget(self, key: K) -> None:
        self.counts.pop(key, None)

    def _make_room(self) -> None:
        now = self.clock()
        for key in [key for key, count in self.counts.items() if now - count.since >= self.window]:
            del self.counts[key]
        while len(self.counts) >= MAX_TRACKED:  # the oldest first (insertion order)
            del self.counts[next(iter(self.counts))]


class FailedLogins:
    """Which login attempts to refuse before verifying a password, from earlier failures."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        per_username: int = FAILURES_PER_USERNAME,
        per_address: int = FAILURES_PER_ADDRESS,
        window: float = FAILURE_WINDOW,
    ) -> None:
        self.by_username: _WindowCounter[Tuple[str, str]] = _WindowCounter(per_username, window, clock)
        self.by_address: _WindowCounter[str] = _WindowCounter(per_address, window, clock)

    def refusal(self, username: str, address: str) -> Optional[str]:
        """The Chinese message to answer with (429), or None to go on and verify."""
        if self.by_address.exceeded(address):
            return ADDRESS_LOCKED_MESSAGE
        if self.by_username.exceeded((username, address)):
            return LOCKED_MESSAGE
        return None

    def failed(self, username: str, address: str, account: bool) -> None:
        """Counts a failure and logs it, and the lockout it starts."""
        who = _who(username, account)
        pair = self.by_username.add((username, address))
        total = self.by_address.add(address)
        log.warning(
            "failed desk login for %s from %s (%d/%d for this username from there, %d/%d from there)",
            who,
            address,
            pair,
            self.by_username.limit,
            total,
            self.by_address.limit,
        )
        if pair == self.by_username.limit:
            log.warning("desk login for %s from %s locked for %d minutes", who, address, self.by_username.window // 60)
        if total == self.by_address.limit:
            log.warning(
                "desk logins from %s locked for %d minutes (%d failures)", address, self.by_address.window // 60, total
            )

    def succeeded(self, username: str, address: str) -> None:
        self.by_username.forget((username, address))


def _who(username: str, account: bool) -> str:
    return f"account {mask_text(username)!r}" if account else "an unknown username"


class RefusalLog:
    """Logs refused requests, at most one line per kind and address a minute with a count of the rest,
    so a flood of refused requests cannot flood the log."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.lines: Dict[Tuple[str, str], _Count] = {}

    def refused(self, status: int, kind: str, address: str, detail: str) -> None:
        key, now = (kind, address), self.clock()
        last = self.lines.get(key)
        if last is not None and now - last.since < self.every:
            last.failures += 1
            return
        if len(self.lines) >= MAX_TRACKED:
            self.lines.clear()
        more = f" ({last.failures} more since the last such line)" if last and last.failures else ""
        log.warning("refused %s (%d) from %s: %s%s", kind, status, address, detail, more)
        self.lines[key] = _Count(0, now)
