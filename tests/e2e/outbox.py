"""The notice sender's pass against the test assistant, run when a test decides (as a stopped or crashed
sender would leave the outbox until then)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from bot.notice_sender import NoticeSender, SendReport, routes
from tests.assistant import TOKEN, Assistant


def send(assistant: Assistant) -> SendReport:
    """One pass (in a thread of its own: Playwright's sync API holds this thread's event loop)."""
    settings = replace(assistant.settings, rasa_url=assistant.url, rasa_token=TOKEN)
    sender = NoticeSender(assistant.db, settings, routes(settings, assistant.db))
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, sender.run_once_and_close()).result(timeout=120)
