"""Live streams (server-sent events) of the queue and of a conversation, ended when the login or the right goes."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from bot.desk import casework
from bot.desk.context import Desk, desk_of, error
from bot.desk.conversations import held
from bot.desk.rasa_client import RasaUnavailable
from bot.desk.transcript import transcript
from bot.handoff import ClaimError

log = logging.getLogger(__name__)

# The transcript cursor of a live stream: -1 (from the start) up to a tracker's length.
CURSOR = re.compile(r"^(-1|0|[1-9][0-9]{0,8})$")
KEEP_ALIVE = 20.0  # seconds between comments that keep proxies from closing an idle stream


@dataclass(frozen=True)
class Refusal:
    """Why a live stream must end, for the agent (Chinese), and where the page should go."""

    error: str
    url: str


def may_follow(desk: Desk, token: str, request_id: Optional[int]) -> Optional[Refusal]:
    """None while the session lives and, for one conversation, its agent may still work on it."""
    login = desk.agents.resolve(token, mark_seen=False)
    if login is None:
        return Refusal("登录已失效，请重新登录", "/login")
    if request_id is not None:
        try:
            desk.handoffs.held(request_id, login.agent)
        except ClaimError as exc:
            return Refusal(exc.message, "/")
    return None


async def stream(
    request: Request,
    produce: Callable[[], Awaitable[Any]],
    refusal: Callable[[], Awaitable[Optional[Refusal]]],
    tick: Optional[Callable[[], Awaitable[None]]],
    only_changes: bool = True,
    interval: float = 1.0,
) -> None:
    """Server-sent events: `produce()` every interval, sent when new (or changed), until `refusal()`."""
    # The login and the right to what is streamed are checked before every delivery: a logout,
    # deactivation, close or reassignment ends the stream with an `end` event, not later.
    events = await request.respond(
        content_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    last, beat = None, 0.0
    try:
        while True:
            data = await produce()
            ended = await refusal()
            if ended is not None:
                log.info("live stream %s ended: %s", request.path, ended.error)
                await events.send(
                    "event: end\ndata: "
                    + json.dumps({"error": ended.error, "url": ended.url}, ensure_ascii=False)
                    + "\n\n"
                )
                return
            payload = json.dumps(data, ensure_ascii=False) if data is not None else None
            if payload is not None and (payload != last or not only_changes):
                await events.send(f"data: {payload}\n\n")
                last = payload
            if time.monotonic() - beat > KEEP_ALIVE:
                beat = time.monotonic()
                await events.send(": keep-alive\n\n")
                if tick is not None:
                    await tick()
            await asyncio.sleep(interval)
    except (asyncio.CancelledError, ConnectionError):
        pass


async def queue_stream(request: Request) -> None:
    desk, agent, token = desk_of(request), request.ctx.login.agent, request.ctx.login.token

    async def snapshot() -> Any:
        return await asyncio.to_thread(casework.board, desk.handoffs, agent)

    async def keep_online() -> None:
        # An open queue page keeps the agent counted online, so waiting users are not offered only a message.
        await asyncio.to_thread(desk.agents.seen, agent.id)

    async def refusal() -> Optional[Refusal]:
        return await asyncio.to_thread(may_follow, desk, token, None)

    await stream(request, snapshot, refusal, keep_online)


async def conversation_stream(request: Request, request_id: int) -> Optional[HTTPResponse]:
    desk = desk_of(request)
    current = await held(request, request_id)
    after = request.args.get("after", "-1")
    if not CURSOR.match(after):
        return error(400, "请求参数无效")
    cursor = {"after": int(after)}

    async def new_lines() -> Any:
        try:
            lines = transcript(await desk.rasa.events(current["conversation_id"]), cursor["after"])
        except RasaUnavailable:
            return None
        if lines:
            cursor["after"] = lines[-1].seq
        return [line.as_dict() for line in lines] or None

    async def refusal() -> Optional[Refusal]:
        return await asyncio.to_thread(may_follow, desk, request.ctx.login.token, request_id)

    await stream(request, new_lines, refusal, None, only_changes=False)
    return None


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("streams")
    bp.get("/api/queue/stream")(queue_stream)
    bp.get("/api/handoffs/<request_id:handoff_id>/stream")(conversation_stream)
    return bp
