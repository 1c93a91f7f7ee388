"""One held conversation: its page, case and transcript, delivery failures, replies, hand-back and close."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot import replies, risk
from bot.channels.wechat.failures import recent_delivery_failures
from bot.desk import casework, review
from bot.desk.context import agent_tag, desk_of, error, refused_conversation
from bot.desk.rasa_client import RasaUnavailable, UnaddressableConversation
from bot.desk.transcript import transcript
from bot.handoff import ClaimError
from bot.privacy import mask_text
from bot.satisfaction import handoff_rating_events
from bot.taxonomy import Taxonomy

log = logging.getLogger(__name__)

THREAT_WITHOUT_TICKET = (
    "该会话中用户提到了投诉升级（媒体、诉讼或监管），但还没有工单。" "结束前请先创建工单；确定不建工单直接结束吗？"
)
UNADDRESSABLE_FINISH = (
    "该会话的编号含有机器人接口无法识别的字符：已在工作台结束，但无法通知用户，"
    "机器人要到用户下次开始对话时才会回复；请通过工单中的联系电话联系用户"
)


async def held(request: Request, request_id: int) -> Dict[str, Any]:
    """The conversation if the agent may work on it; ClaimError (403) otherwise."""
    return await asyncio.to_thread(desk_of(request).handoffs.held, request_id, request.ctx.login.agent)


async def conversation_page(request: Request, request_id: int) -> HTTPResponse:
    desk = desk_of(request)
    try:
        await held(request, request_id)
    except ClaimError as exc:
        # A page, not JSON: the agent followed a link.
        refused_conversation(request, exc)
        return desk.page("refused.html", 403, login=request.ctx.login, message=exc.message)
    return desk.page(
        "conversation.html",
        login=request.ctx.login,
        request_id=request_id,
        categories=casework.CATEGORY_CHOICES,
        statuses=casework.STATUS_CHOICES,
        # Read per page: a reviewed change of the taxonomy file shows without a restart.
        sub_reasons=casework.sub_reason_choices(Taxonomy.load(desk.settings.taxonomy_file)),
    )


async def conversation(request: Request, request_id: int) -> HTTPResponse:
    desk = desk_of(request)
    current = await held(request, request_id)
    case = await asyncio.to_thread(casework.case, desk.tickets, current)
    case["handoff"]["mine"] = current["assigned_to"] == request.ctx.login.agent.username
    try:
        case["transcript"] = [line.as_dict() for line in transcript(await desk.rasa.events(current["conversation_id"]))]
    except UnaddressableConversation as exc:
        case["transcript"], case["warning"] = [], exc.message
    except RasaUnavailable:
        case["transcript"], case["warning"] = [], "暂时无法读取对话记录，请稍后刷新"
    return response.json(case)


async def failures(request: Request, request_id: int) -> HTTPResponse:
    """Messages the channel could not deliver (e.g. WeChat's 48-hour window)."""
    desk = desk_of(request)
    current = await held(request, request_id)
    rows = await asyncio.to_thread(recent_delivery_failures, desk.db, 20, current["conversation_id"])
    return response.json(
        {"failures": [{"at": row["at"], "code": row["code"], "message": row["message"]} for row in rows]}
    )


async def mark_unclear(request: Request, request_id: int) -> HTTPResponse:
    """标记为未理解: a user message of this conversation goes to /review (its holder, or a supervisor)."""
    current = await held(request, request_id)
    return await review.mark(request, current["conversation_id"], request_id)


async def reply(request: Request, request_id: int) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    text = casework.message_text(request.json)
    if text.error:
        return error(400, text.error)
    assert text.value is not None  # message_text() sets the value when there is no error
    current = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
    try:
        await desk.rasa.say(current["conversation_id"], text.value, agent_tag(agent))
    except UnaddressableConversation as exc:
        log.warning(
            "reply of %s in handoff %s not sent: conversation id %r not addressable",
            agent.username,
            request_id,
            mask_text(current["conversation_id"]),
        )
        return error(422, exc.message)
    except RasaUnavailable:
        return error(502, "消息未能发送，请稍后重试")
    return response.json({"ok": True})


async def _finish(request: Request, request_id: int, outcome: str, farewell: str) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    current = await held(request, request_id)
    warning = None
    try:
        # Rasa first: if it cannot resume, the agent still holds the conversation.
        # …and asks the user to rate the conversation that ended (actions/satisfaction.py).
        await desk.rasa.resume(current["conversation_id"], farewell, handoff_rating_events(request_id))
    except UnaddressableConversation:
        # Rasa can never be reached for it: ended here all the same, or it would
        # come back to the queue forever. The bot answers again from the user's
        # next session (action_session_start does not pause an ended handoff).
        warning = UNADDRESSABLE_FINISH
    except RasaUnavailable:
        return error(502, "机器人暂时无法接回会话，请稍后重试")
    await asyncio.to_thread(desk.handoffs.finish, request_id, agent, outcome)
    log.info(
        "agent %s ended handoff %s: %s%s",
        agent.username,
        request_id,
        outcome,
        " (the user could not be told: conversation id not addressable)" if warning else "",
    )
    if warning:
        return response.json({"ok": True, "url": "/", "warning": warning})
    return response.json({"ok": True, "url": "/"})


async def hand_back(request: Request, request_id: int) -> HTTPResponse:
    return await _finish(request, request_id, "released", replies.HAND_BACK_FAREWELL)


async def close(request: Request, request_id: int) -> HTTPResponse:
    """A threat (the handoff's reason or a risk flag in what the user wrote) without a ticket is closed only
    once the agent confirmed it, having been warned."""
    body = request.json
    if not (isinstance(body, dict) and body.get("confirm_threat") is True):
        current = await held(request, request_id)
        if not current.get("ticket_no") and (
            current["reason"] == "escalation_threat"
            or risk.detect(await desk_of(request).rasa.heard(current["conversation_id"]))
        ):
            return response.json({"error": THREAT_WITHOUT_TICKET, "confirm": "confirm_threat"}, status=409)
    return await _finish(request, request_id, "closed", replies.CLOSE_FAREWELL)


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("conversations")
    bp.get("/conversations/<request_id:handoff_id>")(conversation_page)
    bp.get("/api/handoffs/<request_id:handoff_id>")(conversation)
    bp.get("/api/handoffs/<request_id:handoff_id>/failures")(failures)
    bp.post("/api/handoffs/<request_id:handoff_id>/messages")(reply)
    bp.post("/api/handoffs/<request_id:handoff_id>/unclear")(mark_unclear)
    bp.post("/api/handoffs/<request_id:handoff_id>/handback")(hand_back)
    bp.post("/api/handoffs/<request_id:handoff_id>/close")(close)
    return bp
