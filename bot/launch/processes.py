"""Starting a server process with its log, stopping a set of them (SIGTERM, then SIGKILL), and the signal
handler of the programs that do."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Iterable, Iterator, List, Mapping, Optional

from bot.settings import PROJECT_ROOT


def spawn(
    command: List[str], log: Path, env: Mapping[str, str], *, mode: str = "ab", cwd: Path = PROJECT_ROOT
) -> "subprocess.Popen[bytes]":
    """`command` run in a session of its own from `cwd`, with stdout and stderr into `log`."""
    with open(log, mode) as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def signal_group(process: "subprocess.Popen[bytes]", signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)  # the group: also what a leader that already exited left running


def stop(processes: Iterable["subprocess.Popen[bytes]"], seconds: float = 30) -> None:
    """SIGTERM to each one's process group, SIGKILL to those still running after `seconds`."""
    processes = list(processes)
    for process in processes:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)
    for process in processes:
        signal_group(process, signal.SIGKILL)  # what a leader that exited left behind in its group


class StopRequest:
    """A SIGINT/SIGTERM handler that only records the signal: an exception raised from a handler while Popen is
    starting a child would lose that child, which then outlives the program meant to stop it."""

    def __init__(self) -> None:
        self.signum = 0  # none yet

    def __call__(self, signum: int, _frame: Optional[FrameType]) -> None:
        self.signum = signum


@contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """SIGINT and SIGTERM are recorded by a StopRequest while the block runs (a second one while stopping is
    recorded too, never an exception); the earlier handlers are back afterwards."""
    request = StopRequest()
    handlers = {signum: signal.signal(signum, request) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
