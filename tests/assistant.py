"""The real assistant for tests: the action server and the Rasa server (trained
model, REST channel, HTTP API with a token) on free ports, sharing a fresh
SQLite database. tests/e2e/conftest.py starts one for the session (`assistant`);
tests of other channels start their own with their credentials."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import requests

from bot.channels.conversation_secret import HEADER as SECRET_HEADER
from bot.db import Database, migrate
from bot.launch.commands import MODEL
from bot.launch.embedded import embedded_servers, serving
from bot.launch.readiness import StartFailed
from bot.settings import PROJECT_ROOT, Settings

TOKEN = "e2e-test-token"


@dataclass
class Assistant:
    url: str
    settings: Settings
    db: Database
    actions_url: str = ""  # the action server, for tests that call it directly
    pids: Tuple[int, ...] = ()  # the action server's and the Rasa server's processes
    rest_secrets: Dict[str, str] = field(default_factory=dict)  # REST sender id -> secret

    def rest_headers(self, sender: str) -> Dict[str, str]:
        """The conversation's secret, as the answer to its first message gave it (docs/chat-channels.md)."""
        secret = self.rest_secrets.get(sender)
        return {SECRET_HEADER: secret} if secret else {}

    def say(self, sender: str, text: str) -> List[Dict]:
        response = requests.post(
            f"{self.url}/webhooks/rest/webhook",
            headers=self.rest_headers(sender),
            json={"sender": sender, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        if SECRET_HEADER in response.headers:
            self.rest_secrets[sender] = response.headers[SECRET_HEADER]
        return response.json()

    def texts(self, sender: str, text: str) -> List[str]:
        return [m.get("text", "") for m in self.say(sender, text)]

    def tracker(self, sender: str) -> Dict:
        return requests.get(f"{self.url}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=30).json()

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", params={"token": TOKEN}, timeout=60, **kwargs)


@contextmanager
def running_assistant(var: Path, credentials: Path = PROJECT_ROOT / "credentials.yml") -> Iterator[Assistant]:
    """Starts both servers with their database and logs in `var`; stops them on exit.

    `credentials` selects the channels (tests of other channels pass their own file).
    """
    if not MODEL.exists():
        pytest.fail("models/complaints.tar.gz is missing: run `make train` (make test does it)")
    # Human service around the clock, so that handoff tests don't depend on the
    # time of day; whether an agent is online is up to each test.
    env = {
        **os.environ,
        "COMPLAINTS_VAR_DIR": str(var),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SERVICE_HOURS": "00:00-24:00",
        "SERVICE_DAYS": "1-7",
        # The suite drives many conversations from 127.0.0.1; tests of the channels' rate
        # limit speak from other loopback addresses (tests/e2e/test_rest_channel.py).
        "CHANNEL_RATE_EXEMPT": "127.0.0.1",
    }
    env.pop("DATABASE_URL", None)
    settings = Settings.from_env(env)
    migrate(settings)
    servers = embedded_servers(var, TOKEN, MODEL, credentials)
    try:
        with serving(servers, env) as running:
            yield Assistant(
                servers.rasa_url,
                settings,
                Database(settings.database_url),
                servers.actions_url,
                tuple(p.pid for p in running.processes.values()),
            )
    except StartFailed as exc:
        pytest.fail(str(exc))
    for log in servers.logs.values():
        # Logs must never carry a full phone or ID number.
        assert "13812345678" not in log.read_text(), f"unmasked phone in {log.name}"
