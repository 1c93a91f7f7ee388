"""Every process's log handling (bot/logs.py): bot.* records reach the process's log, masked."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from bot.agents import AgentService, Role
from bot.settings import PROJECT_ROOT
from tests.bot.desk.server import start_desk, stop_desk

PHONE = "13812345678"


def wait_for(path: Path, text: str, seconds: float = 10) -> str:
    deadline = time.time() + seconds
    while True:
        content = path.read_text(errors="replace")
        if text in content or time.time() > deadline:
            return content
        time.sleep(0.2)


def test_failed_desk_logins_and_the_lockout_reach_the_desks_log_formatted_and_masked(tmp_path):
    desk = start_desk(tmp_path)
    try:
        username = f"wang{PHONE}"  # a username with a phone number in it is masked like any other
        AgentService(desk.db).add(username, "王小明", "a-long-password", Role.AGENT)
        for _ in range(5):
            response = requests.post(
                f"{desk.url}/login",
                data={"username": username, "password": "wrong-password"},
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 401
        log = wait_for(desk.log, "locked")
        # Through this process's handler (time, level, logger), not logging's bare last resort.
        record = r"^\S+ \S+ (INFO|WARNING) bot\.desk\.[\w.]+: "
        assert re.search(record + r".*(failed desk login|desk login failed).*wang138\*\*\*\*5678", log, re.M), log[
            -3000:
        ]
        assert re.search(record + r".*wang138\*\*\*\*5678.* locked", log, re.M), log[-3000:]
        assert PHONE not in log
        # Sanic's own lines come once, in the same format.
        assert len(re.findall(r"Goin' Fast", log)) == 1 and re.search(r"INFO sanic\.root: Goin' Fast", log)
        # The desk listens on loopback only.
        listening = [
            c.laddr.ip
            for c in psutil.Process(desk.process.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening and set(listening) == {"127.0.0.1"}, listening
    finally:
        stop_desk(desk)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_level_stderr_and_log_dir_with_masking(tmp_path):
    code = (
        "import logging; from bot.logs import configure_logging; configure_logging('analytics'); "
        "logging.getLogger('bot.analytics').info('hidden at WARNING'); "
        f"logging.getLogger('bot.desk.app').warning('lockout for %s', '{PHONE}')"
    )
    result = run_python(code, LOG_LEVEL="warning", LOG_DIR=str(tmp_path / "logs"))
    assert result.returncode == 0, result.stderr
    assert "WARNING bot.desk.app: lockout for 138****5678" in result.stderr
    assert "hidden" not in result.stderr and PHONE not in result.stderr
    written = tmp_path / "logs" / "analytics.log"
    assert written.read_text().strip() == result.stderr.strip()
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


def test_configuring_twice_adds_no_second_handler(tmp_path):
    code = (
        "import logging; from bot.logs import configure_logging; configure_logging('cli'); "
        "configure_logging('cli'); logging.getLogger('bot').warning('once')"
    )
    result = run_python(code)
    assert result.stderr.count("once") == 1, result.stderr


def test_an_unknown_log_level_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "tickets", "list"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COMPLAINTS_VAR_DIR": str(tmp_path), "LOG_LEVEL": "loud"},
    )
    assert result.returncode == 2
    assert "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'" in result.stderr
