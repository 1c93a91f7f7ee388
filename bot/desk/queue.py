"""The queue: its page, the waiting and held conversations, and claiming one."""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot import replies
from bot.desk import casework
from bot.desk.context import agent_tag, desk_of, error
from bot.desk.rasa_client import RasaUnavailable
from bot.handoff import ClaimError

log = logging.getLogger(__name__)


async def queue_page(request: Request) -> HTTPResponse:
    return desk_of(request).page("queue.html", login=request.ctx.login)


async def queue(request: Request) -> HTTPResponse:
    desk = desk_of(request)
    return response.json(await asyncio.to_thread(casework.board, desk.handoffs, request.ctx.login.agent))


async def claim(request: Request, request_id: int) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    try:
        held = await asyncio.to_thread(desk.handoffs.claim, request_id, agent)
    except ClaimError as exc:
        # Taken by someone else, ended or gone: a conflict the page shows, not a refusal to log.
        return error(409, exc.message)
    log.info("agent %s claimed handoff %s", agent.username, request_id)
    try:
        await desk.rasa.say(held["conversation_id"], replies.agent_greeting(agent.display_name), agent_tag(agent))
    except RasaUnavailable:
        log.warning("greeting for handoff %s not delivered", request_id)
    return response.json({"ok": True, "url": f"/conversations/{request_id}"})


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("queue")
    bp.get("/")(queue_page)
    bp.get("/api/queue")(queue)
    bp.post("/api/handoffs/<request_id:handoff_id>/claim")(claim)
    return bp
