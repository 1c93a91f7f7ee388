"""Log handling of every process: one format, the LOG_LEVEL setting, stderr and an optional file, masked PII.

Each entry point calls `configure_logging` once, first thing: the Rasa server
(bot/rasa/server.py), the action server (bot/rasa/action_server.py), the desk, the
analytics consumer and the operator CLI (bot/cli.py). Records of the `bot.*`
loggers (failed logins, lockouts, refused requests) propagate to the root
logger configured here, so they reach the process's log. Launchers redirect
stderr to var/log/<process>.log; LOG_DIR adds a file of the process's own.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Optional

from bot.privacy import install_log_masking
from bot.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_PROCESS_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
SANIC_PROCESSES = ("rasa", "actions", "desk")  # the servers built on Sanic


class LoggingSetupError(ValueError):
    """A logging setting that cannot be used."""


def log_level(settings: Settings) -> int:
    """The LOG_LEVEL setting as a logging level; a clear error for anything else."""
    if settings.log_level not in LEVELS:
        raise LoggingSetupError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, got {settings.log_level!r}")
    return getattr(logging, settings.log_level)


def configure_logging(process: str, settings: Optional[Settings] = None) -> None:
    """Masks PII in every record, then sends the root logger's records to stderr (and LOG_DIR/<process>.log)."""
    if not _PROCESS_NAME.fullmatch(process):
        raise LoggingSetupError(f"invalid process name {process!r}")
    settings = Settings.from_env() if settings is None else settings
    level = log_level(settings)
    install_log_masking()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_complaints_handler", False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.log_dir is not None:
        handlers.append(_file_handler(settings.log_dir / f"{process}.log"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._complaints_handler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("bot").setLevel(logging.NOTSET)  # bot.* follows the root level
    if process in SANIC_PROCESSES:
        _sanic_through_root()


def _sanic_through_root() -> None:
    """Sanic's loggers (desk, action server) write through the root handlers only, in this format.

    A Sanic app otherwise installs its own handlers for them when created, and
    its records, which also propagate to the root logger, appear twice.
    """
    try:
        from sanic import log as sanic_log
    except ImportError:
        return
    defaults = sanic_log.LOGGING_CONFIG_DEFAULTS
    defaults.clear()
    defaults.update({"version": 1, "disable_existing_loggers": False})
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def _file_handler(path: Path) -> logging.Handler:
    """Appends to `path`, created readable by its owner only (logs hold conversation content)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    return logging.FileHandler(path, encoding="utf-8")
