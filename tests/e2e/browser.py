"""Headless Chromium for browser tests: Debian's binary driven by Playwright.

Playwright never downloads a browser here (no `playwright install`): it drives
the binary at $PLAYWRIGHT_CHROMIUM, default /usr/bin/chromium, which
scripts/install-chromium installs. A test under tests/e2e requests the
`chromium` fixture (tests/e2e/conftest.py), a Playwright `Browser`; without the
binary it skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page

from bot.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"

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
    """The Chromium binary Playwright drives."""
    return Path(os.environ.get("PLAYWRIGHT_CHROMIUM") or "/usr/bin/chromium")


def save_screenshot(page: Page, name: str, full_page: bool = False) -> Path:
    """Saves a PNG under results/screenshots/ (a test artifact) and returns its path."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '_', '-', '.' only")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
