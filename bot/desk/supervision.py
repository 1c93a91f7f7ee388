"""A supervisor on a live conversation: whispers to the holding agent, taking over, reassigning."""

from __future__ import annotations

import asyncio
import logging

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot import replies
from bot.desk import fields
from bot.desk.context import agent_tag, desk_of
from bot.desk.rasa_client import RasaUnavailable
from bot.handoff import ClaimError
from bot.supervision import MAX_WHISPER, SUPERVISORS_ONLY, Handover

log = logging.getLogger(__name__)

NOT_TOLD = "已转交，但未能通知用户由谁继续服务，请在回复中说明"


async def whispers(request: Request, request_id: int) -> HTTPResponse:
    desk = desk_of(request)
    rows = await asyncio.to_thread(desk.supervision.whispers, request_id, request.ctx.login.agent)
    return response.json({"whispers": rows})


async def whisper(request: Request, request_id: int) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    body = fields.text(request.json, "text", MAX_WHISPER, label="内部消息")
    row = await asyncio.to_thread(desk.supervision.whisper, request_id, agent, body)
    log.info("supervisor %s whispered in handoff %s", agent.username, request_id)
    return response.json(row)


async def _tell(request: Request, request_id: int, handover: Handover, text: str) -> HTTPResponse:
    """The policyholder is told who speaks now, in the name of the one who moved the conversation."""
    desk, agent = desk_of(request), request.ctx.login.agent
    log.info("supervisor %s moved handoff %s to %s", agent.username, request_id, handover.current)
    try:
        await desk.rasa.say(handover.conversation_id, text, agent_tag(agent))
    except RasaUnavailable:  # the move stands: the conversation must not have two holders
        return response.json({"ok": True, "warning": NOT_TOLD, "holder": handover.current})
    return response.json({"ok": True, "holder": handover.current})


async def take_over(request: Request, request_id: int) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    handover = await asyncio.to_thread(desk.supervision.take_over, request_id, agent)
    return await _tell(request, request_id, handover, replies.supervisor_takeover(agent.display_name))


async def reassign(request: Request, request_id: int) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    username = fields.text(request.json, "agent", 64, label="坐席")
    handover = await asyncio.to_thread(desk.supervision.reassign, request_id, agent, username)
    return await _tell(request, request_id, handover, replies.agent_reassigned(handover.current))


async def agents(request: Request) -> HTTPResponse:
    """Active accounts a supervisor can hand a conversation to, by display name."""
    desk = desk_of(request)
    if not request.ctx.login.agent.is_supervisor:
        raise ClaimError(SUPERVISORS_ONLY)
    accounts = await asyncio.to_thread(desk.agents.handlers)
    return response.json(
        {"agents": [{"username": account.username, "name": account.display_name} for account in accounts]}
    )


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("supervision")
    bp.get("/api/handoffs/<request_id:handoff_id>/whispers")(whispers)
    bp.post("/api/handoffs/<request_id:handoff_id>/whispers")(whisper)
    bp.post("/api/handoffs/<request_id:handoff_id>/takeover")(take_over)
    bp.post("/api/handoffs/<request_id:handoff_id>/reassign")(reassign)
    bp.get("/api/agents")(agents)
    return bp
