"""The embedded default's two servers, as the tests and the benchmark start them.

`scripts/run` starts the same servers on fixed ports with the repository's
endpoints.yml; this is the same configuration on any ports and any var
directory, so that several copies can run side by side. Both servers listen
on 127.0.0.1 only; the action server answers only requests carrying the
shared secret (bot/rasa/action_server.py), which both processes take from
ACTION_SERVER_TOKEN or from the var directory of their environment.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from bot.rasa.action_server import HEADER, TOKEN_ENV
from bot.settings import PROJECT_ROOT

RASA = str(Path(sys.executable).parent / "rasa")
LOOPBACK = "127.0.0.1"
MODEL = PROJECT_ROOT / "models" / "complaints.tar.gz"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (the caller binds it soon after)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def endpoints_yaml(var: Path, actions_port: int) -> str:
    """endpoints.yml with the action server's port and the tracker database in `var`."""
    return (
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        f"  headers:\n    {HEADER}: ${{{TOKEN_ENV}}}\n"
        "tracker_store:\n  type: bot.rasa.tracker_store.ResilientSQLTrackerStore\n"
        f'  dialect: "sqlite"\n  db: "{var / "tracker.db"}"\n'
    )


@dataclass(frozen=True)
class EmbeddedServers:
    actions_port: int
    rasa_port: int
    commands: Dict[str, List[str]]  # role ("actions", "rasa") -> command, run from PROJECT_ROOT

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_health_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/health"


def embedded_servers(
    var: Path,
    rasa_port: int,
    actions_port: int,
    token: str,
    model: Path = MODEL,
    credentials: Path = PROJECT_ROOT / "credentials.yml",
) -> EmbeddedServers:
    """Writes `var`/endpoints.yml and returns the commands that start both servers."""
    endpoints = var / "endpoints.yml"
    endpoints.write_text(endpoints_yaml(var, actions_port))
    return EmbeddedServers(
        actions_port,
        rasa_port,
        {
            "actions": [
                sys.executable,
                "-m",
                "bot.rasa.action_server",
                "--host",
                LOOPBACK,
                "--port",
                str(actions_port),
                "--actions",
                "actions",
            ],
            "rasa": [
                sys.executable,
                "-m",
                "bot.rasa.server",
                "run",
                "--model",
                str(model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(credentials),
                "--interface",
                LOOPBACK,
                "--port",
                str(rasa_port),
                "--enable-api",
                "--auth-token",
                token,
            ],
        },
    )
