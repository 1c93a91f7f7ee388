"""Fixtures for the domain modules' tests: the RabbitMQ server, conversations in a tracker store."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest

from bot.db import Database
from tests.bot.conversations import Conversations
from tests.bot.rasa.rabbitmq import RABBITMQ
from tests.databases import IN_CI


@pytest.fixture
def rabbitmq() -> None:
    """Skips the test unless RabbitMQ is running (under CI=true, fails instead)."""
    try:
        socket.create_connection(RABBITMQ, timeout=2).close()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"RabbitMQ must be reachable under CI at {RABBITMQ}: {exc}")
        pytest.skip(f"RabbitMQ is not running at {RABBITMQ[0]}:{RABBITMQ[1]}; skipping RabbitMQ tests")


@pytest.fixture
def conversations(db: Database, tmp_path) -> Iterator[Conversations]:
    """Conversations in a tracker store on the `db` fixture's backend, deleted afterwards."""
    made = Conversations.beside(db, tmp_path)
    yield made
    made.close()
