"""Before anything starts: PostgreSQL, Redis, RabbitMQ, nginx, the model and the ports checked; databases ready."""

from __future__ import annotations

import os
from typing import Dict, Tuple

from sqlalchemy.engine import make_url

from bot.db import create_postgres_database, migrate
from bot.launch.ports import reachable
from bot.launch.production.config import Config
from bot.launch.production.console import say
from bot.settings import DEV_RASA_TOKEN, Settings

HOW_TO_START = {
    "PostgreSQL": "Debian/Ubuntu: apt-get install postgresql && pg_ctlcluster 15 main start; "
    "macOS: brew install postgresql@15 && brew services start postgresql@15; "
    "Docker: docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15",
    "Redis": "Debian/Ubuntu: apt-get install redis-server && redis-server --daemonize yes; "
    "macOS: brew install redis && brew services start redis; "
    "Docker: docker run -d -p 6379:6379 redis:7",
    "RabbitMQ": "Debian/Ubuntu: apt-get install rabbitmq-server && rabbitmq-server -detached; "
    "macOS: brew install rabbitmq && brew services start rabbitmq; "
    "Docker: docker run -d -p 5672:5672 rabbitmq:3",
}


def _postgres_address(url: str) -> Tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


def dependencies(config: Config) -> Dict[str, Tuple[Tuple[str, int], str]]:
    """name -> (address, what stops working while it is down)."""
    found = {
        "PostgreSQL": (
            _postgres_address(config.database_url),
            "conversations and tickets cannot be stored: users get no answer, "
            "confirmed complaints wait in the spool",
        ),
        "Redis": (
            config.redis,
            "Rasa cannot lock conversations, so messages are not answered, and "
            "messages for web-chat users reach only sockets on the replica that sends them",
        ),
        "RabbitMQ": (
            config.rabbitmq,
            "Rasa keeps new events in memory and publishes them when it " "returns; the analytics feed waits",
        ),
    }
    tracker = _postgres_address(config.tracker_database_url)
    if tracker != found["PostgreSQL"][0]:
        found["PostgreSQL (tracker)"] = (tracker, "conversations cannot be stored: users get no answer")
    return found


def preflight(config: Config) -> None:
    """Exits saying every problem found (and how to start a missing service); warns about the development token."""
    problems = []
    for name, (address, _) in dependencies(config).items():
        if not reachable(address):
            kind = name.split(" ")[0]
            problems.append(
                f"{name} is not reachable at {address[0]}:{address[1]}. Start it, e.g.\n" f"    {HOW_TO_START[kind]}"
            )
    if not (os.path.isfile(config.nginx) and os.access(config.nginx, os.X_OK)):
        problems.append(
            f"nginx was not found ({config.nginx}): run scripts/install-nginx "
            "(Debian's package) or set NGINX to its path."
        )
    if not config.model.exists():
        problems.append(f"The model {config.model} is missing: run `make train`.")
    ports = [
        config.lb_port,
        config.lb_api_port,
        config.lb_actions_port,
        config.desk_port,
        *config.rasa_ports,
        *config.action_ports,
    ]
    if len(set(ports)) != len(ports):
        problems.append(f"The ports must all differ: {ports}")
    for port in ports:
        if reachable(("127.0.0.1", port), timeout=0.5):
            problems.append(f"Port {port} is already in use (another `make run`?).")
    if problems:
        raise SystemExit("Cannot start the production topology:\n- " + "\n- ".join(problems))
    if config.rasa_token == DEV_RASA_TOKEN:
        say("WARNING: RASA_TOKEN is the development default; set your own before exposing anything.")


def prepare_databases(config: Config) -> None:
    """Creates missing PostgreSQL databases, then migrates the ticket database."""
    for url in dict.fromkeys([config.database_url, config.tracker_database_url]):
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or not parsed.database:
            raise SystemExit(f"The production topology needs PostgreSQL URLs, got {parsed!r}")
        if create_postgres_database(url):
            say(f"Created the PostgreSQL database {parsed.database!r}.")
    migrate(Settings.from_env(config.process_env(os.environ)))
