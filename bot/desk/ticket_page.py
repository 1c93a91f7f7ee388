"""One ticket: its page, everything recorded on it, and the transcript of the conversation it came from."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from typing import List, Tuple

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.agents import AgentAccount
from bot.callbacks import OUTCOME_LABELS as CALL_OUTCOME_LABELS
from bot.desk import casefile, ticket_forms
from bot.desk.casefile import TicketHidden
from bot.desk.context import desk_of
from bot.desk.rasa_client import RasaUnavailable, UnaddressableConversation
from bot.desk.transcript import transcript
from bot.step_content import OUTCOME_LABELS
from bot.tickets import CATEGORY_LABELS
from bot.timekeeping import PAUSE_KINDS

# Ticket numbers in URLs: TS, the local date, a six-digit sequence; anything else is a 404.
TICKET_NO = re.compile(r"^TS[0-9]{14}$")


def ticket_no(text: str) -> str:
    """Route parameter type: raises ValueError (no route matches) for anything but a ticket number."""
    if not TICKET_NO.match(text):
        raise ValueError(text)
    return text


def _by_name(accounts: List[AgentAccount]) -> List[Tuple[str, str]]:
    """(username, what the choice shows): the display name, with the username when two share a name."""
    shared = Counter(account.display_name for account in accounts)
    return [
        (a.username, a.display_name if shared[a.display_name] == 1 else f"{a.display_name}（{a.username}）")
        for a in accounts
    ]


async def ticket_page(request: Request, number: str) -> HTTPResponse:
    desk, login = desk_of(request), request.ctx.login
    try:
        await asyncio.to_thread(casefile.ticket, desk, login.agent, number)
    except TicketHidden as exc:
        return desk.page("refused.html", 404, login=login, message=exc.message)
    # People are chosen by display name (assignee, person complained about); the value is the username,
    # validated by the server.
    people = _by_name(await asyncio.to_thread(desk.agents.handlers))
    return desk.page(
        "ticket.html",
        login=login,
        ticket_no=number,
        outcomes=OUTCOME_LABELS,
        call_outcomes=CALL_OUTCOME_LABELS,
        root_causes=list(desk.lifecycle.root_causes.labels.items()),  # read once, when the desk starts
        max_extension=desk.settings.max_extension_days,
        complex_days=desk.settings.complex_deadline_days,
        pause_kinds=PAUSE_KINDS,
        categories=CATEGORY_LABELS,
        assignees=people if login.agent.is_supervisor else [],
        staff=people,
    )


async def ticket_detail(request: Request, number: str) -> HTTPResponse:
    desk = desk_of(request)
    return response.json(await asyncio.to_thread(casefile.ticket, desk, request.ctx.login.agent, number))


async def ticket_transcript(request: Request, number: str) -> HTTPResponse:
    """The conversation the ticket came from, read-only; empty when there is none."""
    desk = desk_of(request)
    data = await asyncio.to_thread(casefile.ticket, desk, request.ctx.login.agent, number)
    conversation_id = data.get("conversation_id")
    if not conversation_id:
        return response.json({"transcript": []})
    try:
        lines = transcript(await desk.rasa.events(conversation_id))
    except UnaddressableConversation as exc:
        return response.json({"transcript": [], "warning": exc.message})
    except RasaUnavailable:
        return response.json({"transcript": [], "warning": "暂时无法读取对话记录，请稍后刷新"})
    return response.json({"transcript": [line.as_dict() for line in lines]})


async def ticket_changes(request: Request) -> HTTPResponse:
    """Audit entries of every ticket the caller may see, oldest first, after a cursor (for other systems)."""
    query = ticket_forms.changes_query(request.args)
    desk = desk_of(request)
    return response.json(await asyncio.to_thread(casefile.changes, desk, request.ctx.login.agent, *query))


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("ticket_page")
    bp.get("/tickets/<number:ticket_no>")(ticket_page)
    bp.get("/api/tickets/<number:ticket_no>")(ticket_detail)
    bp.get("/api/tickets/<number:ticket_no>/transcript")(ticket_transcript)
    bp.get("/api/ticket-changes")(ticket_changes)
    return bp
