"""Waiting until servers serve: health URLs polled, a process that died named with the end of its log."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, List, Mapping, Sequence, Tuple


class StartFailed(RuntimeError):
    """Servers did not come up; the message says why."""


class ProcessExited(StartFailed):
    """A server exited before all were ready."""

    def __init__(self, name: str, log: Path, returncode: int) -> None:
        super().__init__(f"the {name} server exited while starting (code {returncode}); the end of {log}:\n{tail(log)}")
        self.name = name
        self.log = log
        self.returncode = returncode


class NotReady(StartFailed):
    """Time ran out with some health URLs still not answering."""

    def __init__(self, seconds: float, pending: List[str]) -> None:
        super().__init__(f"not ready after {seconds:.0f} s: {', '.join(pending)}")
        self.pending = pending


class Cancelled(StartFailed):
    """Asked to stop (Ctrl-C) before all were ready."""


def answers(url: str, timeout: float = 3.0) -> bool:
    """Whether `url` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError):
        return False


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, or a note that there is none."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def wait_until_ready(
    urls: Sequence[str],
    processes: Mapping[str, Tuple["subprocess.Popen[bytes]", Path]],
    seconds: float,
    interval: float = 1.0,
    cancelled: Callable[[], bool] = lambda: False,
) -> float:
    """Seconds until every URL answers; ProcessExited if one of `processes` (name -> process, log) exits first,
    NotReady when `seconds` pass, Cancelled once `cancelled()` is true."""
    started = time.monotonic()
    pending = list(urls)
    while True:
        if cancelled():
            raise Cancelled("asked to stop while starting")
        pending = [url for url in pending if not answers(url)]
        if not pending:
            return time.monotonic() - started
        for name, (process, log) in processes.items():
            if process.poll() is not None:
                raise ProcessExited(name, log, process.returncode)
        if time.monotonic() - started > seconds:
            raise NotReady(seconds, pending)
        time.sleep(interval)
