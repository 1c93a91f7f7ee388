"""The desk's web application (Sanic, which ships with Rasa).

Pages are server-rendered shells (Jinja2, autoescaped); live data comes as JSON
and server-sent events and is put on the page with textContent only. Every
route but /login needs a session cookie; every state change needs the
session's CSRF token in the X-CSRF-Token header.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, Sanic, response
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse

from bot.agents import AgentAccount, AgentService, LoginAttempt
from bot.channels import rate_limit
from bot.channels.wechat.failures import recent_delivery_failures
from bot.db import Database
from bot.desk import casework
from bot.desk.security import (
    ADDRESS_LOCKED_MESSAGE,
    BUSY_MESSAGE,
    FailedLogins,
    LoginBusy,
    PasswordChecks,
    RefusalLog,
)
from bot.desk.transcript import transcript
from bot.handoff import ClaimError, HandoffService
from bot.privacy import mask_text
from bot.desk.rasa_client import RasaConversations, RasaUnavailable, UnaddressableConversation
from bot.settings import Settings
from bot.tickets import TicketService

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
COOKIE = "desk_session"
MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PUBLIC_PATHS = ("/login", "/static/", "/health")
# Handoff ids in URLs: canonical decimal within PostgreSQL's integer, anything
# else is a 404 before it reaches the database.
HANDOFF_ID = re.compile(r"^[1-9][0-9]{0,9}$")
MAX_HANDOFF_ID = 2**31 - 1
MAX_TOKEN = 128
# The transcript cursor of a live stream: -1 (from the start) up to a tracker's length.
CURSOR = re.compile(r"^(-1|0|[1-9][0-9]{0,8})$")


def _handoff_id(text: str) -> int:
    """Route parameter type: raises ValueError (no route matches) for anything but a storable id."""
    if not HANDOFF_ID.match(text) or int(text) > MAX_HANDOFF_ID:
        raise ValueError(text)
    return int(text)


@dataclass
class Desk:
    settings: Settings
    db: Database
    agents: AgentService
    handoffs: HandoffService
    tickets: TicketService
    rasa: RasaConversations
    pages: Environment
    trusted_proxies: Tuple[rate_limit.Network, ...] = ()
    failed_logins: FailedLogins = field(default_factory=FailedLogins)
    password_checks: PasswordChecks = field(default_factory=PasswordChecks)
    refusals: RefusalLog = field(default_factory=RefusalLog)

    @classmethod
    def build(cls, settings: Settings) -> "Desk":
        db = Database(settings.database_url)
        return cls(
            settings=settings, db=db, agents=AgentService(db),
            handoffs=HandoffService(db, settings), tickets=TicketService(db, settings),
            rasa=RasaConversations(settings),
            trusted_proxies=rate_limit.parse_networks(settings.trusted_proxies, "TRUSTED_PROXIES"),
            pages=Environment(loader=FileSystemLoader(HERE / "templates"),
                              autoescape=select_autoescape(["html"])),
        )

    def page(self, name: str, status: int = 200, **context: Any) -> HTTPResponse:
        return response.html(self.pages.get_template(name).render(**context), status=status)


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def client_address(request: Request) -> str:
    """The client's address as the channels count it: the connection's, or what a proxy in
    TRUSTED_PROXIES forwarded; IPv6 per /64."""
    desk: Desk = request.app.ctx.desk
    return rate_limit.bucket_key(rate_limit.client_address(
        request.ip, request.headers.get("x-forwarded-for"), desk.trusted_proxies))


def create_app(settings: Settings, name: str = "desk") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.RESPONSE_TIMEOUT = 3600  # event streams stay open
    app.ctx.desk = Desk.build(settings)
    app.router.register_pattern("handoff_id", _handoff_id, HANDOFF_ID.pattern)
    app.static("/static", str(HERE / "static"), name="static")

    def desk_of(request: Request) -> Desk:
        return request.app.ctx.desk

    @app.on_request
    async def authenticate(request: Request) -> Optional[HTTPResponse]:
        request.ctx.login = None
        if request.path.startswith(PUBLIC_PATHS):
            return None
        token = request.cookies.get(COOKIE, "")
        login = await asyncio.to_thread(desk_of(request).agents.resolve, token) if token else None
        if login is None:
            if request.path.startswith("/api/") or request.method != "GET":
                desk_of(request).refusals.refused(401, "request without a valid session", client_address(request),
                                                  f"{request.method} {request.path!r}")
                return _error(401, "请先登录")
            return response.redirect("/login")
        if request.method not in ("GET", "HEAD"):
            # Header values arrive surrogate-escaped when they are not UTF-8: only a
            # short ASCII token can be compared.
            sent = request.headers.get("x-csrf-token", "")
            if not (sent.isascii() and len(sent) <= MAX_TOKEN
                    and hmac.compare_digest(sent.encode(), login.csrf_token.encode())):
                desk_of(request).refusals.refused(403, "request with a wrong CSRF token", client_address(request),
                                                  f"{request.method} {request.path!r} by {login.agent.username}")
                return _error(403, "页面已过期，请刷新后重试")
        request.ctx.login = login
        return None

    @app.on_response
    async def harden(request: Request, resp: HTTPResponse) -> None:
        for key, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(key, value)

    @app.exception(SanicException)
    async def known_errors(request: Request, exc: SanicException) -> HTTPResponse:
        status = getattr(exc, "status_code", 500) or 500
        messages = {404: "页面不存在", 405: "不支持的请求", 413: "内容过长"}
        return _error(status, messages.get(status, "请求无效"))

    @app.exception(ClaimError)
    async def not_yours(request: Request, exc: ClaimError) -> HTTPResponse:
        _refused_conversation(request, exc)
        return _error(403, exc.message)

    @app.exception(casework.InvalidInput)
    async def invalid(request: Request, exc: casework.InvalidInput) -> HTTPResponse:
        return _error(400, str(exc))

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    # -- login ----------------------------------------------------------------

    @app.get("/login")
    async def login_page(request: Request) -> HTTPResponse:
        return desk_of(request).page("login.html", error=None)

    @app.post("/login")
    async def login(request: Request) -> HTTPResponse:
        desk = desk_of(request)
        # The login form has no session yet: a same-origin check stops cross-site posts.
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.host:
            desk.refusals.refused(403, "login from another origin", client_address(request), f"{origin[:200]!r}")
            return _error(403, "请求来源无效")
        username = (request.form.get("username") or "").strip().lower()[:64]
        password = (request.form.get("password") or "")[:256]
        address = client_address(request)
        refusal = desk.failed_logins.refusal(username, address)
        if refusal is not None:
            desk.refusals.refused(429, "login while locked", address,
                                  "this address" if refusal == ADDRESS_LOCKED_MESSAGE else "this username from there")
            return _too_many(desk, refusal, 900)
        try:
            attempt: LoginAttempt = await desk.password_checks.run(desk.agents.attempt, username, password)
        except LoginBusy:
            desk.refusals.refused(429, "login beyond the password-check queue", address, "too many at once")
            return _too_many(desk, BUSY_MESSAGE, 2)
        session = attempt.session
        if session is None:
            desk.failed_logins.failed(username, address, attempt.account)
            return desk.page("login.html", 401, error="用户名或密码错误")
        desk.failed_logins.succeeded(username, address)
        resp = response.redirect("/")
        resp.cookies[COOKIE] = session.token
        cookie = resp.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Strict"
        cookie["path"] = "/"
        cookie["max-age"] = 12 * 3600
        if desk.settings.desk_secure_cookies:
            cookie["secure"] = True
        return resp

    @app.post("/logout")
    async def logout(request: Request) -> HTTPResponse:
        await asyncio.to_thread(desk_of(request).agents.logout, request.ctx.login.token)
        resp = response.json({"ok": True})
        del resp.cookies[COOKIE]
        return resp

    # -- pages ----------------------------------------------------------------

    @app.get("/")
    async def queue_page(request: Request) -> HTTPResponse:
        return desk_of(request).page("queue.html", login=request.ctx.login)

    @app.get("/conversations/<request_id:handoff_id>")
    async def conversation_page(request: Request, request_id: int) -> HTTPResponse:
        desk = desk_of(request)
        try:
            await asyncio.to_thread(desk.handoffs.held, request_id, request.ctx.login.agent)
        except ClaimError as exc:
            _refused_conversation(request, exc)
            return desk.page("refused.html", 403, login=request.ctx.login, message=exc.message)
        return desk.page("conversation.html", login=request.ctx.login, request_id=request_id,
                         categories=casework.CATEGORY_CHOICES, statuses=casework.STATUS_CHOICES)

    # -- queue ----------------------------------------------------------------

    @app.get("/api/queue")
    async def queue(request: Request) -> HTTPResponse:
        desk = desk_of(request)
        return response.json(await asyncio.to_thread(casework.board, desk.handoffs, request.ctx.login.agent))

    @app.get("/api/queue/stream")
    async def queue_stream(request: Request) -> None:
        desk, agent, token = desk_of(request), request.ctx.login.agent, request.ctx.login.token

        async def snapshot() -> Any:
            return await asyncio.to_thread(casework.board, desk.handoffs, agent)

        async def keep_online() -> None:
            await asyncio.to_thread(desk.agents.seen, agent.id)

        async def refusal() -> Optional[Refusal]:
            return await asyncio.to_thread(_may_follow, desk, token, None)

        await _stream(request, snapshot, refusal, keep_online)

    @app.post("/api/handoffs/<request_id:handoff_id>/claim")
    async def claim(request: Request, request_id: int) -> HTTPResponse:
        desk, agent = desk_of(request), request.ctx.login.agent
        try:
            held = await asyncio.to_thread(desk.handoffs.claim, request_id, agent)
        except ClaimError as exc:
            return _error(409, exc.message)
        log.info("agent %s claimed handoff %s", agent.username, request_id)
        try:
            await desk.rasa.say(held["conversation_id"], f"您好，我是客服{agent.display_name}，"
                                "已为您接入人工服务，请问有什么可以帮您？", _agent_tag(agent))
        except RasaUnavailable:
            log.warning("greeting for handoff %s not delivered", request_id)
        return response.json({"ok": True, "url": f"/conversations/{request_id}"})

    # -- one conversation -----------------------------------------------------

    async def _held(request: Request, request_id: int) -> Dict[str, Any]:
        return await asyncio.to_thread(desk_of(request).handoffs.held, request_id, request.ctx.login.agent)

    @app.get("/api/handoffs/<request_id:handoff_id>")
    async def conversation(request: Request, request_id: int) -> HTTPResponse:
        desk = desk_of(request)
        held = await _held(request, request_id)
        case = await asyncio.to_thread(casework.case, desk.tickets, held)
        try:
            case["transcript"] = [line.as_dict() for line in transcript(await desk.rasa.events(held["conversation_id"]))]
        except UnaddressableConversation as exc:
            case["transcript"], case["warning"] = [], exc.message
        except RasaUnavailable:
            case["transcript"], case["warning"] = [], "暂时无法读取对话记录，请稍后刷新"
        return response.json(case)

    @app.get("/api/handoffs/<request_id:handoff_id>/stream")
    async def conversation_stream(request: Request, request_id: int) -> None:
        desk = desk_of(request)
        held = await _held(request, request_id)
        after = request.args.get("after", "-1")
        if not CURSOR.match(after):
            return _error(400, "请求参数无效")
        cursor = {"after": int(after)}

        async def new_lines() -> Any:
            try:
                lines = transcript(await desk.rasa.events(held["conversation_id"]), cursor["after"])
            except RasaUnavailable:
                return None
            if lines:
                cursor["after"] = lines[-1].seq
            return [line.as_dict() for line in lines] or None

        async def refusal() -> Optional[Refusal]:
            return await asyncio.to_thread(_may_follow, desk, request.ctx.login.token, request_id)

        await _stream(request, new_lines, refusal, None, only_changes=False)

    @app.get("/api/handoffs/<request_id:handoff_id>/failures")
    async def failures(request: Request, request_id: int) -> HTTPResponse:
        """Messages the channel could not deliver (e.g. WeChat's 48-hour window)."""
        desk = desk_of(request)
        held = await _held(request, request_id)
        rows = await asyncio.to_thread(recent_delivery_failures, desk.db, 20, held["conversation_id"])
        return response.json({"failures": [
            {"at": row["at"], "code": row["code"], "message": row["message"]} for row in rows]})

    @app.post("/api/handoffs/<request_id:handoff_id>/messages")
    async def reply(request: Request, request_id: int) -> HTTPResponse:
        desk, agent = desk_of(request), request.ctx.login.agent
        text = casework.message_text(request.json)
        if text.error:
            return _error(400, text.error)
        held = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
        try:
            await desk.rasa.say(held["conversation_id"], text.value, _agent_tag(agent))
        except UnaddressableConversation as exc:
            log.warning("reply of %s in handoff %s not sent: conversation id %r not addressable",
                        agent.username, request_id, mask_text(held["conversation_id"]))
            return _error(422, exc.message)
        except RasaUnavailable:
            return _error(502, "消息未能发送，请稍后重试")
        return response.json({"ok": True})

    async def _finish(request: Request, request_id: int, outcome: str, farewell: str) -> HTTPResponse:
        desk, agent = desk_of(request), request.ctx.login.agent
        held = await _held(request, request_id)
        warning = None
        try:
            # Rasa first: if it cannot resume, the agent still holds the conversation.
            await desk.rasa.resume(held["conversation_id"], farewell)
        except UnaddressableConversation:
            # Rasa can never be reached for it: ended here all the same, or it would
            # come back to the queue forever. The bot answers again from the user's
            # next session (action_session_start does not pause an ended handoff).
            warning = UNADDRESSABLE_FINISH
        except RasaUnavailable:
            return _error(502, "机器人暂时无法接回会话，请稍后重试")
        await asyncio.to_thread(desk.handoffs.finish, request_id, agent, outcome)
        log.info("agent %s ended handoff %s: %s%s", agent.username, request_id, outcome,
                 " (the user could not be told: conversation id not addressable)" if warning else "")
        if warning:
            return response.json({"ok": True, "url": "/", "warning": warning})
        return response.json({"ok": True, "url": "/"})

    @app.post("/api/handoffs/<request_id:handoff_id>/handback")
    async def hand_back(request: Request, request_id: int) -> HTTPResponse:
        return await _finish(request, request_id, "released",
                             "人工客服已结束本次服务，智能助手继续为您服务。还有什么可以帮您？")

    @app.post("/api/handoffs/<request_id:handoff_id>/close")
    async def close(request: Request, request_id: int) -> HTTPResponse:
        return await _finish(request, request_id, "closed",
                             "本次人工服务已结束，感谢您的耐心。如还有问题，可以随时在这里留言。")

    # -- the ticket -----------------------------------------------------------

    async def _ticket_action(request: Request, request_id: int,
                             work: Callable[[Desk, Dict[str, Any], AgentAccount], Any]) -> HTTPResponse:
        desk, agent = desk_of(request), request.ctx.login.agent
        held = await asyncio.to_thread(desk.handoffs.touch, request_id, agent)
        return response.json(await asyncio.to_thread(work, desk, held, agent))

    @app.post("/api/handoffs/<request_id:handoff_id>/ticket")
    async def create_ticket(request: Request, request_id: int) -> HTTPResponse:
        body = request.json
        return await _ticket_action(request, request_id, lambda desk, held, agent: casework.create_ticket(
            desk.tickets, desk.handoffs, held, agent, body))

    @app.post("/api/handoffs/<request_id:handoff_id>/ticket/changes")
    async def change_ticket(request: Request, request_id: int) -> HTTPResponse:
        body = request.json
        return await _ticket_action(request, request_id, lambda desk, held, agent: casework.change_ticket(
            desk.tickets, held, agent, body))

    @app.post("/api/handoffs/<request_id:handoff_id>/ticket/notes")
    async def add_note(request: Request, request_id: int) -> HTTPResponse:
        body = request.json
        return await _ticket_action(request, request_id, lambda desk, held, agent: casework.add_note(
            desk.tickets, held, agent, body))

    @app.post("/api/handoffs/<request_id:handoff_id>/ticket/phone")
    async def reveal_phone(request: Request, request_id: int) -> HTTPResponse:
        return await _ticket_action(request, request_id, lambda desk, held, agent: casework.reveal_phone(
            desk.tickets, held, agent))

    # -- housekeeping -----------------------------------------------------------

    @app.after_server_start
    async def start_housekeeping(app: Sanic, _loop: Any) -> None:
        app.add_task(_housekeeping(app.ctx.desk))

    @app.after_server_stop
    async def stop_password_checks(app: Sanic, _loop: Any) -> None:
        app.ctx.desk.password_checks.close()

    return app


def _too_many(desk: Desk, message: str, retry_after: int) -> HTTPResponse:
    page = desk.page("login.html", 429, error=message)
    page.headers["Retry-After"] = str(retry_after)
    return page


def _refused_conversation(request: Request, exc: ClaimError) -> None:
    login = request.ctx.login
    request.app.ctx.desk.refusals.refused(
        403, "conversation not held by the agent", client_address(request),
        f"{request.method} {request.path!r} by {login.agent.username if login else '?'}: {exc}")


def _agent_tag(agent: AgentAccount) -> Dict[str, Any]:
    return {"id": agent.id, "name": agent.display_name}


@dataclass(frozen=True)
class Refusal:
    """Why a live stream must end, for the agent (Chinese), and where the page should go."""
    error: str
    url: str


def _may_follow(desk: Desk, token: str, request_id: Optional[int]) -> Optional[Refusal]:
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


async def _stream(request: Request, produce: Callable[[], Awaitable[Any]],
                  refusal: Callable[[], Awaitable[Optional[Refusal]]],
                  tick: Optional[Callable[[], Awaitable[None]]], only_changes: bool = True,
                  interval: float = 1.0) -> None:
    """Server-sent events: `produce()` every interval, sent when new (or changed).

    The login and the right to what is streamed are checked again before every
    delivery: a logout, a deactivation, a closed or reassigned conversation ends
    the stream with an `end` event instead of letting it run on.
    """
    stream = await request.respond(content_type="text/event-stream",
                                   headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    last, beat = None, 0.0
    try:
        while True:
            data = await produce()
            ended = await refusal()
            if ended is not None:
                log.info("live stream %s ended: %s", request.path, ended.error)
                await stream.send("event: end\ndata: " + json.dumps(
                    {"error": ended.error, "url": ended.url}, ensure_ascii=False) + "\n\n")
                return
            payload = json.dumps(data, ensure_ascii=False) if data is not None else None
            if payload is not None and (payload != last or not only_changes):
                await stream.send(f"data: {payload}\n\n")
                last = payload
            if time.monotonic() - beat > 20:
                beat = time.monotonic()
                await stream.send(": keep-alive\n\n")
                if tick is not None:
                    await tick()
            await asyncio.sleep(interval)
    except (asyncio.CancelledError, ConnectionError):
        pass


HOUSEKEEPING_INTERVAL = 5.0
UNADDRESSABLE_FINISH = ("该会话的编号含有机器人接口无法识别的字符：已在工作台结束，但无法通知用户，"
                        "机器人要到用户下次开始对话时才会回复；请通过工单中的联系电话联系用户")


async def _tell(desk: Desk, conversation_id: str, text: str) -> None:
    """A notice to a waiting user; one conversation Rasa cannot address does not stop the others'."""
    try:
        await desk.rasa.say(conversation_id, text)
    except UnaddressableConversation:
        log.warning("notice not sent: conversation id %r not addressable in Rasa's HTTP API", mask_text(conversation_id))


async def _housekeeping(desk: Desk) -> None:
    """Idle conversations back to the queue; waiting users told when their place improves."""
    while True:
        try:
            for row in await asyncio.to_thread(desk.handoffs.requeue_idle):
                log.info("handoff %s idle, back in the queue", row["id"])
                await _tell(desk, row["conversation_id"], "客服暂时离开，已为您重新排队，请稍候。")
            for update in await asyncio.to_thread(desk.handoffs.position_updates):
                await _tell(desk, update.conversation_id, casework.position_text(update.position))
        except RasaUnavailable as exc:
            log.warning("housekeeping could not reach Rasa: %s", exc)
        except Exception:  # noqa: BLE001 - the loop must survive a database outage
            log.exception("desk housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)
