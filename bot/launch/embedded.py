"""The embedded default on SQLite: action, Rasa and desk servers, the ticket reminder pass, the notice sender,
the retention purge.

`main` is `make run` (scripts/run): fixed ports from RASA_PORT, ACTIONS_PORT and
DESK_PORT, the repository's endpoints.yml (a copy in var/ naming ACTIONS_PORT
when it is not 5055), logs in var/log/, Ctrl-C stops all.
Rasa and the desk listen on BIND_HOST (127.0.0.1 unless set); Rasa refuses to
serve its HTTP API beyond loopback with the development token. The action
server, which only Rasa calls, listens on 127.0.0.1 and answers only requests
with the shared secret ACTION_SERVER_TOKEN (generated in var/keys/ when unset;
bot/rasa/action_server.py).

`EmbeddedServers` and `serving` are the action and Rasa servers alone on any
ports and any var directory, so that tests and the benchmark run several
copies side by side.
"""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional

from bot.launch.commands import (
    LOOPBACK,
    MODEL,
    actions_command,
    desk_command,
    notices_command,
    rasa_command,
    reminders_command,
    retention_command,
)
from bot.launch.ports import free_port
from bot.launch.processes import StopRequest, spawn, stop, stop_requests
from bot.launch.readiness import Cancelled, NotReady, ProcessExited, wait_until_ready
from bot.rasa.action_server import HEADER, TOKEN_ENV
from bot.settings import DEV_RASA_TOKEN, PROJECT_ROOT, Settings

CREDENTIALS = PROJECT_ROOT / "credentials.yml"
ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
DEFAULT_ACTIONS_PORT = 5055
DEFAULT_ACTIONS_URL = f"http://127.0.0.1:{DEFAULT_ACTIONS_PORT}/webhook"  # as endpoints.yml names it
LOG_DIR = PROJECT_ROOT / "var" / "log"
READY_SECONDS = 120  # then the banner is printed all the same: a slow model load is not a failure

BANNER = """
The assistant is running on {bind}.
  Chat page (web/app):  http://{local}:{rasa}/webhooks/web/
  Agent desk:           http://{local}:{desk}/   (create an account first:
                          .venv/bin/python -m bot agents add wang --name 王小明 [--role supervisor|trainer])
  Chat (REST channel):  curl -s -XPOST http://{local}:{rasa}/webhooks/rest/webhook \\
                          -H 'Content-Type: application/json' -d '{{"sender":"me","message":"我要投诉"}}'
  HTTP API:             http://{local}:{rasa}/status?token=$RASA_TOKEN
  Chat in a terminal:   .venv/bin/python -m bot.rasa.server shell --endpoints endpoints.yml --port 5015
  Tickets:              .venv/bin/python -m bot tickets list --json
Press Ctrl-C to stop."""


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
    """The action and Rasa servers with their endpoints.yml and logs in `var`."""

    var: Path
    rasa_port: int
    actions_port: int
    token: str
    model: Path = MODEL
    credentials: Path = CREDENTIALS

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def health_urls(self) -> List[str]:
        return [f"{self.actions_url}/health", f"{self.rasa_url}/status?token={self.token}"]

    @property
    def logs(self) -> Dict[str, Path]:
        return {role: self.var / f"{role}.log" for role in ("actions", "rasa")}

    def commands(self) -> Dict[str, List[str]]:
        """role ("actions", "rasa") -> command; writes `var`/endpoints.yml, which Rasa reads."""
        endpoints = self.var / "endpoints.yml"
        endpoints.write_text(endpoints_yaml(self.var, self.actions_port))
        rasa = rasa_command(
            model=self.model,
            endpoints=endpoints,
            credentials=self.credentials,
            port=self.rasa_port,
            token=self.token,
        )
        return {"actions": actions_command(self.actions_port), "rasa": rasa}


def embedded_servers(var: Path, token: str, model: Path = MODEL, credentials: Path = CREDENTIALS) -> EmbeddedServers:
    """Both servers on free ports."""
    return EmbeddedServers(var, free_port(), free_port(), token, model, credentials)


@dataclass(frozen=True)
class Serving:
    servers: EmbeddedServers
    processes: Dict[str, "subprocess.Popen[bytes]"]  # role -> process
    boot_seconds: float


@contextmanager
def serving(servers: EmbeddedServers, env: Mapping[str, str], seconds: float = 240) -> Iterator[Serving]:
    """Starts both servers with `env` and waits until they serve (StartFailed otherwise); stops them on exit."""
    processes = {
        role: spawn(command, servers.logs[role], env, mode="w") for role, command in servers.commands().items()
    }
    try:
        watched = {role: (process, servers.logs[role]) for role, process in processes.items()}
        boot = wait_until_ready(servers.health_urls, watched, seconds)
        yield Serving(servers, processes, boot)
    finally:
        stop(processes.values())


# --- make run -----------------------------------------------------------------


def local_host(bind_host: str) -> str:
    """Where this machine reaches a server listening on `bind_host`: loopback when it listens everywhere."""
    if bind_host in ("0.0.0.0", "::", "[::]"):
        return LOOPBACK
    if ":" in bind_host:
        return "[" + bind_host.strip("[]") + "]"
    return bind_host


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SystemExit(f"{name} must be a port between 1 and 65535, got {raw!r}")
    return int(raw)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # killed by a signal: as a shell reports it


