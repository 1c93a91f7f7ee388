"""Fixtures of the whole-system tests: the assistant's real servers, headless Chromium."""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from bot import materials
from bot.agents import AgentAccount, AgentService, Role
from tests.assistant import TOKEN, Assistant, running_assistant
from tests.bot.desk.server import DeskServer, start_desk, stop_desk
from tests.databases import IN_CI
from tests.e2e.browser import CHROMIUM_ARGS, chromium_path


@pytest.fixture(scope="session")
def assistant(tmp_path_factory) -> Iterator[Assistant]:
    """The assistant's real servers, shared by the session's end-to-end tests."""
    with running_assistant(tmp_path_factory.mktemp("e2e-var")) as running:
        yield running


# Module scope: Playwright's sync API keeps an event loop running in this thread
# while it is open, which would break later tests that run their own loop.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; skips the module without it (fails under CI=true)."""
    path = chromium_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        message = f"Chromium not found at {path}: run scripts/install-chromium or set PLAYWRIGHT_CHROMIUM"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def desk(assistant: Assistant) -> Iterator[DeskServer]:
    """A desk process on the assistant's database, serving every hour."""
    server = start_desk(
        assistant.settings.var_dir, {"RASA_URL": assistant.url, "RASA_TOKEN": TOKEN, "SERVICE_HOURS": "00:00-24:00"}
    )
    yield server
    stop_desk(server)


@pytest.fixture
def agent_online(assistant: Assistant) -> Iterator[AgentAccount]:
    """An agent at the desk, as the desk marks one while it is open (service hours
    are around the clock on the e2e servers)."""
    agents = AgentService(assistant.db)
    account = agents.add(f"e2e-{uuid.uuid4().hex[:8]}", "王小明", "a-long-password", Role.AGENT)
    agents.seen(account.id)
    yield account
    agents.deactivate(account.username)


@pytest.fixture
def script(assistant: Assistant) -> materials.MaterialsScript:
    """The reviewed claim-materials script the servers answer from."""
    return materials.load(assistant.settings.materials_file)
