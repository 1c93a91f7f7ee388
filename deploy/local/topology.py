"""The production topology on one machine (`make run-production`, scripts/run-production).

Two Rasa replicas and two action-server workers behind nginx, the agent desk
and the analytics consumer, all on loopback, sharing PostgreSQL, Redis and
RabbitMQ as in a cluster (docs/production.md). This program checks those
services, prepares the databases, renders nginx's configuration, starts every
process and supervises them: a process that exits is started again, and
outages of PostgreSQL, Redis and RabbitMQ are reported when they begin and end.

It writes `state.json` in its run directory (processes, pids, ports, readiness)
for operators and for the tests in tests/e2e/production/. Configuration comes from
the environment; every variable is listed in docs/production.md.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a program: `bot` must be importable

from sqlalchemy.engine import make_url  # noqa: E402  (after the path is set)

from bot.rasa.action_server import TOKEN_ENV, TokenError, shared_token  # noqa: E402
from bot.settings import DEV_RASA_TOKEN as DEV_TOKEN  # noqa: E402
from bot.settings import PROJECT_ROOT, Settings

LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 900  # two Rasa replicas load their model in parallel on a busy machine
STOP_SECONDS = 20


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _ports(raw: str, name: str) -> List[int]:
    try:
        ports = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"{name} must be a comma-separated list of ports, got {raw!r}") from None
    if not ports or any(not 0 < port < 65536 for port in ports):
        raise SystemExit(f"{name} must list at least one port between 1 and 65535, got {raw!r}")
    return ports


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    return _ports(env.get(name) or str(default), name)[0]


@dataclass(frozen=True)
class Config:
    var_dir: Path
    database_url: str
    tracker_database_url: str
    redis: Tuple[str, int]
    rabbitmq: Tuple[str, int]
    rasa_token: str
    listen_host: str
    lb_port: int
    lb_api_port: int
    lb_actions_port: int
    rasa_ports: List[int]
    action_ports: List[int]
    desk_port: int
    model: Path
    nginx: str
    # Rasa → nginx → action servers; generated under var_dir/keys/ when unset.
    action_server_token: str = field(default="", repr=False)

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Config":
        database_url = env.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/complaints"
        nginx = env.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
        return cls(
            var_dir=Path(env.get("PRODUCTION_VAR_DIR") or PROJECT_ROOT / "var" / "production").resolve(),
            database_url=database_url,
            tracker_database_url=env.get("TRACKER_DATABASE_URL") or database_url,
            redis=(env.get("REDIS_HOST") or "127.0.0.1", _port(env, "REDIS_PORT", 6379)),
            rabbitmq=(env.get("RABBITMQ_HOST") or "127.0.0.1", _port(env, "RABBITMQ_PORT", 5672)),
            rasa_token=env.get("RASA_TOKEN") or DEV_TOKEN,
            listen_host=env.get("LB_HOST") or "127.0.0.1",
            lb_port=_port(env, "LB_PORT", 5005),
            lb_api_port=_port(env, "LB_API_PORT", 5004),
            lb_actions_port=_port(env, "LB_ACTIONS_PORT", 5055),
            rasa_ports=_ports(env.get("RASA_REPLICA_PORTS") or "5011,5012", "RASA_REPLICA_PORTS"),
            action_ports=_ports(env.get("ACTION_WORKER_PORTS") or "5061,5062", "ACTION_WORKER_PORTS"),
            desk_port=_port(env, "DESK_PORT", 5006),
            model=Path(env.get("RASA_MODEL") or PROJECT_ROOT / "models" / "complaints.tar.gz"),
            nginx=nginx,
            action_server_token=(env.get(TOKEN_ENV) or "").strip(),
        )

    def with_action_server_token(self) -> "Config":
        """This configuration with its action-server secret: ACTION_SERVER_TOKEN, or one generated once in var_dir."""
        try:
            token = shared_token(
                Settings.from_env({"COMPLAINTS_VAR_DIR": str(self.var_dir), TOKEN_ENV: self.action_server_token})
            )
        except TokenError as exc:
            raise SystemExit(f"Cannot start the production topology: {exc}") from exc
        return replace(self, action_server_token=token)

    def process_env(self, base: Mapping[str, str]) -> Dict[str, str]:
        """The environment of every process: what endpoints.production.yml,
        credentials.production.yml and bot/settings.py read."""
        env = dict(base)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "TRACKER_DATABASE_URL": self.tracker_database_url,
                "REDIS_HOST": self.redis[0],
                "REDIS_PORT": str(self.redis[1]),
                "REDIS_PASSWORD": base.get("REDIS_PASSWORD", ""),
                "RABBITMQ_HOST": self.rabbitmq[0],
                "RABBITMQ_PORT": str(self.rabbitmq[1]),
                "RABBITMQ_USERNAME": base.get("RABBITMQ_USERNAME") or "guest",
                "RABBITMQ_PASSWORD": base.get("RABBITMQ_PASSWORD") or "guest",
                "EVENTS_EXCHANGE": base.get("EVENTS_EXCHANGE") or "complaints_events",
                "ANALYTICS_QUEUE": base.get("ANALYTICS_QUEUE") or "complaints_analytics",
                "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.lb_actions_port}/webhook",
                "RASA_URL": f"http://127.0.0.1:{self.lb_api_port}",
                "RASA_TOKEN": self.rasa_token,
                TOKEN_ENV: self.action_server_token,
                "COMPLAINTS_VAR_DIR": str(self.var_dir),
                # A replica that dies holding a conversation's lock blocks it this long;
                # it must exceed the slowest turn (a few seconds here).
                "TICKET_LOCK_LIFETIME": base.get("TICKET_LOCK_LIFETIME") or "30",
                # Rasa's tracker-store pool per replica (its defaults are 50 + 100).
                "SQL_POOL_SIZE": base.get("SQL_POOL_SIZE") or "5",
                "SQL_MAX_OVERFLOW": base.get("SQL_MAX_OVERFLOW") or "10",
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "BIND_HOST": LOOPBACK,  # every server listens on loopback only; nginx is the entry
                # nginx is on loopback too: believe its X-Forwarded-For, so that each
                # policyholder, not the load balancer, gets the per-address rate limit.
                "TRUSTED_PROXIES": base.get("TRUSTED_PROXIES") or LOOPBACK,
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env


# --- checks before starting -------------------------------------------------

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


def reachable(address: Tuple[str, int], timeout: float = 2.0) -> bool:
    try:
        socket.create_connection(address, timeout=timeout).close()
        return True
    except OSError:
        return False


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
    if config.rasa_token == DEV_TOKEN:
        say("WARNING: RASA_TOKEN is the development default; set your own before exposing anything.")


def prepare_databases(config: Config) -> None:
    """Creates missing PostgreSQL databases, then migrates the ticket database."""
    from bot.db import create_postgres_database, migrate
    from bot.settings import Settings

    for url in dict.fromkeys([config.database_url, config.tracker_database_url]):
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or not parsed.database:
            raise SystemExit(f"The production topology needs PostgreSQL URLs, got {parsed!r}")
        if create_postgres_database(url):
            say(f"Created the PostgreSQL database {parsed.database!r}.")
    migrate(Settings.from_env(config.process_env(os.environ)))


NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "local" / "nginx.conf.template"


def render_nginx_config(values: Mapping[str, str]) -> str:
    """The template with every {{KEY}} replaced; a key left over is an error."""
    rendered = NGINX_TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        rendered = rendered.replace("{{" + key + "}}", value)
    if "{{" in rendered:
        raise ValueError("nginx template: unfilled placeholder near " + rendered[rendered.index("{{") :][:40])
    return rendered


def upstream_servers(addresses: List[str]) -> str:
    # One failure takes a server out for 5 s, so a dead replica costs little.
    return "\n        ".join(f"server {address} max_fails=1 fail_timeout=5s;" for address in addresses)


def action_servers(addresses: List[str]) -> str:
    # Never taken out: a restarted worker is ready in about 3 s, before a 5 s
    # fail_timeout would put it back, so a rolling restart could find both
    # workers out ("no live upstreams"). A refused connection costs
    # microseconds and the call goes on to the other worker.
    return "\n        ".join(f"server {address} max_fails=0;" for address in addresses)


# deploy/nginx/nginx.conf, the compose file's load balancer, is this rendering
# (`deploy/local/topology.py --compose-nginx > deploy/nginx/nginx.conf`).
COMPOSE_NGINX = {
    # Filled in from the container's environment by the nginx image's envsubst
    # step (deploy/compose.yaml); never written into the repository.
    "ACTION_SERVER_TOKEN": "${ACTION_SERVER_TOKEN}",
    "ERROR_LOG": "/dev/stderr",
    "ACCESS_LOG": "/dev/stdout",
    "PID_FILE": "/tmp/nginx.pid",
    "LISTEN_HOST": "0.0.0.0",
    "INTERNAL_HOST": "0.0.0.0",
    "LB_PORT": "8080",
    "LB_API_PORT": "5004",
    "LB_ACTIONS_PORT": "5055",
    "RASA_SERVERS": upstream_servers(["rasa-1:5005", "rasa-2:5005"]),
    "ACTION_SERVERS": action_servers(["actions-1:5055", "actions-2:5055"]),
}


def render_nginx(config: Config) -> Path:
    rendered = render_nginx_config(
        {
            "ACTION_SERVER_TOKEN": config.action_server_token,
            "ERROR_LOG": str(config.run_dir / "nginx-error.log"),
            "ACCESS_LOG": str(config.run_dir / "nginx-access.log"),
            "PID_FILE": str(config.run_dir / "nginx.pid"),
            "LISTEN_HOST": config.listen_host,
            "INTERNAL_HOST": "127.0.0.1",
            "LB_PORT": str(config.lb_port),
            "LB_API_PORT": str(config.lb_api_port),
            "LB_ACTIONS_PORT": str(config.lb_actions_port),
            "RASA_SERVERS": upstream_servers([f"127.0.0.1:{port}" for port in config.rasa_ports]),
            "ACTION_SERVERS": action_servers([f"127.0.0.1:{port}" for port in config.action_ports]),
        }
    )
    path = config.run_dir / "nginx.conf"
    # It holds the action servers' secret: readable by its owner only.
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(rendered)
    path.chmod(0o600)
    check = subprocess.run(
        [config.nginx, "-t", "-q", "-p", str(config.run_dir), "-c", str(path), "-g", "daemon off;"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise SystemExit(f"nginx rejected {path}:\n{check.stderr}")
    return path


# --- processes ---------------------------------------------------------------


@dataclass
class Service:
    name: str
    command: List[str]
    health: Optional[str]  # URL that answers 2xx when the process serves
    log: Path
    port: Optional[int] = None
    process: Optional[subprocess.Popen] = None
    restarts: int = 0
    started_at: float = 0.0
    ready: bool = False
    next_start: float = 0.0
    backoff: float = 1.0

    def start(self, env: Mapping[str, str]) -> None:
        with open(self.log, "ab") as log:
            log.write(f"\n--- started {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started_at = time.time()
        self.ready = False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        if not self.alive():
            return False
        if self.health is None:
            return time.time() - self.started_at > 3
        try:
            with urllib.request.urlopen(self.health, timeout=3) as response:
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def services(config: Config, nginx_conf: Path) -> List[Service]:
    python = sys.executable
    token = config.rasa_token
    log = config.log_dir
    found = [
        Service(
            f"actions-{i}",
            [python, "-m", "bot.rasa.action_server", "--host", LOOPBACK, "--port", str(port), "--actions", "actions"],
            f"http://127.0.0.1:{port}/health",
            log / f"actions-{i}.log",
            port,
        )
        for i, port in enumerate(config.action_ports, 1)
    ]
    found += [
        Service(
            f"rasa-{i}",
            [
                python,
                "-m",
                "bot.rasa.server",
                "run",
                "--model",
                str(config.model),
                "--endpoints",
                "endpoints.production.yml",
                "--credentials",
                "credentials.production.yml",
                "--interface",
                LOOPBACK,
                "--port",
                str(port),
                "--enable-api",
                "--auth-token",
                token,
            ],
            f"http://127.0.0.1:{port}/status?token={token}",
            log / f"rasa-{i}.log",
            port,
        )
        for i, port in enumerate(config.rasa_ports, 1)
    ]
    found += [
        Service(
            "nginx",
            [config.nginx, "-p", str(config.run_dir), "-c", str(nginx_conf), "-g", "daemon off;"],
            f"http://127.0.0.1:{config.lb_actions_port}/health",
            log / "nginx.log",
            config.lb_port,
        ),
        Service(
            "desk",
            [python, "-m", "bot", "desk", "serve", "--host", LOOPBACK, "--port", str(config.desk_port)],
            f"http://127.0.0.1:{config.desk_port}/health",
            log / "desk.log",
            config.desk_port,
        ),
        Service("analytics", [python, "-m", "bot", "analytics", "consume"], None, log / "analytics.log"),
        Service("retention", [python, "-m", "bot", "retention", "run", "--every", "1h"], None, log / "retention.log"),
    ]
    return found


class Topology:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = config.process_env(os.environ)
        self.services: List[Service] = []
        self.dependency_state: Dict[str, bool] = {}
        self.stopping = False
        self.ready = False

    def write_state(self) -> None:
        state = {
            "ready": self.ready,
            "lb_url": f"http://127.0.0.1:{self.config.lb_port}",
            "api_url": f"http://127.0.0.1:{self.config.lb_api_port}",
            "actions_url": f"http://127.0.0.1:{self.config.lb_actions_port}",
            "desk_url": f"http://127.0.0.1:{self.config.desk_port}",
            "supervisor_pid": os.getpid(),
            "dependencies": {name: ("up" if up else "down") for name, up in self.dependency_state.items()},
            "processes": {
                s.name: {
                    "pid": s.process.pid if s.process else None,
                    "port": s.port,
                    "log": str(s.log),
                    "alive": s.alive(),
                    "ready": s.ready,
                    "restarts": s.restarts,
                }
                for s in self.services
            },
        }
        path = self.config.run_dir / "state.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        temporary.replace(path)

    def start(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        nginx_conf = render_nginx(self.config)
        self.services = services(self.config, nginx_conf)
        for service in self.services:
            say(f"Starting {service.name} (log: {service.log})")
            service.start(self.env)
        self.write_state()
        deadline = time.time() + STARTUP_SECONDS
        pending = list(self.services)
        while pending:
            if self.stopping:
                return
            for service in list(pending):
                if not service.alive():
                    tail = service.log.read_text(errors="replace")[-3000:]
                    raise SystemExit(f"{service.name} exited while starting; the end of {service.log}:\n{tail}")
                if service.healthy():
                    service.ready = True
                    pending.remove(service)
                    say(f"{service.name} is ready.")
            if time.time() > deadline:
                raise SystemExit("Not ready after {} s: {}".format(STARTUP_SECONDS, ", ".join(s.name for s in pending)))
            time.sleep(1)
        # The load balancer itself routes to a replica.
        self._wait_for(f"http://127.0.0.1:{self.config.lb_port}/webhooks/rest/", "the load balancer")
        self.ready = True
        self.write_state()

    def _wait_for(self, url: str, what: str, seconds: int = 60) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=3):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        raise SystemExit(f"{what} does not answer at {url}")

    def watch_dependencies(self) -> None:
        for name, (address, impact) in dependencies(self.config).items():
            up = reachable(address, timeout=1.0)
            before = self.dependency_state.get(name)
            self.dependency_state[name] = up
            if before is None or before == up:
                continue
            if up:
                say(f"{name} at {address[0]}:{address[1]} is reachable again; service resumes by itself.")
            else:
                say(
                    f"ERROR: {name} at {address[0]}:{address[1]} is unreachable: {impact}. "
                    f"Waiting for it to return."
                )

    def supervise_once(self) -> None:
        now = time.time()
        for service in self.services:
            if service.alive():
                if not service.ready and service.healthy():
                    service.ready = True
                    say(f"{service.name} is ready.")
                if now - service.started_at > 60:
                    service.backoff = 1.0
                continue
            service.ready = False
            if service.next_start == 0.0:
                code = service.process.returncode if service.process else None
                how = f"signal {-code}" if code is not None and code < 0 else f"code {code}"
                service.next_start = now + service.backoff
                severity = "" if code == 0 else "ERROR: "
                say(
                    f"{severity}{service.name} exited ({how}); starting it again in {service.backoff:.0f} s "
                    f"(log: {service.log})."
                )
            elif now >= service.next_start:
                service.restarts += 1
                service.next_start = 0.0
                service.backoff = min(service.backoff * 2, 30.0)
                service.start(self.env)
                say(f"{service.name} started again (restart #{service.restarts}).")

    def run(self) -> None:
        while not self.stopping:
            self.supervise_once()
            self.watch_dependencies()
            self.write_state()
            time.sleep(1)

    def stop(self) -> None:
        self.stopping = True
        for service in self.services:
            service.stop()
        deadline = time.time() + STOP_SECONDS
        for service in self.services:
            if service.process is None:
                continue
            try:
                service.process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                service.kill()
            service.ready = False
        self.ready = False
        if self.services:
            self.write_state()


def summary(config: Config) -> str:
    database = make_url(config.database_url).render_as_string(hide_password=True)
    operator = f"DATABASE_URL={database} COMPLAINTS_VAR_DIR={config.var_dir} .venv/bin/python -m bot"
    replicas = f"(nginx → {len(config.rasa_ports)} Rasa replicas)"
    return f"""
