"""The review page: supervisors and trainers give the right intent to messages the assistant did not understand."""

from __future__ import annotations

import asyncio
import math
from typing import Any, Callable, TypeVar

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.desk.context import Desk, desk_of, error
from bot.nlu_review import NluReviews, ReviewError, domain_entities, domain_intents, entity_values
from bot.retention import TrackerEvents
from bot.settings import PROJECT_ROOT

REVIEWERS_ONLY = "仅主管和训练师可以审核未理解的消息"
MAX_KEY = 200
T = TypeVar("T")


def with_reviews(desk: Desk, work: Callable[[NluReviews], T]) -> T:
    """Runs `work` on the reviews (blocking: call it in a thread)."""
    # The tracker store is opened per request: Rasa may create its SQLite file after the desk started.
    trackers = TrackerEvents(desk.settings.tracker_database_url)
    domain = PROJECT_ROOT / "domain.yml"
    try:
        reviews = NluReviews(
            desk.db,
            trackers,
            domain_intents(domain),
            entities=domain_entities(domain),
            entity_values=entity_values(PROJECT_ROOT / "data" / "nlu"),
        )
        return work(reviews)
    finally:
        trackers.dispose()


async def review_page(request: Request) -> HTTPResponse:
    desk, login = desk_of(request), request.ctx.login
    if not login.agent.may_review:
        return desk.page("refused.html", 403, login=login, message=REVIEWERS_ONLY)

    def listing(reviews: NluReviews) -> Any:
        return reviews.pending(), reviews.intents, reviews.entities, reviews.entity_values

    groups, intents, entities, values = await asyncio.to_thread(with_reviews, desk, listing)
    return desk.page("review.html", login=login, groups=groups, intents=intents, entities=entities, values=values)


async def review(request: Request) -> HTTPResponse:
    desk, agent = desk_of(request), request.ctx.login.agent
    if not agent.may_review:
        return error(403, REVIEWERS_ONLY)
    body = request.json if isinstance(request.json, dict) else {}
    key, intent, entities = body.get("key"), body.get("intent"), body.get("entities")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or not isinstance(intent, str) or len(intent) > 64:
        return error(400, "请选择一组消息和一个意图")
    if entities is not None and not isinstance(entities, list):
        return error(400, "实体格式不正确")
    try:
        saved = await asyncio.to_thread(
            with_reviews, desk, lambda reviews: reviews.review(key, intent, agent.username, entities)
        )
    except ReviewError as exc:
        return error(409, str(exc))
    return response.json({"ok": True, "review": saved})


async def mark(request: Request, conversation_id: str, handoff_id: int) -> HTTPResponse:
    """An agent marks a user message of the conversation it holds (checked by the caller) as not understood."""
    body = request.json if isinstance(request.json, dict) else {}
    at = body.get("at")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at) or not 0 < at < 1e11:
        return error(400, "请选择一条用户消息")
    username = request.ctx.login.agent.username

    def marking(reviews: NluReviews) -> bool:
        return reviews.mark(conversation_id, float(at), handoff_id, username)

    try:
        new = await asyncio.to_thread(with_reviews, desk_of(request), marking)
    except ReviewError as exc:
        return error(422, str(exc))
    return response.json({"ok": True, "new": new})


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("review")
    bp.get("/review")(review_page)
    bp.post("/api/review")(review)
    return bp
