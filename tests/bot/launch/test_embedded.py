"""The embedded launcher: its endpoints for tests and the benchmark, and `make run` stopping everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import psutil
import yaml

from bot.db import migrate
from bot.launch import embedded, processes
from bot.launch.embedded import EmbeddedServers, Plan, Start, embedded_servers, endpoints_yaml
from bot.launch.ports import free_port
from bot.settings import PROJECT_ROOT, Settings
from tests.bot.launch.programs import SLEEPER, python

# `make run` with its logs in a directory of the test's (scripts/run writes var/log/).
MAKE_RUN = """
import os, sys
from pathlib import Path
from bot.launch import embedded
embedded.LOG_DIR = Path(sys.argv[1])
sys.exit(embedded.main(os.environ))
"""


def test_the_endpoints_point_rasa_at_its_action_server_with_the_secret_and_a_tracker_in_var(tmp_path):
    endpoints = yaml.safe_load(endpoints_yaml(tmp_path, 5155))
    assert endpoints["action_endpoint"] == {
        "url": "http://127.0.0.1:5155/webhook",
        "headers": {"X-Action-Server-Token": "${ACTION_SERVER_TOKEN}"},  # Rasa fills it in from the environment
    }
    assert endpoints["tracker_store"] == {
        "type": "bot.rasa.tracker_store.ResilientSQLTrackerStore",
        "dialect": "sqlite",
        "db": str(tmp_path / "tracker.db"),
    }


def test_each_copy_has_its_own_ports_endpoints_and_logs(tmp_path):
    first, second = (embedded_servers(tmp_path / name, "t") for name in ("first", "second"))
    assert len({first.rasa_port, first.actions_port, second.rasa_port, second.actions_port}) == 4
    (tmp_path / "first").mkdir()
    commands = first.commands()
    endpoints = tmp_path / "first" / "endpoints.yml"
    assert commands["rasa"][commands["rasa"].index("--endpoints") + 1] == str(endpoints)
    assert f":{first.actions_port}/webhook" in endpoints.read_text()
    assert first.logs == {"actions": tmp_path / "first" / "actions.log", "rasa": tmp_path / "first" / "rasa.log"}
    assert first.health_urls == [
        f"http://127.0.0.1:{first.actions_port}/health",
        f"http://127.0.0.1:{first.rasa_port}/status?token=t",
    ]
    assert EmbeddedServers(tmp_path, 1, 2, "t").rasa_url == "http://127.0.0.1:1"


def make_run(tmp_path: Path, **ports: int) -> "subprocess.Popen[str]":
    env = {**os.environ, "COMPLAINTS_VAR_DIR": str(tmp_path), **{key: str(value) for key, value in ports.items()}}
    env.pop("DATABASE_URL", None)
    migrate(Settings.from_env(env))
    return subprocess.Popen(
        [sys.executable, "-c", MAKE_RUN, str(tmp_path / "log")],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(stream, marker: str) -> List[str]:
    lines = []
    for line in stream:
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} never printed: {lines}")


def servers_of(launcher: "subprocess.Popen[str]") -> Dict[int, str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = {child.pid: " ".join(child.cmdline()) for child in psutil.Process(launcher.pid).children()}
        # A child between fork and exec still shows the launcher's command line.
        if len(children) == 6 and all(" -m " in command for command in children.values()):
            return children
        time.sleep(0.1)
    raise AssertionError("the launcher did not start six processes")


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pids, within: float = 10.0) -> bool:
    """Whether every one has exited, allowing a loaded machine a moment to finish reaping."""
    deadline = time.monotonic() + within
    while any(running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_ctrl_c_stops_every_process_make_run_started(tmp_path):
    launcher = make_run(tmp_path, RASA_PORT=free_port(), ACTIONS_PORT=free_port(), DESK_PORT=free_port())
    try:
        started = read_until(launcher.stdout, "retention purge")
        assert [line.split(" (log")[0] for line in started][-1] == "Starting the retention purge, hourly"
        servers = servers_of(launcher)
        assert sorted(command.split(" -m ")[1].split(" --")[0] for command in servers.values()) == [
            "bot desk serve",
            "bot notices send",
            "bot retention run",
            "bot tickets remind",
            "bot.rasa.action_server",
            "bot.rasa.server run",
        ]
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 130
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert gone(servers), servers


def test_make_run_says_which_server_failed_to_start_and_stops_the_others(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        desk_port = taken.getsockname()[1]
        launcher = make_run(tmp_path, RASA_PORT=free_port(), ACTIONS_PORT=free_port(), DESK_PORT=desk_port)
        try:
            servers = servers_of(launcher)
            stdout, stderr = launcher.communicate(timeout=120)
        finally:
            if launcher.poll() is None:
                launcher.kill()
    assert launcher.returncode == 1
    assert f"Starting the agent desk on 127.0.0.1:{desk_port} (log: var/log/desk.log)..." in stdout
    assert "The assistant is running" not in stdout
    first, *tail = stderr.splitlines()
    assert first == "The desk server failed to start; the end of var/log/desk.log:"
    assert len(tail) <= 5 and any("address already in use" in line for line in tail), stderr
    assert gone(servers), servers


def test_a_ctrl_c_while_a_server_is_being_started_still_stops_that_server(tmp_path, monkeypatch):
    started: List["subprocess.Popen[bytes]"] = []

    def spawn_then_ctrl_c(*args, **kwargs):
        started.append(processes.spawn(*args, **kwargs))
        os.kill(os.getpid(), signal.SIGINT)  # lands before spawn returns, as it can while Popen waits for exec
        return started[-1]

    sleeper = Start("sleeper", "a sleeper", python(SLEEPER), dict(os.environ))
    never_ready = [f"http://127.0.0.1:{free_port()}/"]
    monkeypatch.setattr(embedded, "plan", lambda env: Plan("", "", 0, 0, [sleeper], never_ready, tmp_path, None))
    monkeypatch.setattr(embedded, "spawn", spawn_then_ctrl_c)
    monkeypatch.setattr(embedded, "LOG_DIR", tmp_path)
    assert embedded.main({}) == 130
    assert started[0].poll() is not None  # stopped, not left running