@dataclass(frozen=True)
class Start:
    role: str
    what: str
    command: List[str]
    env: Dict[str, str]


@dataclass(frozen=True)
class Plan:
    """What `make run` starts, and where it is reached from this machine."""

    bind: str
    local: str
    rasa_port: int
    desk_port: int
    starts: List[Start]
    health_urls: List[str]
    endpoints: Path
    endpoints_text: Optional[str]  # written to `endpoints` before the start; None: the repository's file

    @property
    def banner(self) -> str:
        return BANNER.format(bind=self.bind, local=self.local, rasa=self.rasa_port, desk=self.desk_port)


def plan(environ: Mapping[str, str]) -> Plan:
    """`make run`'s processes for RASA_PORT, ACTIONS_PORT, DESK_PORT, BIND_HOST, RASA_TOKEN (defaults unless set)."""
    rasa_port = _port(environ, "RASA_PORT", 5005)
    actions_port = _port(environ, "ACTIONS_PORT", DEFAULT_ACTIONS_PORT)
    desk_port = _port(environ, "DESK_PORT", 5006)
    bind = environ.get("BIND_HOST") or LOOPBACK
    token = environ.get("RASA_TOKEN") or DEV_RASA_TOKEN  # works on loopback only (bot/rasa/server.py)
    env = {**environ, "BIND_HOST": bind, "RASA_TOKEN": token}
    local = local_host(bind)
    endpoints, endpoints_text = ENDPOINTS, None
    if actions_port != DEFAULT_ACTIONS_PORT:  # Rasa must call the action server where it listens
        endpoints = Settings.from_env(environ).var_dir / "endpoints.yml"
        endpoints_text = ENDPOINTS.read_text().replace(DEFAULT_ACTIONS_URL, f"http://127.0.0.1:{actions_port}/webhook")
    rasa = rasa_command(
        model=MODEL,
        endpoints=endpoints,
        credentials=CREDENTIALS,
        port=rasa_port,
        token=token,
        interface=bind,
    )
    desk_env = {**env, "RASA_URL": f"http://{local}:{rasa_port}"}
    starts = [
        Start("actions", f"the action server on 127.0.0.1:{actions_port}", actions_command(actions_port), env),
        Start("rasa", f"the Rasa server on {bind}:{rasa_port}", rasa, env),
        Start("desk", f"the agent desk on {bind}:{desk_port}", desk_command(desk_port, bind), desk_env),
        Start("reminders", "the ticket reminder pass, every 5 minutes", reminders_command(), env),
        Start("notices", "the notice sender, every 10 seconds", notices_command(), desk_env),
        Start("retention", "the retention purge, hourly", retention_command(), env),
    ]
    urls = [
        f"http://{local}:{rasa_port}/status?token={token}",
        f"http://127.0.0.1:{actions_port}/health",
        f"http://{local}:{desk_port}/health",
    ]
    return Plan(bind, local, rasa_port, desk_port, starts, urls, endpoints, endpoints_text)


def _failed_start(run: Plan, processes: Dict[str, "subprocess.Popen[bytes]"], request: StopRequest) -> Optional[int]:
    """Waits for the servers to answer: None, or the exit code when one failed to start or a stop was asked."""
    logs = {role: (process, LOG_DIR / f"{role}.log") for role, process in processes.items()}
    try:
        wait_until_ready(run.health_urls, logs, READY_SECONDS, cancelled=lambda: request.signum != 0)
    except ProcessExited as exc:
        end = "".join(exc.log.read_text(errors="replace").splitlines(keepends=True)[-5:])
        print(f"The {exc.name} server failed to start; the end of var/log/{exc.name}.log:", file=sys.stderr)
        print(end, end="", file=sys.stderr, flush=True)
        return 1
    except Cancelled:
        return 128 + request.signum
    except NotReady:
        pass
    return None


def main(environ: Mapping[str, str]) -> int:
    """Starts the processes, prints where they are and runs until Ctrl-C or until one exits."""
    run = plan(environ)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    if run.endpoints_text is not None:
        run.endpoints.parent.mkdir(parents=True, exist_ok=True)
        run.endpoints.write_text(run.endpoints_text)
    processes: Dict[str, "subprocess.Popen[bytes]"] = {}
    with stop_requests() as request:
        try:
            for start in run.starts:
                if request.signum:
                    break
                print(f"Starting {start.what} (log: var/log/{start.role}.log)...", flush=True)
                # In sessions of their own: Ctrl-C reaches the launcher only, which stops them with SIGTERM.
                processes[start.role] = spawn(start.command, LOG_DIR / f"{start.role}.log", start.env, mode="w")
            failed = _failed_start(run, processes, request)
            if failed is not None:
                return failed
            print(run.banner, flush=True)
            while not request.signum:
                for process in processes.values():
                    if process.poll() is not None:
                        return _exit_code(process.returncode)
                time.sleep(0.5)
            return 128 + request.signum
        finally:
            stop(processes.values())
