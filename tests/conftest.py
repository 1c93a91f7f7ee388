"""Fixtures that build real objects: settings in a temp dir, migrated databases, the trained model."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.exc import OperationalError

from bot.crypto import generate_keys
from bot.db import Database, create_postgres_database, drop_postgres_database, migrate
from bot.launch.commands import MODEL
from bot.models import Base
from bot.settings import Settings
from tests.databases import IN_CI, POSTGRES_ADMIN_URL, make_settings


def pytest_configure(config: pytest.Config) -> None:
    """One set of field-encryption keys for the session, inherited by every server a
    test starts: their var directories (and so their key files) differ."""
    for name, value in generate_keys().items():
        os.environ.setdefault(name, value)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def _migrated(settings: Settings) -> Database:
    migrate(settings)
    return Database(settings.database_url)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/complaints_test_{uuid.uuid4().hex[:8]}"
    try:
        create_postgres_database(url)
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable under CI: {exc}")
        pytest.skip(f"PostgreSQL is not running at {POSTGRES_ADMIN_URL}; skipping PostgreSQL tests")
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database on each supported backend."""
    if request.param == "sqlite":
        settings = make_settings(tmp_path)
    else:
        settings = make_settings(tmp_path, DATABASE_URL=request.getfixturevalue("postgres_url"))
    database = _migrated(settings)
    yield database
    if request.param == "postgresql":
        with database.transaction() as session:
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(table.delete())
    database.dispose()


@pytest.fixture
def sqlite_db(settings: Settings) -> Iterator[Database]:
    database = _migrated(settings)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def agent():
    """The trained model (built by `make train`, which `make test` runs first)."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it)")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))
