"""The ticket workspace: the /tickets page and the paginated, filtered ticket list behind it."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Mapping

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.desk import casefile
from bot.desk.context import desk_of
from bot.desk.ticket_views import CHANNEL_LABELS, DUE_STATE_LABELS, STATUS_LABELS
from bot.risk import RISK_FLAG_LABELS
from bot.tickets import CATEGORY_LABELS
from bot.workspace import KIND_LABELS, TicketFilter

ASSIGNEE_LABELS = {"anyone": "全部", "mine": "我的", "unassigned": "未分派"}
SORT_LABELS = {"deadline": "办结期限（超期在前）", "received": "受理时间（最新在前）", "priority": "优先级"}
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = "20"


def first_values(args: Mapping[str, Any]) -> Dict[str, Any]:
    """A query string as one value per name (a repeated name counts once)."""
    return {name: values[0] if isinstance(values, list) else values for name, values in args.items()}


async def tickets_page(request: Request) -> HTTPResponse:
    return desk_of(request).page(
        "tickets.html",
        login=request.ctx.login,
        statuses=STATUS_LABELS,
        categories=CATEGORY_LABELS,
        kinds=KIND_LABELS,
        channels={key: label for key, label in CHANNEL_LABELS.items() if key != "socketio"},
        assignees=ASSIGNEE_LABELS,
        deadline_states=DUE_STATE_LABELS,
        flags=RISK_FLAG_LABELS,
        sorts=SORT_LABELS,
        page_sizes=PAGE_SIZES,
    )


async def ticket_list(request: Request) -> HTTPResponse:
    # InvalidFilter (a ValueError with the Chinese reason) answers 400 (bot/desk/errors.py).
    query = TicketFilter.from_query({"page_size": DEFAULT_PAGE_SIZE, **first_values(request.args)})
    desk = desk_of(request)
    return response.json(await asyncio.to_thread(casefile.ticket_list, desk, request.ctx.login.agent, query))


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("workspace")
    bp.get("/tickets")(tickets_page)
    bp.get("/api/tickets")(ticket_list)
    return bp
