"""The action server's entry (bot/rasa/action_server.py): loopback, the shared secret, refusals logged."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Tuple

import psutil
import pytest
import requests

from bot import materials
from bot.launch.ports import free_port
from bot.rasa.action_server import HEADER, RefusalLog, TokenError, authorised, shared_token, token_file
from bot.settings import PROJECT_ROOT
from tests.databases import make_settings


@contextmanager
def action_server(var: Path, **env: str) -> Iterator[Tuple[str, subprocess.Popen, Path]]:
    port = free_port()
    log = var / f"actions-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.rasa.action_server", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "COMPLAINTS_VAR_DIR": str(var), **env},
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"the action server exited:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                pytest.fail("the action server did not start")
            time.sleep(0.3)
        yield url, process, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_only_health_is_answered_without_the_secret_and_refusals_are_logged(tmp_path):
    with action_server(tmp_path) as (url, process, log):
        token = token_file(tmp_path).read_text().strip()
        assert stat.S_IMODE(token_file(tmp_path).stat().st_mode) == 0o600
        assert requests.get(f"{url}/health", timeout=10).json() == {"status": "ok"}
        for headers in ({}, {HEADER: "wrong"}, {HEADER: token.upper()}, {HEADER: token + "x"}):
            assert (
                requests.post(
                    f"{url}/webhook", json={"next_action": "action_restart"}, headers=headers, timeout=10
                ).status_code
                == 401
            )
            assert requests.get(f"{url}/actions", headers=headers, timeout=10).status_code == 401
        listed = requests.get(f"{url}/actions", headers={HEADER: token}, timeout=10)
        assert listed.status_code == 200 and {"name": "action_submit_complaint"} in listed.json()
        # No browser may call it from another origin.
        preflight = requests.options(
            f"{url}/webhook",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        assert "Access-Control-Allow-Origin" not in preflight.headers
        listening = [
            c.laddr.ip
            for c in psutil.Process(process.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening == ["127.0.0.1"]
        time.sleep(0.5)
        text = log.read_text()
        # One line for the first refusal from an address; the rest are counted, so a flood cannot flood the log.
        assert text.count(f"WARNING bot.rasa.action_server: refused POST /webhook from 127.0.0.1: {HEADER} header") == 1
        assert "refused GET" not in text and token not in text
        # Serving an unreviewed claim-materials script is said once, at start.
        draft = materials.load(make_settings(tmp_path).materials_file).draft_warning()
        if draft:
            assert text.count(f"WARNING bot.rasa.action_server: {draft}") == 1
        else:
            assert "claim-materials script" not in text


def test_the_token_from_the_environment_wins_and_a_bad_one_stops_the_server(tmp_path):
    secret = "a" * 40
    with action_server(tmp_path, ACTION_SERVER_TOKEN=secret) as (url, _, _log):
        assert requests.get(f"{url}/actions", headers={HEADER: secret}, timeout=10).status_code == 200
    assert not token_file(tmp_path).exists()
    for bad in ("short", "change-me-action-server-token-at-least-32-chars", "x" * 31 + " "):
        result = subprocess.run(
            [sys.executable, "-m", "bot.rasa.action_server", "--port", str(free_port())],
            cwd=PROJECT_ROOT,
            env={**os.environ, "COMPLAINTS_VAR_DIR": str(tmp_path), "ACTION_SERVER_TOKEN": bad},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2 and "ACTION_SERVER_TOKEN" in result.stderr, (bad, result.stderr)
        assert "动作服务器无法启动" in result.stderr


def test_the_generated_secret_is_made_once_and_shared(tmp_path):
    settings = make_settings(tmp_path)
    first = shared_token(settings)
    assert len(first) == 64 and shared_token(settings) == first
    assert shared_token(make_settings(tmp_path / "other")) != first
    with pytest.raises(TokenError):
        shared_token(make_settings(tmp_path, ACTION_SERVER_TOKEN="not valid"))


def test_the_comparison():
    assert authorised("s" * 40, "s" * 40)
    assert not authorised(None, "s" * 40) and not authorised("", "s" * 40) and not authorised("s" * 39, "s" * 40)
    assert not authorised("ß" * 40, "s" * 40)  # non-ASCII header values are refused, not an error


def test_refusals_are_logged_once_a_minute_per_address_with_a_count(caplog):
    now = [0.0]
    refusals = RefusalLog(every=60, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="bot.rasa.action_server"):
        for _ in range(3):
            refusals.refused("POST", "/webhook", "10.0.0.1")
        refusals.refused("POST", "/webhook", "10.0.0.2")
        now[0] = 61
        refusals.refused("GET", "/actions", "10.0.0.1")
    assert [r.getMessage().split(": ", 1)[0] for r in caplog.records] == [
        "refused POST /webhook from 10.0.0.1",
        "refused POST /webhook from 10.0.0.2",
        "refused GET /actions from 10.0.0.1",
    ]
    assert caplog.records[-1].getMessage().endswith("(2 more from there since the last such line)")


def test_every_launcher_starts_the_action_server_through_this_entry():
    launchers = [
        PROJECT_ROOT / "bot" / "launch" / "commands.py",
        PROJECT_ROOT / "deploy" / "compose.yaml",
        PROJECT_ROOT / "deploy" / "kubernetes" / "actions.yaml",
    ]
    for path in launchers:
        text = path.read_text()
        assert "bot.rasa.action_server" in text, path
        assert not re.search(r"""run["',\s]+actions""", text), f"{path} starts rasa-sdk's unauthenticated server"
