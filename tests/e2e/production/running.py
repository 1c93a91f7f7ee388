"""The production topology as the tests see it (state file, processes, logs), and a redis-server of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import requests
from sqlalchemy import text

from bot.db import Database
from bot.launch.ports import free_port, reachable
from bot.launch.processes import spawn, stop
from bot.settings import Settings
from tests.databases import IN_CI

TOKEN = "production-test-token"
RABBITMQ = (os.environ.get("RABBITMQ_HOST", "127.0.0.1"), int(os.environ.get("RABBITMQ_PORT", "5672")))
STARTUP_SECONDS = 780  # below pytest-timeout's 900 s, which counts fixture setup


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} (the production-topology tests must run under CI)")
    pytest.skip(f"{what}; skipping the production-topology tests")


class RedisServer:
    """A redis-server of the tests' own on a free port; the shared one is never stopped."""

    def __init__(self, var: Path) -> None:
        self.port = free_port()
        self.log = var / "redis.log"
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.process = spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            self.log,
            os.environ,
        )
        deadline = time.time() + 20
        while not reachable(("127.0.0.1", self.port), 0.5):
            if self.process.poll() is not None or time.time() > deadline:
                pytest.fail(f"redis-server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            stop([self.process], seconds=20)


@dataclass
class Topology:
    var: Path
    lb_url: str
    api_url: str
    desk_url: str
    settings: Settings
    db: Database
    redis: RedisServer
    launcher: subprocess.Popen
    output: Path

    def state(self) -> Dict[str, Any]:
        return json.loads((self.var / "run" / "state.json").read_text())

    def process(self, name: str) -> Dict[str, Any]:
        return self.state()["processes"][name]

    def replica_urls(self) -> List[str]:
        state = self.state()["processes"]
        return [f"http://127.0.0.1:{state[name]['port']}" for name in sorted(state) if name.startswith("rasa-")]

    def launcher_output(self) -> str:
        return self.output.read_text(errors="replace")

    def log(self, name: str) -> str:
        return Path(self.process(name)["log"]).read_text(errors="replace")

    def kill(self, name: str, signum: int = signal.SIGKILL) -> int:
        pid = self.process(name)["pid"]
        os.killpg(pid, signum)
        return pid

    def wait_until(self, predicate, seconds: float, what: str, interval: float = 0.5) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.launcher.poll() is not None:
                pytest.fail(f"the launcher exited:\n{self.launcher_output()[-3000:]}")
            with suppress(Exception):
                if predicate():
                    return
            time.sleep(interval)
        pytest.fail(f"{what} not reached after {seconds:.0f} s")

    def wait_healthy(self, seconds: float = STARTUP_SECONDS) -> None:
        """Every process running and serving (a killed one is started again by the launcher)."""
        self.wait_until(
            lambda: self.state()["ready"]
            and all(p["alive"] and p["ready"] for p in self.state()["processes"].values()),
            seconds,
            "a healthy topology",
        )

    def tracker(self, sender: str) -> Dict[str, Any]:
        response = requests.get(f"{self.api_url}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=60)
        response.raise_for_status()
        return response.json()

    def stored_events(self, sender: str) -> int:
        """Events of the conversation in PostgreSQL (Rasa's `events` table)."""
        with self.db.transaction() as session:
            return session.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar_one()


def stop_launcher(topology: Topology) -> None:
    """Stops the launcher (and so every process it started), then whatever it could not stop."""
    stop([topology.launcher], seconds=60)
    # Whatever the launcher could not stop (it was killed itself).
    with suppress(FileNotFoundError, json.JSONDecodeError):
        for process in topology.state()["processes"].values():
            with suppress(ProcessLookupError, PermissionError, TypeError):
                os.killpg(process["pid"], signal.SIGKILL)
