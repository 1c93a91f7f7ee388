"""What the figures were measured on, and how much else was running meanwhile."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import psutil


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> Dict[str, str]:
    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "rasa": version("rasa"),
        "rasa-sdk": version("rasa-sdk"),
        "tensorflow": version("tensorflow"),
        "sanic": version("sanic"),
    }


def _busy(times: "psutil._common.scputimes") -> float:
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


# Shared services a production topology uses but does not start: their processes
# are found by name (the machine's PostgreSQL, Redis and RabbitMQ).
SERVICES = {
    "postgresql": ("postgres",),
    "redis": ("redis-server",),
    "rabbitmq": ("beam.smp", "erl_child_setup", "epmd", "inet_gethost"),
}
HARNESS = "load generator"


def _cpu_seconds(process: psutil.Process) -> Optional[Tuple[float, float]]:
    """(CPU seconds so far, creation time) or None if it is gone."""
    try:
        with process.oneshot():
            times = process.cpu_times()
            return times.user + times.system, process.create_time()
    except psutil.Error:
        return None


def _snapshot(roles: Dict[str, int]) -> Dict[int, Tuple[str, float, float]]:
    """pid -> (group, CPU seconds, creation time) of every process that counts:
    each role with its descendants, the shared services, and this harness."""
    found: Dict[int, Tuple[str, float, float]] = {}

    def add(process: psutil.Process, group: str) -> None:
        if process.pid in found:
            return
        reading = _cpu_seconds(process)
        if reading is not None:
            found[process.pid] = (group, *reading)

    role_pids = set(roles.values())
    for role, pid in roles.items():
        try:
            process = psutil.Process(pid)
            add(process, role)
            for child in process.children(recursive=True):
                if child.pid not in role_pids:
                    add(child, role)
        except psutil.Error:
            continue
    me = psutil.Process()
    add(me, HARNESS)
    for process in psutil.process_iter(["name"]):
        name = process.info["name"] or ""
        for service, names in SERVICES.items():
            if name in names:
                add(process, service)
    return found


@dataclass
class CpuShare:
    """Where the machine's CPU went during a window: by role (a server and its
    children), shared service, this harness, and "other" (everything else on
    the machine, the load the report warns about)."""

    seconds: float = 0.0
    by_group: Dict[str, float] = field(default_factory=dict)  # CPU seconds
    other_cpu_seconds: float = 0.0

    @property
    def other_share(self) -> Optional[float]:
        if self.seconds <= 0:
            return None
        return max(0.0, self.other_cpu_seconds) / (self.seconds * (os.cpu_count() or 1))

    def __add__(self, other: "CpuShare") -> "CpuShare":
        groups = {
            group: self.by_group.get(group, 0.0) + other.by_group.get(group, 0.0)
            for group in {*self.by_group, *other.by_group}
        }
        return CpuShare(self.seconds + other.seconds, groups, self.other_cpu_seconds + other.other_cpu_seconds)

    def per_turn_ms(self, turns: int) -> Dict[str, float]:
        """CPU milliseconds per turn of each group that used any."""
        if turns <= 0:
            return {}
        return {group: round(1000 * cpu / turns, 2) for group, cpu in sorted(self.by_group.items()) if cpu > 0}


class CpuWindow:
    """`with CpuWindow(roles) as window:` … then window.share.

    A process that starts during the window counts from its start; one that
    exits during it loses what it used (pooled connections and workers live on).
    """

    def __init__(self, roles: Callable[[], Dict[str, int]] = dict) -> None:
        self._roles = roles

    def __enter__(self) -> "CpuWindow":
        self._start = time.monotonic()
        self._busy = _busy(psutil.cpu_times())
        self._before = _snapshot(self._roles())
        return self

    def __exit__(self, *exc: object) -> None:
        after = _snapshot(self._roles())
        busy = _busy(psutil.cpu_times()) - self._busy
        by_group: Dict[str, float] = {}
        for pid, (group, cpu, created) in after.items():
            before = self._before.get(pid)
            used = cpu - before[1] if before is not None and before[2] == created else cpu
            by_group[group] = by_group.get(group, 0.0) + max(0.0, used)
        self.share = CpuShare(
            seconds=time.monotonic() - self._start, by_group=by_group, other_cpu_seconds=busy - sum(by_group.values())
        )
