"""Readiness waits on real processes: a server that answers, one that died, one that never answers."""

from __future__ import annotations

import sys

import pytest

from bot.launch.ports import free_port
from bot.launch.processes import spawn, stop
from bot.launch.readiness import NotReady, ProcessExited, answers, wait_until_ready
from tests.bot.launch.programs import SLEEPER, python


def started(tmp_path, program: str, name: str = "server"):
    log = tmp_path / f"{name}.log"
    return spawn(python(program), log, {}), log


def test_the_wait_ends_when_the_health_url_answers(tmp_path):
    port = free_port()
    log = tmp_path / "http.log"
    process = spawn([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], log, {}, cwd=tmp_path)
    try:
        seconds = wait_until_ready([f"http://127.0.0.1:{port}/"], {"http": (process, log)}, seconds=60, interval=0.1)
        assert 0 <= seconds < 60
        assert answers(f"http://127.0.0.1:{port}/")
        assert not answers(f"http://127.0.0.1:{port}/missing")  # 404 is not an answer
    finally:
        stop([process])


def test_a_process_that_dies_while_starting_is_named_with_the_end_of_its_log(tmp_path):
    waiting, waiting_log = started(tmp_path, SLEEPER, "waiting")
    dying, dying_log = started(tmp_path, "print('cannot bind the port', flush=True); raise SystemExit(3)", "dying")
    try:
        with pytest.raises(ProcessExited) as failed:
            wait_until_ready(
                [f"http://127.0.0.1:{free_port()}/health"],
                {"waiting": (waiting, waiting_log), "dying": (dying, dying_log)},
                seconds=60,
                interval=0.1,
            )
    finally:
        stop([waiting, dying])
    assert (failed.value.name, failed.value.returncode, failed.value.log) == ("dying", 3, dying_log)
    assert str(failed.value).startswith("the dying server exited while starting (code 3); the end of ")
    assert str(failed.value).endswith("cannot bind the port\n")


def test_time_running_out_names_what_does_not_answer(tmp_path):
    waiting, log = started(tmp_path, SLEEPER)
    url = f"http://127.0.0.1:{free_port()}/health"
    try:
        with pytest.raises(NotReady) as late:
            wait_until_ready([url], {"server": (waiting, log)}, seconds=0.5, interval=0.1)
    finally:
        stop([waiting])
    assert late.value.pending == [url]
    assert str(late.value) == f"not ready after 0 s: {url}"
