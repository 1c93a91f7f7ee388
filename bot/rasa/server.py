"""`python -m bot.rasa.server run …`: Rasa's own command line, in a leaner and safer process.

Every launcher of this project starts the Rasa server through this module
(bot/launch/commands.py for scripts/run, scripts/run-production, the tests and
the benchmark; the container image). Arguments are Rasa's, with three safeguards:

- `run` and `shell` listen on BIND_HOST (127.0.0.1 unless set) instead of
  Rasa's 0.0.0.0; an explicit `--interface` still wins.
- The HTTP API (`--enable-api`) is refused on a non-loopback address without
  a token, with the development token (bot/settings.py DEV_RASA_TOKEN) or
  with a "change-me" placeholder.
- ACTION_SERVER_TOKEN, which endpoints.yml sends to the action server, is
  read from the var directory when unset (bot/rasa/action_server.py).

Logging is set up by bot/logs.py (Rasa's CLI then puts its own stderr handler
in place of ours; masking and LOG_DIR stay). Two things happen before
anything else, because they must precede TensorFlow's import and its threads;
together they take about 140 MiB off each Rasa process (docs/benchmark.md,
"Why the Rasa overrides exist"):

- jax is not imported. TensorFlow 2.12 requires jax and imports it when it is
  installed, for tf.lite's jax converter, which Rasa never uses (~110 MiB).
- glibc keeps two malloc arenas instead of one per thread: TensorFlow's
  thread pools otherwise leave memory spread over many half-empty arenas.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import ipaddress
import os
import sys
from typing import TYPE_CHECKING, List, Optional, Sequence

if TYPE_CHECKING:
    from bot.settings import Settings

M_ARENA_MAX = -8  # from glibc's malloc.h
MALLOC_ARENAS = 2


def lean_process() -> None:
    # typeshed types sys.modules as Dict[str, ModuleType]; None is the import system's blocking sentinel.
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]  # `import jax` now raises ImportError
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        try:
            ctypes.CDLL(libc_name).mallopt(M_ARENA_MAX, MALLOC_ARENAS)
        except (OSError, AttributeError):  # not glibc: keep its defaults
            pass


SERVING_COMMANDS = ("run", "shell")  # Rasa commands that start its HTTP server
PLACEHOLDER = "change-me"  # in the development token and every example secret of deploy/


def is_loopback(host: Optional[str]) -> bool:
    """True for localhost and loopback addresses; any other name or address counts as exposed."""
    if not host:
        return False
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_interface(argv: Sequence[str], bind_host: str) -> List[str]:
    """Rasa's arguments with `--interface bind_host` right after a serving command (a later one wins)."""
    if argv[:1] and argv[0] in SERVING_COMMANDS and list(argv[1:2]) != ["actions"]:
        return [argv[0], "--interface", bind_host, *argv[1:]]
    return list(argv)


def exposure_problem(args: argparse.Namespace, dev_token: str) -> Optional[str]:
    """Why these arguments would expose Rasa's HTTP API, in English and Chinese; None when they don't."""
    interface = getattr(args, "interface", None)
    if not getattr(args, "enable_api", False) or is_loopback(interface):
        return None
    token = getattr(args, "auth_token", None)
    if token and (token == dev_token or PLACEHOLDER in token.lower()):
        why, why_zh = "with the development or a placeholder token", "使用开发令牌或占位令牌"
    elif not token and not getattr(args, "jwt_secret", None):
        why, why_zh = "without a token", "没有访问令牌"
    else:
        return None
    return (
        f"Refusing to start: Rasa's HTTP API would listen on {interface!r} {why}. "
        "Set RASA_TOKEN (passed as --auth-token) to a secret of your own, "
        "or listen on 127.0.0.1 (BIND_HOST).\n"
        f"拒绝启动：Rasa 的 HTTP API 将在 {interface!r} 上对外开放且{why_zh}。"
        "请将 RASA_TOKEN（即 --auth-token）设置为您自己的密钥，或只监听 127.0.0.1（BIND_HOST）。"
    )


def startup(settings: Settings) -> None:
    """What the Rasa process installs before Rasa starts: log handling with masking, the cheaper response check."""
    from bot.logs import configure_logging
    from bot.rasa import response_check

    configure_logging("rasa", settings)
    response_check.install()


def main() -> None:
    lean_process()
    from bot.logs import LoggingSetupError
    from bot.rasa.action_server import TOKEN_ENV, TokenError, shared_token
    from bot.settings import DEV_RASA_TOKEN, Settings

    settings = Settings.from_env()
    argv = with_interface(sys.argv[1:], settings.bind_host)
    try:
        startup(settings)
    except LoggingSetupError as exc:
        sys.exit(f"{exc}\n日志配置有误：请检查 LOG_LEVEL / LOG_DIR。")
    from rasa.__main__ import create_argument_parser
    from rasa.__main__ import main as rasa_main

    args = create_argument_parser().parse_known_args(argv)[0]
    problem = exposure_problem(args, DEV_RASA_TOKEN)
    if problem:
        sys.exit(problem)
    if hasattr(args, "endpoints") and not os.environ.get(TOKEN_ENV):
        try:
            os.environ[TOKEN_ENV] = shared_token(settings)
        except TokenError as exc:
            sys.exit(f"{exc}\n动作服务器令牌配置有误（{TOKEN_ENV}）。")
    sys.argv[1:] = argv
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
