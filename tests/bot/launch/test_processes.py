"""Stopping launched processes: their whole process group, and SIGKILL for one that ignores SIGTERM."""

from __future__ import annotations

import signal
import time

import psutil

from bot.launch.processes import spawn, stop
from tests.bot.launch.programs import PARENT, STUBBORN, python


def wait_for_output(log, lines: int = 1) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text()
        if text.count("\n") >= lines:
            return text
        time.sleep(0.05)
    raise AssertionError(f"no output in {log}")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_stopping_ends_the_process_group_with_its_children(tmp_path):
    log = tmp_path / "parent.log"
    process = spawn(python(PARENT), log, {})
    parent, child = (int(pid) for pid in wait_for_output(log).split())
    assert alive(child)
    stop([process], seconds=10)
    assert process.returncode == -signal.SIGTERM
    assert parent == process.pid
    deadline = time.monotonic() + 10
    while alive(child):
        assert time.monotonic() < deadline, "the grandchild survived"
        time.sleep(0.05)


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path):
    log = tmp_path / "stubborn.log"
    process = spawn(python(STUBBORN), log, {}, mode="w")
    wait_for_output(log)
    started = time.monotonic()
    stop([process], seconds=1)
    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10
