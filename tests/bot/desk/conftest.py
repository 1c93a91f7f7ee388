"""Desk fixtures: real desk processes on the test's var directory, stopped afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

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
