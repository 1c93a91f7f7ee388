"""Every launcher takes its servers' command lines from bot/launch/commands.py; they listen on loopback unless told."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bot.launch.commands import LOOPBACK, notices_command, reminders_command, retention_command
from bot.launch.embedded import EmbeddedServers, local_host, plan
from bot.launch.production.config import Config
from bot.launch.production.supervisor import services
from bot.settings import DEV_RASA_TOKEN, PROJECT_ROOT


def entry(command: List[str]) -> List[str]:
    """The program and module a command runs, with its subcommand: everything before the first option."""
    options = [i for i, part in enumerate(command) if part.startswith("--")]
    return command[: options[0]] if options else command


def option(command: List[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def production(tmp_path: Path, **env: str) -> Dict[str, List[str]]:
    config = Config.from_env({"PRODUCTION_VAR_DIR": str(tmp_path), **env})
    return {service.name: service.command for service in services(config, tmp_path / "nginx.conf")}


def embedded(**env: str) -> Dict[str, List[str]]:
    return {start.role: start.command for start in plan(env).starts}


def test_make_run_the_tests_and_production_start_the_same_entry_points(tmp_path):
    run = embedded()
    tests = EmbeddedServers(tmp_path, 5105, 5155, "t").commands()
    prod = production(tmp_path)
    actions = [sys.executable, "-m", "bot.rasa.action_server"]
    rasa = [sys.executable, "-m", "bot.rasa.server", "run"]
    assert entry(run["actions"]) == entry(tests["actions"]) == entry(prod["actions-1"]) == actions
    assert entry(run["rasa"]) == entry(tests["rasa"]) == entry(prod["rasa-1"]) == rasa
    assert entry(run["desk"]) == entry(prod["desk"]) == [sys.executable, "-m", "bot", "desk", "serve"]
    assert run["retention"] == prod["retention"] == retention_command()
    assert run["reminders"] == prod["reminders"] == reminders_command()
    assert run["notices"] == prod["notices"] == notices_command()
    assert entry(notices_command()) == [sys.executable, "-m", "bot", "notices", "send"]
    assert entry(prod["analytics"]) == [sys.executable, "-m", "bot", "analytics", "consume"]
    # The Rasa servers differ in values only: model, endpoints, credentials, address, port, token.
    flags = {part for part in run["rasa"] if part.startswith("--")}
    assert flags == {part for part in prod["rasa-1"] if part.startswith("--")}
    assert flags == {"--model", "--endpoints", "--credentials", "--interface", "--port", "--enable-api", "--auth-token"}
    assert option(run["rasa"], "--model") == option(prod["rasa-1"], "--model")


def test_every_server_listens_on_loopback_by_default(tmp_path):
    run = embedded()
    assert option(run["actions"], "--host") == option(run["desk"], "--host") == LOOPBACK
    assert option(run["rasa"], "--interface") == LOOPBACK
    tests = EmbeddedServers(tmp_path, 5105, 5155, "t").commands()
    assert option(tests["actions"], "--host") == option(tests["rasa"], "--interface") == LOOPBACK
    prod = production(tmp_path)
    for name, command in prod.items():
        if name.startswith(("actions-", "desk")):
            assert option(command, "--host") == LOOPBACK, name
        elif name.startswith("rasa-"):
            assert option(command, "--interface") == LOOPBACK, name
    config = Config.from_env({"PRODUCTION_VAR_DIR": str(tmp_path)})
    assert config.listen_host == LOOPBACK  # nginx, the only entry
    assert config.process_env({})["BIND_HOST"] == LOOPBACK


def test_bind_host_moves_rasa_and_the_desk_but_never_the_action_server():
    run = plan({"BIND_HOST": "0.0.0.0", "RASA_TOKEN": "a-real-secret-1f9c2d"})
    commands = {start.role: start.command for start in run.starts}
    assert option(commands["rasa"], "--interface") == option(commands["desk"], "--host") == "0.0.0.0"
    assert option(commands["actions"], "--host") == LOOPBACK
    desk = next(start for start in run.starts if start.role == "desk")
    assert desk.env["RASA_URL"] == "http://127.0.0.1:5005"  # the desk reaches Rasa through loopback
    sender = next(start for start in run.starts if start.role == "notices")
    assert sender.env["RASA_URL"] == desk.env["RASA_URL"] and sender.env["RASA_TOKEN"] == "a-real-secret-1f9c2d"
    assert all(start.env["BIND_HOST"] == "0.0.0.0" for start in run.starts)


def test_make_run_defaults_ports_token_and_endpoints():
    run = plan({})
    commands = {start.role: start.command for start in run.starts}
    assert (option(commands["rasa"], "--port"), option(commands["actions"], "--port")) == ("5005", "5055")
    assert option(commands["desk"], "--port") == "5006"
    assert option(commands["rasa"], "--auth-token") == DEV_RASA_TOKEN
    assert all(start.env["RASA_TOKEN"] == DEV_RASA_TOKEN for start in run.starts)
    assert option(commands["rasa"], "--endpoints") == str(PROJECT_ROOT / "endpoints.yml")
    assert run.health_urls == [
        f"http://127.0.0.1:5005/status?token={DEV_RASA_TOKEN}",
        "http://127.0.0.1:5055/health",
        "http://127.0.0.1:5006/health",
    ]
    moved = plan({"RASA_PORT": "5105", "ACTIONS_PORT": "5155", "DESK_PORT": "5106", "RASA_TOKEN": "own"})
    assert moved.health_urls == [
        "http://127.0.0.1:5105/status?token=own",
        "http://127.0.0.1:5155/health",
        "http://127.0.0.1:5106/health",
    ]
    assert "Agent desk:           http://127.0.0.1:5106/" in moved.banner


def test_rasa_calls_the_action_server_on_the_port_it_listens_on():
    assert plan({}).endpoints_text is None  # the repository's endpoints.yml names port 5055
    moved = plan({"ACTIONS_PORT": "5155", "COMPLAINTS_VAR_DIR": "/srv/complaints"})
    rasa = {start.role: start.command for start in moved.starts}["rasa"]
    assert option(rasa, "--endpoints") == str(moved.endpoints) == "/srv/complaints/endpoints.yml"
    action_endpoint = yaml.safe_load(moved.endpoints_text)["action_endpoint"]
    assert action_endpoint["url"] == "http://127.0.0.1:5155/webhook"
    assert (
        action_endpoint["headers"]
        == yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())["action_endpoint"]["headers"]
    )


@pytest.mark.parametrize(
    "bind, local",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),
        ("::", "127.0.0.1"),
        ("[::]", "127.0.0.1"),
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
        ("192.168.1.20", "192.168.1.20"),
    ],
)
def test_the_servers_are_reached_through_loopback_when_they_listen_everywhere(bind, local):
    assert local_host(bind) == local


def test_a_port_that_is_not_a_number_is_refused_with_its_name():
    with pytest.raises(SystemExit, match="DESK_PORT must be a port between 1 and 65535, got 'desk'"):
        plan({"DESK_PORT": "desk"})
