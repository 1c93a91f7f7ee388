"""How the desk answers what goes wrong, and the security headers on every response."""

from __future__ import annotations

from sanic import Request
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse

from bot.desk.casefile import Conflict, Refused, TicketHidden
from bot.desk.context import error, refused_conversation
from bot.desk.fields import InvalidInput
from bot.handoff import ClaimError
from bot.workspace import InvalidFilter

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SANIC_MESSAGES = {404: "页面不存在", 405: "不支持的请求", 413: "内容过长"}


async def harden(request: Request, resp: HTTPResponse) -> None:
    """Response middleware: the security headers, unless a route set its own."""
    for key, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(key, value)


async def known_errors(request: Request, exc: SanicException) -> HTTPResponse:
    status = getattr(exc, "status_code", 500) or 500
    return error(status, SANIC_MESSAGES.get(status, "请求无效"))


async def not_yours(request: Request, exc: ClaimError) -> HTTPResponse:
    refused_conversation(request, exc)
    return error(403, exc.message)


async def invalid(request: Request, exc: ValueError) -> HTTPResponse:
    return error(400, str(exc))


async def hidden(request: Request, exc: TicketHidden) -> HTTPResponse:
    return error(404, exc.message)


async def refused(request: Request, exc: Refused) -> HTTPResponse:
    return error(403, str(exc))


async def conflict(request: Request, exc: Conflict) -> HTTPResponse:
    return error(409, str(exc))


# Exception classes and their handlers, for create_app to register.
HANDLERS = (
    (SanicException, known_errors),
    (ClaimError, not_yours),
    (InvalidInput, invalid),
    (InvalidFilter, invalid),
    (TicketHidden, hidden),
    (Refused, refused),
    (Conflict, conflict),
)
