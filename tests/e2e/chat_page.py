"""The chat page as a policyholder uses it in Chromium: open it, type, click buttons, read the answers."""

from __future__ import annotations

from typing import Dict, List

from playwright.sync_api import Browser, BrowserContext, Page, expect

STORAGE_KEY = "complaints-web-chat.session"


def open_chat(browser: Browser, url: str, viewport: Dict[str, int], session_id: str = "") -> Page:
    context: BrowserContext = browser.new_context(viewport=viewport, locale="zh-CN")
    if session_id:  # the same conversation on another device or tab
        context.add_init_script(f"localStorage.setItem({STORAGE_KEY!r}, {session_id!r})")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    wait_ready(page)
    return page


def wait_ready(page: Page) -> None:
    """Connected, and the history of the conversation is on the page."""
    page.wait_for_selector('#messages[aria-busy="false"]')
    expect(page.locator("#status")).to_have_text("在线")


def bot_texts(page: Page) -> List[str]:
    return page.eval_on_selector_all(".message:not(.from-user) .bubble", "els => els.map(e => e.textContent)")


def shown(page: Page) -> List[Dict[str, str]]:
    return page.eval_on_selector_all(
        ".message",
        """els => els.map(e => ({
        id: e.dataset.id, kind: e.className,
        label: (e.querySelector('.message-label') || {}).textContent || '',
        text: e.querySelector('.bubble').textContent}))""",
    )


def _answered(page: Page, before: int) -> List[str]:
    # The typing indicator shows from sending until the server's `bot_done`.
    page.wait_for_selector("#typing", state="hidden")
    return bot_texts(page)[before:]


def say(page: Page, text: str) -> List[str]:
    """Types a message, sends it with Enter and returns the replies."""
    before = len(bot_texts(page))
    page.fill("#input", text)
    page.press("#input", "Enter")
    return _answered(page, before)


def click(page: Page, title: str) -> List[str]:
    before = len(bot_texts(page))
    page.locator(".quick-replies:not([hidden])").get_by_role("button", name=title, exact=True).click()
    return _answered(page, before)


def session_of(page: Page) -> str:
    return page.evaluate(f"localStorage.getItem({STORAGE_KEY!r})")


def assert_no_duplicates(page: Page) -> None:
    ids = [message["id"] for message in shown(page)]
    assert len(ids) == len(set(ids)), ids
