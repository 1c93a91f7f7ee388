"""The configurations under test, each started the same way.

The interface is one function per configuration that starts it and yields a
`Running`: where to send messages, which processes to watch, where its tickets
are. Everything runs on loopback with free ports and its own files under a
work directory, and is stopped when the `with` block ends.

- embedded:      `make run`'s servers (action server, Rasa server, SQLite tracker).
- production-N:  scripts/run-production (bot/launch/production/) with N Rasa
                 replicas behind nginx, on PostgreSQL, Redis, RabbitMQ.
- starter:       Rasa's own `rasa init` bot, in-memory tracker, default config.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, Optional

import psutil

from bot.launch.commands import MODEL, RASA, train_command
from bot.launch.embedded import embedded_servers, serving
from bot.launch.ports import free_port
from bot.launch.processes import spawn, stop
from bot.launch.readiness import StartFailed, tail, wait_until_ready
from bot.settings import PROJECT_ROOT

# Starts bot/launch/production/, the supervisor that writes run/state.json.
PRODUCTION_SUPERVISOR = PROJECT_ROOT / "scripts" / "run-production"
TOKEN = "bench-" + uuid.uuid4().hex[:12]
START_SECONDS = 600
PRODUCTION_START_SECONDS = 900
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")

BASE_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # Human service around the clock, nobody at the desk: a handoff always
    # becomes a message (留言) and a callback ticket, whatever the time of day.
    "SERVICE_HOURS": "00:00-24:00",
    "SERVICE_DAYS": "1-7",
    # Every simulated policyholder speaks from 127.0.0.1: not limited per address.
    "CHANNEL_RATE_EXEMPT": "127.0.0.1",
}


@dataclass
class Running:
    name: str
    url: str  # where policyholders' messages go: {url}/webhooks/rest/webhook
    api_url: str  # Rasa's HTTP API ({api_url}/model/parse?token=)
    token: str
    processes: Callable[[], Dict[str, int]]  # role -> pid, asked again at each sample
    mix: str  # which scripts (bench.conversations.MIXES)
    database_url: Optional[str] = None  # the ticket database, None for the starter bot
    notes: List[str] = field(default_factory=list)


# -- training -----------------------------------------------------------------


@dataclass(frozen=True)
class Training:
    model: Path
    seconds: Optional[float]  # None: not measured in this run
    note: str


def model_trained_at(model: Path) -> str:
    try:
        with tarfile.open(model, "r:gz") as archive:
            member = next(m for m in archive.getmembers() if m.name.lstrip("/") == "metadata.json")
            extracted = archive.extractfile(member)
            return json.load(extracted)["trained_at"] if extracted else "unknown"
    except (OSError, KeyError, StopIteration, tarfile.TarError, ValueError):
        return "unknown"


def existing_complaints_model(model: Path = MODEL) -> Training:
    if not model.exists():
        raise StartFailed(f"{model} is missing: run `make train`")
    return Training(
        model,
        None,
        f"not re-measured (model trained at {model_trained_at(model)}; "
        "`python -m bench --train` measures a fresh `rasa train`)",
    )


def train_complaints(workdir: Path) -> Training:
    """A fresh `rasa train` of this bot, with an empty training cache: `make train`'s command."""
    out = workdir / "complaints-model"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **BASE_ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")}
    log = workdir / "train-complaints.log"
    started = time.monotonic()
    result = subprocess.run(
        train_command(out=out),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise StartFailed(f"rasa train failed:\n{tail(log)}")
    return Training(out / "complaints.tar.gz", seconds, "fresh `rasa train` (empty cache) in this run")


def train_starter(project: Path) -> Training:
    """`rasa init --no-prompt`: scaffolds Rasa's starter bot and trains it (fresh cache)."""
    project.mkdir(parents=True, exist_ok=True)
    log = project.parent / "train-starter.log"
    env = {**os.environ, **BASE_ENV}
    env.pop("RASA_CACHE_DIRECTORY", None)  # the project's own .rasa/cache: empty
    started = time.monotonic()
    result = subprocess.run(
        [RASA, "init", "--no-prompt", "--init-dir", str(project)],
        cwd=project,
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.monotonic() - started
    models = sorted((project / "models").glob("*.tar.gz"))
    if result.returncode != 0 or not models:
        raise StartFailed(f"rasa init failed:\n{tail(log)}")
    return Training(models[-1], seconds, "`rasa init --no-prompt` (scaffold + training, empty cache) in this run")


def existing_starter(project: Path) -> Training:
    models = sorted((project / "models").glob("*.tar.gz"))
    if not models:
        raise StartFailed(f"no trained starter bot in {project}/models")
    return Training(models[-1], None, f"not re-measured (reused {project})")


# -- the configurations -------------------------------------------------------


@contextmanager
def embedded(workdir: Path, model: Path) -> Iterator[Running]:
    """(a) The embedded default: what `make run` starts, on a fresh SQLite database."""
    from bot.db import migrate
    from bot.settings import Settings

    var = workdir / "embedded"
    var.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **BASE_ENV, "COMPLAINTS_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    settings = Settings.from_env(env)
    migrate(settings)
    servers = embedded_servers(var, TOKEN, model)
    with serving(servers, env, START_SECONDS) as running:
        pids = {role: process.pid for role, process in running.processes.items()}
        url = servers.rasa_url
        yield Running(
            "embedded",
            url,
            url,
            TOKEN,
            lambda: pids,
            "complaints",
            settings.database_url,
            [f"ready in {running.boot_seconds:.0f} s"],
        )


@contextmanager
def production(workdir: Path, model: Path, replicas: int) -> Iterator[Running]:
    """(b)/(c) The production topology with `replicas` Rasa replicas (and as many
    action-server workers) behind nginx, started by its own supervisor on a
    fresh PostgreSQL database, RabbitMQ exchange and queue."""
    if not PRODUCTION_SUPERVISOR.exists():
        raise StartFailed(f"{PRODUCTION_SUPERVISOR.relative_to(PROJECT_ROOT)} does not exist yet")
    var = workdir / f"production-{replicas}"
    var.mkdir(parents=True, exist_ok=True)
    suffix = f"{time.strftime('%Y%m%d%H%M%S')}_{replicas}"
    database_url = f"{POSTGRES_URL}/bench_{suffix}"
    env = {
        **os.environ,
        **BASE_ENV,
        "PRODUCTION_VAR_DIR": str(var),
        "DATABASE_URL": database_url,
        "TRACKER_DATABASE_URL": database_url,
        "RASA_TOKEN": TOKEN,
        "RASA_MODEL": str(model),
        "LB_PORT": str(free_port()),
        "LB_API_PORT": str(free_port()),
        "LB_ACTIONS_PORT": str(free_port()),
        "DESK_PORT": str(free_port()),
        "RASA_REPLICA_PORTS": ",".join(str(free_port()) for _ in range(replicas)),
        "ACTION_WORKER_PORTS": ",".join(str(free_port()) for _ in range(replicas)),
        # Its own exchange and queue, so that nothing else consumes its events.
        "EVENTS_EXCHANGE": f"bench_events_{suffix}",
        "ANALYTICS_QUEUE": f"bench_analytics_{suffix}",
    }
    log = var / "supervisor.log"
    state_file = var / "run" / "state.json"
    supervisor = spawn([str(PRODUCTION_SUPERVISOR)], log, env)
    state: Dict = {}

    def read_state() -> Dict:
        try:
            return json.loads(state_file.read_text())
        except (OSError, ValueError):
            return {}

    def pids() -> Dict[str, int]:
        current = read_state() or state
        found = {name: info["pid"] for name, info in current.get("processes", {}).items() if info.get("pid")}
        return {"supervisor": supervisor.pid, **found}

    try:
        started = time.monotonic()
        while not state.get("ready"):
            if supervisor.poll() is not None:
                raise StartFailed(
                    f"the production supervisor exited with code {supervisor.returncode}:\n" f"{tail(log)}"
                )
            if time.monotonic() - started > PRODUCTION_START_SECONDS:
                raise StartFailed(
                    f"the production topology was not ready after {PRODUCTION_START_SECONDS} s:\n" f"{tail(log)}"
                )
            time.sleep(1)
            state = read_state()
        boot = time.monotonic() - started
        yield Running(
            f"production-{replicas}",
            state["lb_url"],
            state["api_url"],
            TOKEN,
            pids,
            "complaints",
            database_url,
            [
                f"ready in {boot:.0f} s",
                f"{replicas} Rasa replica(s), " f"{replicas} action worker(s), nginx, desk, analytics consumer",
            ],
        )
    finally:
        children = []
        for pid in pids().values():
            try:
                children.append(psutil.Process(pid))
            except psutil.Error:
                pass
        stop([supervisor], seconds=40)
        for child in children:  # anything the supervisor did not stop (psutil guards pid reuse)
            try:
                if child.is_running():
                    child.kill()
            except psutil.Error:
                pass
        _drop_production_leftovers(env)


def _drop_production_leftovers(env: Mapping[str, str]) -> None:
    """Best effort: the run's database, exchange and queue (they hold benchmark data only)."""
    import asyncio

    from bot.analytics import delete_feed
    from bot.db import drop_postgres_database
    from bot.settings import Settings

    settings = Settings.from_env(env)
    try:
        drop_postgres_database(settings.database_url)
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        print(f"bench: could not drop the benchmark database: {exc}", file=sys.stderr)
    try:
        asyncio.run(delete_feed(settings))
    except Exception as exc:  # noqa: BLE001
        print(f"bench: could not delete the RabbitMQ exchange and queue: {exc}", file=sys.stderr)


@contextmanager
def starter(project: Path, model: Path) -> Iterator[Running]:
    """(d) Rasa's starter bot as `rasa init` made it: default config, in-memory tracker."""
    port = free_port()
    log = project.parent / "starter-rasa.log"
    env = {**os.environ, **BASE_ENV}
    process = spawn(
        [RASA, "run", "--model", str(model), "--port", str(port), "--enable-api", "--auth-token", TOKEN],
        log,
        env,
        cwd=project,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        boot = wait_until_ready([f"{url}/status?token={TOKEN}"], {"rasa": (process, log)}, START_SECONDS)
        yield Running(
            "starter", url, url, TOKEN, lambda: {"rasa": process.pid}, "starter", None, [f"ready in {boot:.0f} s"]
        )
    finally:
        stop([process])


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
