"""What the figures were measured on, and how much else was running meanwhile."""
from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Dict, Optional

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


def _own_cpu() -> float:
    """CPU seconds of this process and everything it started (the servers)."""
    total = 0.0
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


@dataclass
class CpuShare:
    """CPU used by other processes on the machine during a window, as a share of
    every core: the measure of "other load" the report states."""

    seconds: float = 0.0
    other_cpu_seconds: float = 0.0
    own_cpu_seconds: float = 0.0

    @property
    def other_share(self) -> Optional[float]:
        if self.seconds <= 0:
            return None
        return max(0.0, self.other_cpu_seconds) / (self.seconds * (os.cpu_count() or 1))


class CpuWindow:
    """`with CpuWindow() as window:` … then window.share."""

    def __enter__(self) -> "CpuWindow":
        self._start = time.monotonic()
        self._busy = _busy(psutil.cpu_times())
        self._own = _own_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        busy = _busy(psutil.cpu_times()) - self._busy
        own = _own_cpu() - self._own
        self.share = CpuShare(seconds=time.monotonic() - self._start, other_cpu_seconds=busy - own,
                              own_cpu_seconds=own)
