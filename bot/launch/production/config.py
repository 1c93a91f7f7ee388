"""The production topology's configuration, read from the environment (every variable: docs/production.md)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

from bot.launch.commands import LOOPBACK, MODEL
from bot.rasa.action_server import TOKEN_ENV, TokenError, shared_token
from bot.settings import DEV_RASA_TOKEN, PROJECT_ROOT, Settings


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
            rasa_token=env.get("RASA_TOKEN") or DEV_RASA_TOKEN,
            listen_host=env.get("LB_HOST") or "127.0.0.1",
            lb_port=_port(env, "LB_PORT", 5005),
            lb_api_port=_port(env, "LB_API_PORT", 5004),
            lb_actions_port=_port(env, "LB_ACTIONS_PORT", 5055),
            rasa_ports=_ports(env.get("RASA_REPLICA_PORTS") or "5011,5012", "RASA_REPLICA_PORTS"),
            action_ports=_ports(env.get("ACTION_WORKER_PORTS") or "5061,5062", "ACTION_WORKER_PORTS"),
            desk_port=_port(env, "DESK_PORT", 5006),
            model=Path(env.get("RASA_MODEL") or MODEL),
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
