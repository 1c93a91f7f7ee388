"""The ticket of a held conversation: create it, change it, annotate it, reveal the phone number."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any, Callable, Dict

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot import replies
from bot.agents import AgentAccount
from bot.desk import casework
from bot.desk.context import Desk, agent_tag, desk_of
from bot.desk.rasa_client import RasaUnavailable

log = logging.getLogger(__name__)

NOT_TOLD = "工单已创建，但未能发送给用户：请在回复中告诉用户投诉编号和办结期限"


async def _ticket_action(
    request: Request, request_id: int, work: Callable[[Desk, Dict[str, Any], AgentAccount], Any]
) -> HTTPResponse:
    # touch, not held: working the ticket counts as activity, so the conversation is not requeued as idle.
    desk, agent = desk_of(request), request.ctx.login.agent
    held = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
    return response.json(await asyncio.to_thread(work, desk, held, agent))


async def create_ticket(request: Request, request_id: int) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    held = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
    heard = await desk.rasa.heard(held["conversation_id"])
    ticket = await asyncio.to_thread(
        casework.create_ticket, desk.tickets, desk.handoffs, desk.ownership, held, agent, request.json, heard
    )
    if not await _confirm(desk, held["conversation_id"], ticket, agent):
        ticket["warning"] = NOT_TOLD
    return response.json(ticket)


async def _confirm(desk: Desk, conversation_id: str, ticket: Dict[str, Any], agent: AgentAccount) -> bool:
    """The policyholder gets the bot's confirmation (number, deadline, masked phone, contact promise), and the
    bot remembers the number (last_ticket_no) for "我的投诉编号是多少"; False when it could not be sent."""
    text = replies.desk_ticket_created(
        ticket["ticket_no"],
        date.fromisoformat(str(ticket["deadline"])[:10]),
        desk.settings.handling_days,
        desk.settings.contact_promise,
        ticket["phone_masked"],
    )
    try:
        await desk.rasa.append(
            conversation_id,
            [
                {"event": "slot", "name": "last_ticket_no", "value": ticket["ticket_no"]},
                {"event": "bot", "text": text, "metadata": {"agent": agent_tag(agent)}},
            ],
        )
    except RasaUnavailable:  # UnaddressableConversation too
        log.warning("confirmation of ticket %s not delivered", ticket["ticket_no"])
        return False
    return True


async def change_ticket(request: Request, request_id: int) -> HTTPResponse:
    body = request.json
    return await _ticket_action(
        request, request_id, lambda desk, held, agent: casework.change_ticket(desk.tickets, held, agent, body)
    )


async def add_note(request: Request, request_id: int) -> HTTPResponse:
    body = request.json
    return await _ticket_action(
        request, request_id, lambda desk, held, agent: casework.add_note(desk.tickets, held, agent, body)
    )


async def reveal_phone(request: Request, request_id: int) -> HTTPResponse:
    return await _ticket_action(
        request, request_id, lambda desk, held, agent: casework.reveal_phone(desk.tickets, held, agent)
    )


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("tickets")
    bp.post("/api/handoffs/<request_id:handoff_id>/ticket")(create_ticket)
    bp.post("/api/handoffs/<request_id:handoff_id>/ticket/changes")(change_ticket)
    bp.post("/api/handoffs/<request_id:handoff_id>/ticket/notes")(add_note)
    bp.post("/api/handoffs/<request_id:handoff_id>/ticket/phone")(reveal_phone)
    return bp
