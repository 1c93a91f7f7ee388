"""Fixtures for the rasa-sdk actions: the domain, their services on a migrated SQLite database, a dispatcher."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions import services as services_module
from bot.db import migrate
from bot.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@pytest.fixture
def svc(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    migrate(Settings.from_env())
    services_module.services.cache_clear()
    yield services_module.services()
    services_module.services.cache_clear()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()
