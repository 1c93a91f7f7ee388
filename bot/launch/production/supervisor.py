"""Starts every process of the topology, waits until each serves and keeps them running.

A process that exits is started again with a growing delay; outages of
PostgreSQL, Redis and RabbitMQ are reported when they begin and end. The state
(processes, pids, ports, readiness) is written to run/state.json for operators,
the tests in tests/e2e/production/ and the benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List

from bot.launch.commands import (
    actions_command,
    analytics_command,
    desk_command,
    notices_command,
    rasa_command,
    reminders_command,
    retention_command,
)
from bot.launch.ports import reachable
from bot.launch.production.config import Config
from bot.launch.production.console import say
from bot.launch.production.nginx import nginx_command, render_nginx
from bot.launch.production.preparation import dependencies
from bot.launch.production.service import Service
from bot.launch.readiness import answers, tail
from bot.settings import PROJECT_ROOT

STARTUP_SECONDS = 900  # two Rasa replicas load their model in parallel on a busy machine
STOP_SECONDS = 20


def services(config: Config, nginx_conf: Path) -> List[Service]:
    """Every process of the topology, in the order they start."""
    log = config.log_dir
    found = [
        Service(
            f"actions-{i}", actions_command(port), f"http://127.0.0.1:{port}/health", log / f"actions-{i}.log", port
        )
        for i, port in enumerate(config.action_ports, 1)
    ]
    found += [
        Service(
            f"rasa-{i}",
            rasa_command(
                model=config.model,
                endpoints=PROJECT_ROOT / "endpoints.production.yml",
                credentials=PROJECT_ROOT / "credentials.production.yml",
                port=port,
                token=config.rasa_token,
            ),
            f"http://127.0.0.1:{port}/status?token={config.rasa_token}",
            log / f"rasa-{i}.log",
            port,
        )
        for i, port in enumerate(config.rasa_ports, 1)
    ]
    found += [
        Service(
            "nginx",
            nginx_command(config, nginx_conf),
            f"http://127.0.0.1:{config.lb_actions_port}/health",
            log / "nginx.log",
            config.lb_port,
        ),
        Service(
            "desk",
            desk_command(config.desk_port),
            f"http://127.0.0.1:{config.desk_port}/health",
            log / "desk.log",
            config.desk_port,
        ),
        Service("analytics", analytics_command(), None, log / "analytics.log"),
        Service("reminders", reminders_command(), None, log / "reminders.log"),
        Service("notices", notices_command(), None, log / "notices.log"),
        Service("retention", retention_command(), None, log / "retention.log"),
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
        """Renders nginx's configuration, starts every process and waits until each serves."""
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
                    raise SystemExit(
                        f"{service.name} exited while starting; the end of {service.log}:\n{tail(service.log)}"
                    )
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
            if answers(url):
                return
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