The production topology is running (docs/production.md).
  Chat page (web/app):   http://127.0.0.1:{config.lb_port}/webhooks/web/     {replicas}
  REST channel:          http://127.0.0.1:{config.lb_port}/webhooks/rest/webhook
  Agent desk:            http://127.0.0.1:{config.desk_port}/
  Rasa HTTP API:         http://127.0.0.1:{config.lb_api_port}/   (internal; ?token=$RASA_TOKEN)
  Operator CLI:          {operator} agents add wang --name 王小明 | analytics show | tickets list
  Logs and state:        {config.log_dir}/, {config.run_dir / 'state.json'}
Processes that exit are started again; outages of PostgreSQL, Redis and RabbitMQ are reported here.
Press Ctrl-C to stop."""


def main() -> int:
    if sys.argv[1:] == ["--compose-nginx"]:
        print(render_nginx_config(COMPOSE_NGINX), end="")
        return 0
    config = Config.from_env(os.environ)
    preflight(config)
    config = config.with_action_server_token()
    prepare_databases(config)
    topology = Topology(config)

    def stop(signum: int, _frame: object) -> None:
        topology.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        topology.start()
        if not topology.stopping:
            print(summary(config), flush=True)
            topology.run()
    finally:
        say("Stopping...")
        topology.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
