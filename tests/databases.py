"""Where the tests' databases are: settings on a test's own var directory, the PostgreSQL server, CI's demands."""

from __future__ import annotations

import os
from pathlib import Path

from bot.settings import Settings

# Under CI=true, PostgreSQL, Redis and RabbitMQ must be reachable: a test needing one fails instead of skipping.
IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def make_settings(tmp_path: Path, **env: str) -> Settings:
    """Settings whose var directory (and so default SQLite database) is `tmp_path`, with `env` on top."""
    return Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path), **env})
