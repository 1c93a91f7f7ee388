"""The command line of each server role, as every launcher starts it (run from PROJECT_ROOT)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

from bot.settings import PROJECT_ROOT

PYTHON = sys.executable
RASA = str(Path(PYTHON).parent / "rasa")  # Rasa's own CLI: training and Rasa's starter bot only
LOOPBACK = "127.0.0.1"
MODEL = PROJECT_ROOT / "models" / "complaints.tar.gz"


def actions_command(port: int) -> List[str]:
    """The action server (bot/rasa/action_server.py); only Rasa calls it, so it listens on loopback."""
    return [PYTHON, "-m", "bot.rasa.action_server", "--host", LOOPBACK, "--port", str(port), "--actions", "actions"]


def rasa_command(
    *, model: Path, endpoints: Path, credentials: Path, port: int, token: str, interface: str = LOOPBACK
) -> List[str]:
    """The Rasa server (bot/rasa/server.py) with its HTTP API behind `token`."""
    return [
        PYTHON,
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
        interface,
        "--port",
        str(port),
        "--enable-api",
        "--auth-token",
        token,
    ]


def desk_command(port: int, host: str = LOOPBACK) -> List[str]:
    """The agent desk (bot/desk/); it finds Rasa through RASA_URL and RASA_TOKEN."""
    return [PYTHON, "-m", "bot", "desk", "serve", "--host", host, "--port", str(port)]


def retention_command() -> List[str]:
    """The retention purge, once an hour (bot/retention.py)."""
    return [PYTHON, "-m", "bot", "retention", "run", "--every", "1h"]


def reminders_command() -> List[str]:
    """The ticket reminder pass every 5 minutes: due-soon, overdue, supervisor alerts (bot/reminders.py)."""
    return [PYTHON, "-m", "bot", "tickets", "remind", "--every", "5m"]


def analytics_command() -> List[str]:
    """The analytics consumer of the event broker's queue (bot/analytics.py)."""
    return [PYTHON, "-m", "bot", "analytics", "consume"]


def notices_command() -> List[str]:
    """The notice sender every 10 seconds (bot/notice_sender.py); like the desk it reaches Rasa through
    RASA_URL and RASA_TOKEN."""
    return [PYTHON, "-m", "bot", "notices", "send", "--every", "10s"]


def train_command(config: Path = Path("config.yml"), out: Path = Path("models")) -> List[str]:
    """`rasa train` of this bot into `out`/complaints.tar.gz (`make train`, the benchmark)."""
    return [
        RASA,
        "train",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--config",
        str(config),
        "--out",
        str(out),
        "--fixed-model-name",
        "complaints",
    ]
