"""The review page: supervisors give the right intent to messages the assistant did not understand."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.desk.context import Desk, desk_of, error
from bot.nlu_review import NluReviews, ReviewError, domain_intents
from bot.retention import TrackerEvents
from bot.settings import PROJECT_ROOT

SUPERVISORS_ONLY = "仅主管可以审核未理解的消息"
MAX_KEY = 200
T = TypeVar("T")


def _with_reviews(desk: Desk, work: Callable[[NluReviews], T]) -> T:
    # The tracker store is opened per request: Rasa may create its SQLite file after the desk started.
    trackers = TrackerEvents(desk.settings.tracker_database_url)
    try:
        return work(NluReviews(desk.db, trackers, domain_intents(PROJECT_ROOT / "domain.yml")))
    finally:
        trackers.dispose()


async def review_page(request: Request) -> HTTPResponse:
    desk, login = desk_of(request), request.ctx.login
    if not login.agent.is_supervisor:
        return desk.page("refused.html", 403, login=login, message=SUPERVISORS_ONLY)

    def listing(reviews: NluReviews) -> Any:
        return reviews.pending(), reviews.intents

    groups, intents = await asyncio.to_thread(_with_reviews, desk, listing)
    return desk.page("review.html", login=login, groups=groups, intents=intents)


async def review(request: Request) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    if not agent.is_supervisor:
        return error(403, SUPERVISORS_ONLY)
    body = request.json if isinstance(request.json, dict) else {}
    key, intent = body.get("key"), body.get("intent")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or not isinstance(intent, str) or len(intent) > 64:
        return error(400, "请选择一组消息和一个意图")
    try:
        saved = await asyncio.to_thread(
            _with_reviews, desk, lambda reviews: reviews.review(key, intent, agent.username)
        )
    except ReviewError as exc:
        return error(409, str(exc))
    return response.json({"ok": True, "review": saved})


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("review")
    bp.get("/review")(review_page)
    bp.post("/api/review")(review)
    return bp
