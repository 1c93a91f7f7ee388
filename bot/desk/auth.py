"""Logins: the session and CSRF check before every request, and the login, logout and health routes."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Optional

from sanic import Blueprint, Request, Sanic, response
from sanic.response import HTTPResponse

from bot.agents import LoginAttempt
from bot.desk.context import Desk, client_address, desk_of, error
from bot.desk.security import ADDRESS_LOCKED_MESSAGE, BUSY_MESSAGE, LoginBusy

COOKIE = "desk_session"
PUBLIC_PATHS = ("/login", "/static/", "/health")
# A trainer reviews unclear messages and sees nothing else: no conversations, tickets or analysis.
TRAINER_PATHS = frozenset({"/review", "/api/review", "/logout"})
TRAINER_REFUSAL = "训练师账号只能使用消息审核"
MAX_TOKEN = 128


def _form_token(request: Request) -> str:
    """The token a plain HTML form posts (a download cannot be a fetch with the header): only from an
    url-encoded form body, so nothing else is parsed before the check."""
    if not request.content_type.startswith("application/x-www-form-urlencoded"):
        return ""
    return str(request.form.get("csrf_token") or "")


async def authenticate(request: Request) -> Optional[HTTPResponse]:
    """Request middleware: sets `request.ctx.login`, or answers 401/403 or sends to the login page."""
    request.ctx.login = None
    if request.path.startswith(PUBLIC_PATHS):
        return None
    desk = desk_of(request)
    token = request.cookies.get(COOKIE, "")
    login = await asyncio.to_thread(desk.agents.resolve, token) if token else None
    if login is None:
        if request.path.startswith("/api/") or request.method != "GET":
            desk.refusals.refused(
                401, "request without a valid session", client_address(request), f"{request.method} {request.path!r}"
            )
            return error(401, "请先登录")
        return response.redirect("/login")
    if request.method not in ("GET", "HEAD"):
        # Header values arrive surrogate-escaped when they are not UTF-8: only a
        # short ASCII token can be compared.
        sent = request.headers.get("x-csrf-token", "") or _form_token(request)
        if not (
            sent.isascii() and len(sent) <= MAX_TOKEN and hmac.compare_digest(sent.encode(), login.csrf_token.encode())
        ):
            desk.refusals.refused(
                403,
                "request with a wrong CSRF token",
                client_address(request),
                f"{request.method} {request.path!r} by {login.agent.username}",
            )
            return error(403, "页面已过期，请刷新后重试")
    request.ctx.login = login
    if login.agent.is_trainer and request.path not in TRAINER_PATHS:
        return _trainer_elsewhere(request, desk)
    return None


def _trainer_elsewhere(request: Request, desk: Desk) -> HTTPResponse:
    if request.path == "/" and request.method == "GET":
        return response.redirect("/review")  # where a login lands
    desk.refusals.refused(
        403,
        "trainer outside the review page",
        client_address(request),
        f"{request.method} {request.path!r} by {request.ctx.login.agent.username}",
    )
    if request.path.startswith("/api/") or request.method != "GET":
        return error(403, TRAINER_REFUSAL)
    return desk.page("refused.html", 403, login=request.ctx.login, message=TRAINER_REFUSAL)


async def health(request: Request) -> HTTPResponse:
    return response.json({"status": "ok"})


async def login_page(request: Request) -> HTTPResponse:
    return desk_of(request).page("login.html", error=None)


async def login(request: Request) -> HTTPResponse:
    desk = desk_of(request)
    # The login form has no session yet: a same-origin check stops cross-site posts.
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.host:
        desk.refusals.refused(403, "login from another origin", client_address(request), f"{origin[:200]!r}")
        return error(403, "请求来源无效")
    username = (request.form.get("username") or "").strip().lower()[:64]
    password = (request.form.get("password") or "")[:256]
    address = client_address(request)
    refusal = desk.failed_logins.refusal(username, address)
    if refusal is not None:
        desk.refusals.refused(
            429,
            "login while locked",
            address,
            "this address" if refusal == ADDRESS_LOCKED_MESSAGE else "this username from there",
        )
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


async def logout(request: Request) -> HTTPResponse:
    await asyncio.to_thread(desk_of(request).agents.logout, request.ctx.login.token)
    resp = response.json({"ok": True})
    del resp.cookies[COOKIE]
    return resp


def _too_many(desk: Desk, message: str, retry_after: int) -> HTTPResponse:
    page = desk.page("login.html", 429, error=message)
    page.headers["Retry-After"] = str(retry_after)
    return page


async def stop_password_checks(app: Sanic, _loop: Any) -> None:
    app.ctx.desk.password_checks.close()


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("auth")
    bp.get("/health")(health)
    bp.get("/login")(login_page)
    bp.post("/login")(login)
    bp.post("/logout")(logout)
    bp.after_server_stop(stop_password_checks)
    return bp
