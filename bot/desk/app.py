"""The desk's Sanic app (server-rendered pages, JSON, server-sent events), assembled from one blueprint per concern."""

from __future__ import annotations

from sanic import Sanic

from bot.desk import (
    alerts,
    analysis,
    auth,
    canned,
    conversations,
    errors,
    housekeeping,
    queue,
    review,
    streams,
    supervision,
    ticket_actions,
    ticket_page,
    tickets,
    workspace,
)
from bot.desk.context import HANDOFF_ID, HERE, Desk, handoff_id
from bot.settings import Settings

MAX_BODY = 64 * 1024
BLUEPRINTS = (
    auth,
    queue,
    conversations,
    tickets,
    streams,
    housekeeping,
    workspace,
    ticket_page,
    ticket_actions,
    alerts,
    canned,
    supervision,
    analysis,
    review,
)


def create_app(settings: Settings, name: str = "desk") -> Sanic:
    """A desk app on its own services; every call builds fresh blueprints, so several apps can coexist."""
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.RESPONSE_TIMEOUT = 3600  # event streams stay open
    app.ctx.desk = Desk.build(settings)
    # Before the blueprints: their routes are parsed as they are registered.
    app.router.register_pattern("handoff_id", handoff_id, HANDOFF_ID.pattern)
    app.router.register_pattern("ticket_no", ticket_page.ticket_no, ticket_page.TICKET_NO.pattern)
    if analysis.ECHARTS_FILE.exists():  # else the analysis page shows its tables and says charts are missing
        app.static(analysis.ECHARTS_URL, str(analysis.ECHARTS_FILE), name="echarts")
    app.static("/static", str(HERE / "static"), name="static")
    app.on_request(auth.authenticate)
    app.on_response(errors.harden)
    for exception, handler in errors.HANDLERS:
        app.exception(exception)(handler)
    for module in BLUEPRINTS:
        app.blueprint(module.blueprint())
    return app
