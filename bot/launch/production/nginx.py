"""nginx, the load balancer: its configuration rendered from deploy/local/nginx.conf.template and its command."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List, Mapping

from bot.launch.production.config import Config
from bot.settings import PROJECT_ROOT

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
# (`python -m bot.launch production --compose-nginx > deploy/nginx/nginx.conf`).
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


def nginx_command(config: Config, conf: Path, *extra: str) -> List[str]:
    return [config.nginx, *extra, "-p", str(config.run_dir), "-c", str(conf), "-g", "daemon off;"]


def render_nginx(config: Config) -> Path:
    """Writes run/nginx.conf for `config` (owner-only: it holds the action servers' secret) and has nginx check it."""
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
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        handle.write(rendered)
    path.chmod(0o600)
    check = subprocess.run(nginx_command(config, path, "-t", "-q"), capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"nginx rejected {path}:\n{check.stderr}")
    return path
