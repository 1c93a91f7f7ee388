"""The production topology, started once for this package by scripts/run-production.

Real parts only: nginx, two Rasa replicas, two action servers, the desk and
the analytics consumer, on a fresh PostgreSQL database, a private Redis server
(so that a test may stop it) and unique RabbitMQ exchange and queue names.
They need PostgreSQL, RabbitMQ, redis-server and nginx: under CI=true a missing
one fails the tests; elsewhere they skip, saying which one is absent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from contextlib import suppress
from typing import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from bot.analytics import delete_feed
from bot.db import Database, create_postgres_database, drop_postgres_database
from bot.launch.commands import MODEL
from bot.launch.ports import free_port, reachable
from bot.launch.processes import spawn
from bot.settings import PROJECT_ROOT, Settings
from tests.databases import POSTGRES_ADMIN_URL
from tests.e2e.production.policyholders import PHONE
from tests.e2e.production.running import RABBITMQ, TOKEN, RedisServer, Topology, require, stop_launcher


@pytest.fixture(scope="package")
def topology(tmp_path_factory) -> Iterator[Topology]:
    nginx = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    require(os.access(nginx, os.X_OK), "nginx is not installed (scripts/install-nginx installs it)")
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    require(reachable(RABBITMQ), f"RabbitMQ is not running at {RABBITMQ[0]}:{RABBITMQ[1]}")
    if not MODEL.exists():
        pytest.fail("models/complaints.tar.gz is missing: run `make train` (make test does it)")

    database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/complaints_production_{uuid.uuid4().hex[:8]}"
    try:
        create_postgres_database(database_url)
    except OperationalError as exc:
        require(False, f"PostgreSQL is not running at {POSTGRES_ADMIN_URL} ({exc.__class__.__name__})")

    var = tmp_path_factory.mktemp("production")
    redis = RedisServer(var)
    redis.start()
    suffix = uuid.uuid4().hex[:8]
    ports = {key: str(free_port()) for key in ("LB_PORT", "LB_API_PORT", "LB_ACTIONS_PORT", "DESK_PORT")}
    env = {
        **os.environ,
        **ports,
        "PRODUCTION_VAR_DIR": str(var),
        "DATABASE_URL": database_url,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis.port),
        "RABBITMQ_HOST": RABBITMQ[0],
        "RABBITMQ_PORT": str(RABBITMQ[1]),
        "EVENTS_EXCHANGE": f"test_events_{suffix}",
        "ANALYTICS_QUEUE": f"test_analytics_{suffix}",
        "RASA_TOKEN": TOKEN,
        "NGINX": nginx,
        "RASA_REPLICA_PORTS": f"{free_port()},{free_port()}",
        "ACTION_WORKER_PORTS": f"{free_port()},{free_port()}",
        # Human service around the clock; whether an agent is online is up to each test.
        "SERVICE_HOURS": "00:00-24:00",
        "SERVICE_DAYS": "1-7",
        # Every simulated user speaks from 127.0.0.1: not limited per address.
        "CHANNEL_RATE_EXEMPT": "127.0.0.1",
    }
    env.pop("TRACKER_DATABASE_URL", None)
    settings = Settings.from_env(env)
    output = var / "launcher.log"
    launcher = spawn([str(PROJECT_ROOT / "scripts" / "run-production")], output, env, mode="w")
    running = Topology(
        var,
        f"http://127.0.0.1:{ports['LB_PORT']}",
        f"http://127.0.0.1:{ports['LB_API_PORT']}",
        f"http://127.0.0.1:{ports['DESK_PORT']}",
        settings,
        Database(database_url),
        redis,
        launcher,
        output,
    )
    try:
        running.wait_healthy()
        yield running
    finally:
        stop_launcher(running)
        redis.stop()
        running.db.dispose()
        with suppress(Exception):
            asyncio.run(delete_feed(settings))
        drop_postgres_database(database_url)
    # Logs never carry a full phone number (bot/privacy.py masks every record).
    for log in sorted((var / "log").glob("*.log")):
        assert PHONE not in log.read_text(errors="replace"), f"unmasked phone in {log.name}"


@pytest.fixture
def healthy(topology: Topology) -> Topology:
    """The topology with every process serving, whatever an earlier test did."""
    topology.wait_healthy()
    return topology
