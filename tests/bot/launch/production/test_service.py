"""One supervised process: its log marks each start, it is stopped with its group, killed if it ignores SIGTERM."""

from __future__ import annotations

import signal
import time

from bot.launch.production.service import Service
from tests.bot.launch.programs import SLEEPER, STUBBORN, python


def sleeper(tmp_path, program: str = SLEEPER) -> Service:
    return Service("sleeper", python(program), None, tmp_path / "sleeper.log")


def wait_for(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_each_start_is_marked_in_the_log_and_stop_ends_the_process(tmp_path):
    service = sleeper(tmp_path)
    for _ in range(2):
        service.start({})
        assert service.alive() and not service.healthy()  # without a health URL: serving after 3 s alive
        wait_for(lambda: service.log.read_text().count("up") == service.log.read_text().count("--- started"))
        service.stop()
        assert service.process is not None and service.process.wait(timeout=30) == -signal.SIGTERM
        assert not service.alive()
    assert service.log.read_text().count("--- started ") == 2


def test_kill_ends_a_process_that_ignores_sigterm(tmp_path):
    service = sleeper(tmp_path, STUBBORN)
    service.start({})
    wait_for(lambda: "up" in service.log.read_text())
    service.stop()
    time.sleep(0.5)
    assert service.alive()
    service.kill()
    assert service.process is not None and service.process.wait(timeout=30) == -signal.SIGKILL
