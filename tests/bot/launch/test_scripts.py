"""scripts/run and scripts/run-production only hand over to `python -m bot.launch`."""

from __future__ import annotations

import subprocess
import sys

from bot.settings import PROJECT_ROOT

SCRIPTS = PROJECT_ROOT / "scripts"


def commands(name: str) -> list:
    lines = (SCRIPTS / name).read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def test_scripts_run_hands_over_to_the_embedded_launcher():
    assert commands("run")[-1] == "exec .venv/bin/python -m bot.launch embedded"
    assert "bot.rasa" not in (SCRIPTS / "run").read_text()


def test_scripts_run_production_installs_nginx_then_hands_over_to_the_production_launcher():
    lines = commands("run-production")
    assert lines[-2:] == ["scripts/install-nginx", 'exec .venv/bin/python -m bot.launch production "$@"']


def launch(*args: str) -> "subprocess.CompletedProcess[str]":
    command = [sys.executable, "-m", "bot.launch", *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


def test_the_launcher_prints_the_compose_load_balancer_as_committed():
    result = launch("production", "--compose-nginx")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (PROJECT_ROOT / "deploy" / "nginx" / "nginx.conf").read_text()


def test_the_launcher_refuses_an_unknown_mode():
    result = launch("cluster")
    assert result.returncode == 2
    assert "invalid choice: 'cluster'" in result.stderr
