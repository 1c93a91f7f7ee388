"""The operators' command line, `python -m bot ...`, run as its own process in a bare environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

from bot.crypto import ENCRYPTION_KEYS_VARIABLE, HASH_KEY_VARIABLE
from bot.settings import PROJECT_ROOT


def cli_env(var: Path, **settings: str) -> Dict[str, str]:
    """The test's var directory and the session's field keys, then `settings`; nothing else of this process."""
    return {
        "PATH": "/usr/bin:/bin",
        "COMPLAINTS_VAR_DIR": str(var),
        **{name: os.environ[name] for name in (ENCRYPTION_KEYS_VARIABLE, HASH_KEY_VARIABLE)},
        **settings,
    }


def cli(var: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """Runs `python -m bot *args` to its end in `cli_env(var, **settings)`."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=cli_env(var, **settings),
        timeout=120,
    )
