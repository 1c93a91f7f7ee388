"""The ticket of a held conversation: create it, change it, annotate it, reveal the phone number."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.agents import AgentAccount
from bot.desk import casework
from bot.desk.context import Desk, desk_of
from bot.taxonomy import Taxonomy


async def _ticket_action(
    request: Request, request_id: int, work: Callable[[Desk, Dict[str, Any], AgentAccount], Any]
) -> HTTPResponse:
    # touch, not held: working the ticket counts as activity, so the conversation is not requeued as idle.
    desk, agent = desk_of(request), request.ctx.login.agent
    held = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
    return response.json(await asyncio.to_thread(work, desk, held, agent))


async def create_ticket(request: Request, request_id: int) -> HTTPResponse:
    """The ticket, with its acknowledgement (the bot's confirmation: number, deadline, masked phone, contact
    promise, and the number remembered as last_ticket_no) queued in the same transaction; the notice
    sender delivers it, so it is not lost when Rasa is down."""
    desk, agent = desk_of(request), request.ctx.login.agent
    held = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
    heard = await desk.rasa.heard(held["conversation_id"])
    ticket = await asyncio.to_thread(
        casework.create_ticket, desk.tickets, desk.handoffs, desk.ownership, held, agent, request.json, heard
    )
    return response.json(ticket)


async def change_ticket(request: Request, request_id: int) -> HTTPResponse:
    body = request.json
    return await _ticket_action(
        request,
        request_id,
        lambda desk, held, agent: casework.change_ticket(
            desk.tickets, held, agent, body, Taxonomy.load(desk.settings.taxonomy_file)
        ),
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
