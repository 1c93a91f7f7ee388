"""The desk's background loop: idle conversations back to the queue, waiting users told their place,
and told when no agent is left to take them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sanic import Blueprint, Sanic

from bot import replies
from bot.desk.context import Desk
from bot.desk.rasa_client import RasaUnavailable, UnaddressableConversation
from bot.handoff import Availability
from bot.privacy import mask_text
from bot.queue_wait import OfflineNotices, QueueWaits

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


async def tell_if_no_agent_left(desk: Desk, notices: OfflineNotices) -> None:
    """Every waiting user is told, once, when no agent is left (last one offline, or hours over)."""
    handoffs = desk.handoffs
    availability = await asyncio.to_thread(handoffs.availability)
    waiting = await asyncio.to_thread(QueueWaits(handoffs.db, handoffs.clock).waiting_conversations)
    due = notices.due(availability is Availability.OPEN, waiting)
    if due:
        text = replies.no_agent_left(availability is Availability.OUTSIDE_HOURS, handoffs.hours.describe())
        log.info("no agent left: telling %d waiting users", len(due))
    for conversation_id in due:
        await _tell(desk, conversation_id, text)
        notices.sent(conversation_id)  # after telling: an unreachable Rasa leaves it due


async def housekeeping(desk: Desk) -> None:
    """Idle conversations back to the queue; waiting users told when their place improves or no agent is left."""
    notices = OfflineNotices()
    while True:
        try:
            for row in await asyncio.to_thread(desk.handoffs.requeue_idle):
                log.info("handoff %s idle, back in the queue", row["id"])
                await _tell(desk, row["conversation_id"], replies.REQUEUED_NOTICE)
            for update in await asyncio.to_thread(desk.handoffs.position_updates):
                await _tell(desk, update.conversation_id, replies.queue_update(update.position))
            # Last: Rasa unreachable must not hold up the hand-backs above.
            await tell_if_no_agent_left(desk, notices)
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
