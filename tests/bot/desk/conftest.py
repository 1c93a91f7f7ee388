"""Desk fixtures: real desk processes on the test's var directory, stopped afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from bot.models import Base
from tests.bot.desk.server import DeskServer, start_desk, stop_desk


@pytest.fixture
def desk_factory(tmp_path: Path) -> Iterator[Callable[..., DeskServer]]:
    servers = []

    def factory(**env: str) -> DeskServer:
        servers.append(start_desk(tmp_path, env))
        return servers[-1]

    yield factory
    for server in servers:
        stop_desk(server)


@pytest.fixture
def desk(desk_factory) -> DeskServer:
    return desk_factory()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ticket_desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeskServer]:
    """A desk process on each supported database (PostgreSQL: the session's, emptied afterwards)."""
    extra = {}
    if request.param == "postgresql":
        extra["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    server = start_desk(tmp_path, extra)
    yield server
    stop_desk(server)
    if request.param == "postgresql":
        with server.db.transaction() as session:
            for table in reversed(Base.metadata.sorted_tables):
                session.execute(table.delete())
        server.db.dispose()
