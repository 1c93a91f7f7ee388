"""The project's entry point for the Rasa server: Rasa's own CLI, without jax."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from bot.launch.commands import MODEL
from bot.launch.ports import free_port
from bot.rasa.server import exposure_problem, is_loopback, with_interface
from bot.settings import DEV_RASA_TOKEN, PROJECT_ROOT


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_tensorflow_and_rasa_load_without_importing_jax():
    code = (
        "import sys; from bot.rasa.server import lean_process; lean_process(); "
        "import tensorflow, rasa.core.agent; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib') and sys.modules[m]))"
    )
    assert run_python(code) == "[]"


def test_without_it_tensorflow_imports_jax():
    # The reason for the module: if this stops being true, it can go.
    assert run_python("import sys, tensorflow; print('jax' in sys.modules)") == "True"


def test_arguments_go_to_rasas_own_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa.server", "--version"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "Rasa Version      :         3.6.21" in result.stdout, result.stdout


# --- exposure: where Rasa listens and with which token -----------------------


def rasa_server(*args: str, env_extra: dict = None, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.rasa.server", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    "token_args",
    [["--auth-token", DEV_RASA_TOKEN], ["--auth-token", "change-me-rasa-token"], []],
    ids=["development token", "placeholder token", "no token"],
)
def test_the_http_api_is_refused_beyond_loopback_without_a_real_token(tmp_path, token_args):
    port = free_port()
    result = rasa_server(
        "run",
        "--model",
        str(MODEL),
        "--interface",
        "0.0.0.0",
        "--port",
        str(port),
        "--enable-api",
        *token_args,
        env_extra={"COMPLAINTS_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "Refusing to start: Rasa's HTTP API would listen on '0.0.0.0'" in result.stderr
    assert "拒绝启动" in result.stderr and "RASA_TOKEN" in result.stderr
    assert not listening(port)


def test_bind_host_beyond_loopback_needs_a_real_token_too(tmp_path):
    # No --interface: BIND_HOST decides, and the same refusal applies.
    result = rasa_server(
        "run",
        "--model",
        str(MODEL),
        "--port",
        str(free_port()),
        "--enable-api",
        "--auth-token",
        DEV_RASA_TOKEN,
        env_extra={"COMPLAINTS_VAR_DIR": str(tmp_path), "BIND_HOST": "0.0.0.0"},
    )
    assert result.returncode != 0 and "would listen on '0.0.0.0'" in result.stderr


def parsed(*argv: str):
    from rasa.__main__ import create_argument_parser

    return create_argument_parser().parse_known_args(with_interface(list(argv), "127.0.0.1"))[0]


def test_serving_commands_listen_on_the_bind_host_unless_told_otherwise():
    assert parsed("run", "--enable-api").interface == "127.0.0.1"
    assert parsed("shell").interface == "127.0.0.1"
    assert parsed("run", "--interface", "10.0.0.5").interface == "10.0.0.5"
    assert parsed("run", "-i", "::").interface == "::"
    assert with_interface(["run", "actions", "--port", "5055"], "127.0.0.1") == ["run", "actions", "--port", "5055"]
    assert with_interface(["--version"], "127.0.0.1") == ["--version"]


def test_what_counts_as_exposed():
    assert exposure_problem(parsed("run", "--enable-api", "--auth-token", DEV_RASA_TOKEN), DEV_RASA_TOKEN) is None
    assert (
        exposure_problem(parsed("run", "--enable-api", "-i", "localhost", "-t", DEV_RASA_TOKEN), DEV_RASA_TOKEN) is None
    )
    assert exposure_problem(parsed("run", "--enable-api", "-i", "::1"), DEV_RASA_TOKEN) is None
    assert exposure_problem(parsed("run", "-i", "0.0.0.0"), DEV_RASA_TOKEN) is None  # no HTTP API: channels only
    assert (
        exposure_problem(parsed("run", "--enable-api", "-i", "0.0.0.0", "-t", "a-real-secret-1f9c2d"), DEV_RASA_TOKEN)
        is None
    )
    assert exposure_problem(parsed("run", "--enable-api", "-i", "0.0.0.0", "--jwt-secret", "s"), DEV_RASA_TOKEN) is None
    for interface in ("0.0.0.0", "::", "192.168.1.20", "example.org", ""):
        assert exposure_problem(
            parsed("run", "--enable-api", "-i", interface, "-t", DEV_RASA_TOKEN), DEV_RASA_TOKEN
        ), interface
    assert is_loopback("127.0.0.2") and is_loopback("[::1]") and not is_loopback(None)


def _in_a_fresh_process(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


CHECK_RASA_PATCHES = (
    "import logging\n"
    "from rasa.core.actions.action import RemoteAction\n"
    "factory, check = logging.getLogRecordFactory(), RemoteAction._validate_action_result\n"
    "{action}\n"
    "print(logging.getLogRecordFactory() is factory, RemoteAction._validate_action_result is check)\n"
)


def test_importing_the_nlu_components_changes_nothing_in_rasa():
    assert _in_a_fresh_process(CHECK_RASA_PATCHES.format(action="import bot.rasa.nlu.components")) == "True True"


def test_the_server_startup_installs_masking_and_the_response_check(tmp_path):
    action = (
        "from bot.rasa.server import startup\n"
        "from bot.settings import Settings\n"
        f"startup(Settings.from_env({{'COMPLAINTS_VAR_DIR': {str(tmp_path)!r}}}))"
    )
    assert _in_a_fresh_process(CHECK_RASA_PATCHES.format(action=action)) == "False False"
