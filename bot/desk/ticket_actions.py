"""What an agent does to one ticket: claim, assign, work each step, deadlines, callbacks, notes, the phone number."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.desk import ticket_work
from bot.desk.context import desk_of

log = logging.getLogger(__name__)

# Path under /api/tickets/<ticket_no>/ → the ticket_work action it runs (all POST, all need the CSRF token).
ACTIONS = {
    "claim": "claim",
    "assign": "assign",
    "release": "release",
    "subject-staff": "subject_staff",
    "advance": "advance",
    "content": "record",
    "follow-up-question": "follow_up_question",
    "withdraw": "withdraw",
    "reopen": "reopen",
    "complex": "mark_complex",
    "extension": "extension",
    "extension/approve": "approve_extension",
    "extension/reject": "reject_extension",
    "pauses": "start_pause",
    "pauses/end": "end_pause",
    "notes": "add_note",
    "call-attempts": "call_attempt",
    "convert": "convert",
    "phone": "reveal_phone",
    "typical-case": "typical_case",
    "typical-case/remove": "untypical_case",
    "malicious": "malicious",
    "malicious/remove": "unmalicious",
}


def _handler(action: str) -> Callable[..., Coroutine[Any, Any, HTTPResponse]]:
    async def handle(request: Request, number: str) -> HTTPResponse:
        desk, agent = desk_of(request), request.ctx.login.agent
        body: Any = request.json if request.body else {}
        result = await asyncio.to_thread(ticket_work.act, desk, agent, number, action, body)
        log.info("agent %s: %s on ticket %s", agent.username, action, number)
        return response.json(result)

    return handle


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("ticket_actions")
    for path, action in ACTIONS.items():
        bp.add_route(_handler(action), f"/api/tickets/<number:ticket_no>/{path}", methods=["POST"], name=action)
    return bp
