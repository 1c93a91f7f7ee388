"""The ticket workspace: the /tickets page and the paginated, filtered ticket list behind it."""

from __future__ import annotations

import asyncio

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.desk import casefile
from bot.desk.context import desk_of
from bot.desk.ticket_query import ASSIGNEE_CHOICES, PAGE_SIZES, SORT_LABELS, list_query
from bot.desk.ticket_views import (
    CHANNEL_LABELS,
    DUE_STATE_LABELS,
    KIND_LABELS,
    RISK_FLAG_LABELS,
    STATUS_LABELS,
)
from bot.tickets import CATEGORY_LABELS


async def tickets_page(request: Request) -> HTTPResponse:
    channels = {key: label for key, label in CHANNEL_LABELS.items() if key != "socketio"}
    return desk_of(request).page(
        "tickets.html",
        login=request.ctx.login,
        statuses=STATUS_LABELS,
        categories=CATEGORY_LABELS,
        kinds=KIND_LABELS,
        channels=channels,
        assignees=ASSIGNEE_CHOICES,
        due_states=DUE_STATE_LABELS,
        flags=RISK_FLAG_LABELS,
        sorts=SORT_LABELS,
        page_sizes=PAGE_SIZES,
    )


async def ticket_list(request: Request) -> HTTPResponse:
    query = list_query(request.args)
    desk = desk_of(request)
    return response.json(await asyncio.to_thread(casefile.ticket_list, desk, request.ctx.login.agent, query))


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("workspace")
    bp.get("/tickets")(tickets_page)
    bp.get("/api/tickets")(ticket_list)
    return bp
