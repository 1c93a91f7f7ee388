"""The desk's background loop: idle conversations back to the queue, waiting users told their place."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sanic import Blueprint, Sanic

from bot import replies
from bot.desk.context import Desk
from bot.desk.rasa_client import RasaUnavailable, UnaddressableConversation
from bot.privacy import mask_text

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL = 5.0


async def _tell(desk: Desk, conversation_id: str, text: str) -> None:
    """A notice to a waiting user; one conversation Rasa cannot address does not stop the others'."""
    try:
        await desk.rasa.say(conversation_id, text)
    except UnaddressableConversation:
        log.warning(
            "notice not sent: conversation id %r not addressable in Rasa's HTTP API", mask_text(conversation_id)
        )


async def housekeeping(desk: Desk) -> None:
    """Idle conversations back to the queue; waiting users told when their place improves."""
    while True:
        try:
            for row in await asyncio.to_thread(desk.handoffs.requeue_idle):
                log.info("handoff %s idle, back in the queue", row["id"])
                await _tell(desk, row["conversation_id"], replies.REQUEUED_NOTICE)
            for update in await asyncio.to_thread(desk.handoffs.position_updates):
                await _tell(desk, update.conversation_id, replies.queue_update(update.position))
        except RasaUnavailable as exc:
            log.warning("housekeeping could not reach Rasa: %s", exc)
        except Exception:  # noqa: BLE001 - the loop must survive a database outage
            log.exception("desk housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)


async def start_housekeeping(app: Sanic, _loop: Any) -> None:
    app.add_task(housekeeping(app.ctx.desk))


def blueprint() -> Blueprint:
    """A new blueprint for one app: no routes, only the loop started with the server."""
    bp = Blueprint("housekeeping")
    bp.after_server_start(start_housekeeping)
    return bp
