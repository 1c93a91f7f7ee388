"""Resident memory of the servers under test, sampled while they run."""

from __future__ import annotations

import threading
from typing import Callable, Dict, Optional

import psutil

SAMPLE_SECONDS = 0.5


def resident_by_process(roles: Dict[str, int]) -> Dict[str, int]:
    """RSS in bytes of each role's process and of each of its children
    (nginx's workers, Sanic's worker processes), keyed `role` or `role/name-pid`."""
    found: Dict[str, int] = {}
    own_roles = set(roles.values())  # a supervisor's children may be roles themselves
    for role, pid in roles.items():
        try:
            process = psutil.Process(pid)
            found[role] = process.memory_info().rss
            for child in process.children():
                if child.pid in own_roles:
                    continue
                try:
                    found[f"{role}/{child.name()}-{child.pid}"] = child.memory_info().rss
                except psutil.Error:
                    continue
        except psutil.Error:
            continue  # exited (or restarted by a supervisor) between two samples
    return found


class MemorySampler:
    """Samples every SAMPLE_SECONDS in a thread and keeps each process's peak."""

    def __init__(self, roles: Callable[[], Dict[str, int]]) -> None:
        self._roles = roles
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.peak: Dict[str, int] = {}
        self.samples = 0

    def sample(self) -> Dict[str, int]:
        current = resident_by_process(self._roles())
        for key, rss in current.items():
            self.peak[key] = max(rss, self.peak.get(key, 0))
        self.samples += 1
        return current

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def __enter__(self) -> "MemorySampler":
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sample()
