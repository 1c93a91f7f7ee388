"""A real desk server process on a free port, on a migrated SQLite database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import pytest
import requests

from bot.agents import AgentService, Role
from bot.db import Database, migrate
from bot.handoff import HandoffReason, HandoffService
from bot.launch.ports import free_port
from bot.settings import PROJECT_ROOT, Settings
from tests.bot.desk.client import PASSWORD, DeskClient


@dataclass
class DeskServer:
    """A running desk process and its database."""

    url: str
    settings: Settings
    db: Database
    process: subprocess.Popen
    log: Path

    def agent(self, username: str, role: Role = Role.AGENT, name: Optional[str] = None) -> DeskClient:
        """A new agent, logged in."""
        AgentService(self.db).add(username, name or username.title(), PASSWORD, role)
        return DeskClient(self.url).login(username)

    def handoff(
        self, conversation_id: str, reason: HandoffReason = HandoffReason.USER_REQUEST, slots: Optional[Dict] = None
    ) -> int:
        """A conversation queued for the agents; its handoff request id."""
        return HandoffService(self.db, self.settings).request(conversation_id, "rest", reason, slots or {}).id


def start_desk(var: Path, extra_env: Optional[Dict[str, str]] = None) -> DeskServer:
    """Starts a desk on `var` and waits until it answers; Rasa is unreachable unless `extra_env` names one."""
    env = {**os.environ}
    env.pop("DATABASE_URL", None)  # SQLite in `var` unless a test gives a database
    env.update(
        {
            "COMPLAINTS_VAR_DIR": str(var),
            "RASA_TELEMETRY_ENABLED": "false",
            "RASA_URL": "http://127.0.0.1:9",  # no Rasa unless a test gives one
            **(extra_env or {}),
        }
    )
    settings = Settings.from_env(env)
    migrate(settings)
    port = free_port()
    log = var / f"desk-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "desk", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"desk exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                return DeskServer(url, settings, Database(settings.database_url), process, log)
        except requests.RequestException:
            time.sleep(0.2)
    pytest.fail("desk did not start")


def stop_desk(server: DeskServer) -> None:
    """Stops the desk's process group (killed if it hangs) and closes its database."""
    if server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
    server.db.dispose()
