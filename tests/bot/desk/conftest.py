"""A real desk server process on a free port, on a migrated SQLite database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import pytest
import requests

from bot.agents import AgentService, Role
from bot.db import Database, migrate
from bot.handoff import HandoffReason, HandoffService
from bot.launch.ports import free_port
from bot.settings import PROJECT_ROOT, Settings

PASSWORD = "a-long-password"


@dataclass
class DeskServer:
    url: str
    settings: Settings
    db: Database
    process: subprocess.Popen
    log: Path

    def agent(self, username: str, role: Role = Role.AGENT, name: Optional[str] = None) -> "DeskClient":
        AgentService(self.db).add(username, name or username.title(), PASSWORD, role)
        return DeskClient(self.url).login(username)

    def handoff(
        self, conversation_id: str, reason: HandoffReason = HandoffReason.USER_REQUEST, slots: Optional[Dict] = None
    ) -> int:
        return HandoffService(self.db, self.settings).request(conversation_id, "rest", reason, slots or {}).id


class DeskClient:
    """A browser-like client: cookie jar, CSRF token read from the page."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> "DeskClient":
        response = self.http.post(f"{self.url}/login", data={"username": username, "password": password}, timeout=10)
        match = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        assert match, f"login of {username} failed: {response.status_code}"
        self.csrf = match.group(1)
        return self

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(f"{self.url}{path}", timeout=10, allow_redirects=False, **kwargs)

    def post(self, path: str, json=None, csrf: bool = True, **kwargs) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.post(
            f"{self.url}{path}", json=json, headers=headers, timeout=10, allow_redirects=False, **kwargs
        )


def start_desk(var: Path, extra_env: Optional[Dict[str, str]] = None) -> DeskServer:
    env = {
        **os.environ,
        "COMPLAINTS_VAR_DIR": str(var),
        "RASA_TELEMETRY_ENABLED": "false",
        "RASA_URL": "http://127.0.0.1:9",
        **(extra_env or {}),
    }  # no Rasa unless a test gives one
    env.pop("DATABASE_URL", None)
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
    if server.process.poll() is not None:
        return
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
    server.db.dispose()


@pytest.fixture
def desk_factory(tmp_path: Path) -> Iterator[Callable[..., DeskServer]]:
    servers = []

    def factory(**env: str) -> DeskServer:
        servers.append(start_desk(tmp_path, env))
        return servers[-1]

    yield factory
    for server in servers:
        stop_desk(server)


@pytest.fixture
def desk(desk_factory) -> DeskServer:
    return desk_factory()
