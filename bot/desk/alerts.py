"""Supervisor alerts: the /alerts page, the list, acknowledging one, and the live badge (server-sent events)."""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.desk import casefile
from bot.desk.context import desk_of, error
from bot.desk.streams import Refusal, may_follow, stream

SUPERVISORS_ONLY = "仅主管可以查看提醒"
STREAM_INTERVAL = 3.0  # seconds between checks of the alert count


async def alerts_page(request: Request) -> HTTPResponse:
    desk, login = desk_of(request), request.ctx.login
    if not login.agent.is_supervisor:
        return desk.page("refused.html", 403, login=login, message=SUPERVISORS_ONLY)
    return desk.page("alerts.html", login=login)


async def alert_list(request: Request) -> HTTPResponse:
    if not request.ctx.login.agent.is_supervisor:
        return error(403, SUPERVISORS_ONLY)
    return response.json(await asyncio.to_thread(casefile.alert_snapshot, desk_of(request), request.ctx.login.agent))


async def acknowledge(request: Request, alert_id: int) -> HTTPResponse:
    agent = request.ctx.login.agent
    if not agent.is_supervisor:
        return error(403, SUPERVISORS_ONLY)
    await asyncio.to_thread(casefile.acknowledge_alert, desk_of(request), agent, alert_id)
    return response.json({"ok": True})


async def alert_stream(request: Request) -> Optional[HTTPResponse]:
    desk, login = desk_of(request), request.ctx.login
    if not login.agent.is_supervisor:
        return error(403, SUPERVISORS_ONLY)

    async def snapshot() -> Any:
        return await asyncio.to_thread(casefile.alert_snapshot, desk, login.agent)

    async def refusal() -> Optional[Refusal]:
        return await asyncio.to_thread(may_follow, desk, login.token, None)

    await stream(request, snapshot, refusal, None, interval=STREAM_INTERVAL)
    return None


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("alerts")
    bp.get("/alerts")(alerts_page)
    bp.get("/api/alerts")(alert_list)
    bp.get("/api/alerts/stream")(alert_stream)
    bp.post("/api/alerts/<alert_id:handoff_id>/acknowledge")(acknowledge)
    return bp
