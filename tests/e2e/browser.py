"""Headless Chromium for browser tests: Debian's binary driven by Playwright.

Playwright never downloads a browser here (no `playwright install`): it drives
the binary at $PLAYWRIGHT_CHROMIUM, default /usr/bin/chromium, which
scripts/install-chromium installs. Use it from a test module with

    from tests.browser_support import chromium, save_screenshot  # noqa: F401

and request the `chromium` fixture; it yields a Playwright `Browser`. Without
the binary the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from bot.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"
IN_CI = os.environ.get("CI") == "true"

# No GPU, no network of its own (updates, sync, QUIC probes), no first-run UI;
# --no-sandbox because tests may run as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> Path:
    return Path(os.environ.get("PLAYWRIGHT_CHROMIUM") or "/usr/bin/chromium")


# Module scope: Playwright's sync API keeps an event loop running in this thread
# while it is open, which would break later tests that run their own loop.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
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


def save_screenshot(page: Page, name: str, full_page: bool = False) -> Path:
    """Saves a PNG under results/screenshots/ (a test artifact) and returns its path."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '_', '-', '.' only")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
