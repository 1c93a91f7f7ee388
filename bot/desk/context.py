"""What every desk route shares: the services on `app.ctx.desk`, the client's address, error answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Request, response
from sanic.response import HTTPResponse

from bot.agents import AgentAccount, AgentService
from bot.alerts import Alerts
from bot.callbacks import Callbacks
from bot.channels import rate_limit
from bot.db import Database
from bot.desk.rasa_client import RasaConversations
from bot.desk.security import FailedLogins, PasswordChecks, RefusalLog
from bot.handoff import ClaimError, HandoffService
from bot.lifecycle import Lifecycle
from bot.notice_routes.route import Route
from bot.notice_sender import routes
from bot.ownership import Ownership
from bot.settings import Settings
from bot.supervision import Supervision
from bot.tickets import TicketService
from bot.workspace import Workspace

HERE = Path(__file__).parent
# Handoff ids in URLs: canonical decimal within PostgreSQL's integer, anything
# else is a 404 before it reaches the database.
HANDOFF_ID = re.compile(r"^[1-9][0-9]{0,9}$")
MAX_HANDOFF_ID = 2**31 - 1


def handoff_id(text: str) -> int:
    """Route parameter type: raises ValueError (no route matches) for anything but a storable id."""
    if not HANDOFF_ID.match(text) or int(text) > MAX_HANDOFF_ID:
        raise ValueError(text)
    return int(text)


@dataclass
class Desk:
    """The desk's services and settings, built once per app and kept on `app.ctx.desk`."""

    settings: Settings
    db: Database
    agents: AgentService
    handoffs: HandoffService
    tickets: TicketService
    workspace: Workspace
    lifecycle: Lifecycle
    ownership: Ownership
    alerts: Alerts
    callbacks: Callbacks
    rasa: RasaConversations
    pages: Environment
    supervision: Supervision
    # The notice routes (bot/notice_sender.py): the ticket page says when SMS is not configured.
    notice_routes: Mapping[str, Route] = field(default_factory=dict)
    trusted_proxies: Tuple[rate_limit.Network, ...] = ()
    failed_logins: FailedLogins = field(default_factory=FailedLogins)
    password_checks: PasswordChecks = field(default_factory=PasswordChecks)
    refusals: RefusalLog = field(default_factory=RefusalLog)

    @classmethod
    def build(cls, settings: Settings) -> "Desk":
        db = Database(settings.database_url)
        return cls(
            settings=settings,
            db=db,
            agents=AgentService(db),
            handoffs=HandoffService(db, settings),
            tickets=TicketService(db, settings),
            workspace=Workspace(db, settings),
            lifecycle=Lifecycle(db, settings),
            ownership=Ownership(db, settings),
            alerts=Alerts(db),
            callbacks=Callbacks(db, settings),
            rasa=RasaConversations(settings),
            supervision=Supervision(db),
            notice_routes=routes(settings, db),
            trusted_proxies=rate_limit.parse_networks(settings.trusted_proxies, "TRUSTED_PROXIES"),
            pages=Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])),
        )

    def page(self, name: str, status: int = 200, **context: Any) -> HTTPResponse:
        return response.html(self.pages.get_template(name).render(**context), status=status)


def desk_of(request: Request) -> Desk:
    """The desk of the app serving the request."""
    return request.app.ctx.desk


def error(status: int, message: str) -> HTTPResponse:
    """A JSON error with a Chinese message the desk shows as it is."""
    return response.json({"error": message}, status=status)


def client_address(request: Request) -> str:
    """The client's address as the channels count it: the connection's, or what a proxy in
    TRUSTED_PROXIES forwarded; IPv6 per /64."""
    return rate_limit.bucket_key(
        rate_limit.client_address(request.ip, request.headers.get("x-forwarded-for"), desk_of(request).trusted_proxies)
    )


def refused_conversation(request: Request, exc: ClaimError) -> None:
    """Logs an agent reaching for a conversation it does not hold."""
    login = request.ctx.login
    desk_of(request).refusals.refused(
        403,
        "conversation not held by the agent",
        client_address(request),
        f"{request.method} {request.path!r} by {login.agent.username if login else '?'}: {exc}",
    )


def agent_tag(agent: AgentAccount) -> Dict[str, Any]:
    """The agent as recorded on a message it sends (Rasa event metadata)."""
    return {"id": agent.id, "name": agent.display_name}
