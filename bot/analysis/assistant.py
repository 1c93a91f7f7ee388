"""The assistant itself: conversations, self-service and handoff rates, handoff reasons, fallbacks, and the
messages it most often did not understand (personal numbers masked).

Conversations and fallbacks come from Rasa's SQL tracker store on the embedded default (its `events` table);
where that store cannot be read, from the analytics feed (`analytics_events`, the production topology), which
holds no message text. Handoffs come from the handoff requests of the complaints database, in both topologies.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, List, Mapping, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy import distinct, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.analysis.figures import Share, ratio, shares
from bot.db import make_engine
from bot.models import AnalyticsEvent, HandoffRequest
from bot.privacy import mask_text

FALLBACK_INTENT = "nlu_fallback"
USER_EVENT = "user"
MAX_FALLBACK_SCANNED = 20_000  # the latest not-understood messages read for the ranking
MAX_LISTED = 20
MAX_MESSAGE = 80
TRACKER = "tracker"
FEED = "analytics"

log = logging.getLogger(__name__)

_events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("intent_name", sa.String),
    sa.column("data", sa.Text),
)


@dataclass(frozen=True)
class NotUnderstood:
    text: str  # masked, whitespace collapsed, at most MAX_MESSAGE characters
    count: int


@dataclass(frozen=True)
class Assistant:
    source: Optional[str]  # tracker | analytics | None when neither could be read
    conversations: int
    messages: int  # policyholder messages
    handoffs: int  # conversations handed to a human in the period
    self_service_rate: Optional[float]  # conversations without a handoff, of all conversations
    handoff_rate: Optional[float]
    handoff_reasons: List[Share]
    fallbacks: int  # messages the assistant did not understand
    fallback_rate: Optional[float]  # of policyholder messages
    not_understood: List[NotUnderstood]  # empty when the source holds no text


def _shown(text: Any) -> str:
    collapsed = re.sub(r"\s+", " ", str(text or "")).strip()
    return mask_text(collapsed)[:MAX_MESSAGE]


class TrackerFigures:
    """Reads the tracker store's `events` table; None for every question when it cannot be read."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _engine(self) -> Optional[sa.engine.Engine]:
        if not self.url:
            return None
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and (not parsed.database or not Path(parsed.database).exists()):
            return None  # Rasa has not created its file yet (and reading must not create it)
        return make_engine(self.url)

    def read(self, start: datetime, end: datetime) -> Optional[Tuple[int, int, int, List[NotUnderstood]]]:
        """Conversations, policyholder messages, fallbacks and the most frequent not-understood texts."""
        try:
            engine = self._engine()
        except (SQLAlchemyError, OSError, ValueError):
            return None
        if engine is None:
            return None
        try:
            with engine.connect() as connection:
                if not sa.inspect(connection).has_table("events"):
                    return None
                window = (
                    _events.c.type_name == USER_EVENT,
                    _events.c.timestamp >= start.timestamp(),
                    _events.c.timestamp < end.timestamp(),
                )
                conversations, messages, fallbacks = connection.execute(
                    select(
                        func.count(distinct(_events.c.sender_id)),
                        func.count(),
                        func.coalesce(func.sum(sa.case((_events.c.intent_name == FALLBACK_INTENT, 1), else_=0)), 0),
                    ).where(*window)
                ).one()
                texts = connection.execute(
                    select(_events.c.data)
                    .where(*window, _events.c.intent_name == FALLBACK_INTENT)
                    .order_by(_events.c.id.desc())
                    .limit(MAX_FALLBACK_SCANNED)
                ).scalars()
                counted: Counter[str] = Counter()
                for data in texts:
                    try:
                        text = _shown(json.loads(data or "{}").get("text"))
                    except (ValueError, AttributeError):
                        continue
                    if text:
                        counted[text] += 1
        except SQLAlchemyError as exc:
            log.warning("assistant figures: tracker store unreadable (%s)", type(exc).__name__)
            return None
        finally:
            engine.dispose()
        ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))[:MAX_LISTED]
        return int(conversations), int(messages), int(fallbacks), [NotUnderstood(t, n) for t, n in ranked]


def _feed(session: Session, start: datetime, end: datetime) -> Optional[Tuple[int, int, int]]:
    """Conversations, recognised-or-not messages and fallbacks from the analytics feed; None when it is empty."""
    window = (AnalyticsEvent.at >= start, AnalyticsEvent.at < end)
    conversations, messages = session.execute(
        select(func.count(distinct(AnalyticsEvent.conversation_id)), func.count()).where(
            *window, AnalyticsEvent.kind == "intent"
        )
    ).one()
    if not conversations:
        return None
    fallbacks = session.execute(
        select(func.count()).where(*window, AnalyticsEvent.kind == "fallback", AnalyticsEvent.name == FALLBACK_INTENT)
    ).scalar()
    return int(conversations), int(messages), int(fallbacks or 0)


def assistant(
    session: Session,
    tracker: TrackerFigures,
    bounds: Tuple[datetime, datetime],
    reason_labels: Mapping[str, str],
) -> Assistant:
    """The assistant's figures for the period (not narrowed by the report's channel, category or region)."""
    start, end = bounds
    reasons = session.execute(
        select(HandoffRequest.reason, func.count(distinct(HandoffRequest.conversation_id)))
        .where(HandoffRequest.created_at >= start, HandoffRequest.created_at < end)
        .group_by(HandoffRequest.reason)
    ).all()
    handoffs = int(
        session.execute(
            select(func.count(distinct(HandoffRequest.conversation_id))).where(
                HandoffRequest.created_at >= start, HandoffRequest.created_at < end
            )
        ).scalar()
        or 0
    )
    reason_shares = shares((str(key), reason_labels.get(str(key), str(key)), int(count)) for key, count in reasons)
    read = tracker.read(start, end)
    source: Optional[str] = TRACKER
    texts: List[NotUnderstood] = []
    if read is not None:
        conversations, messages, fallbacks, texts = read
    else:
        fed = _feed(session, start, end)
        source = FEED if fed is not None else None
        conversations, messages, fallbacks = fed or (0, 0, 0)
    served = max(conversations, handoffs)  # a handoff's conversation is a conversation, whatever the source saw
    return Assistant(
        source=source,
        conversations=served,
        messages=messages,
        handoffs=handoffs,
        self_service_rate=ratio(served - handoffs, served) if source else None,
        handoff_rate=ratio(handoffs, served) if source else None,
        handoff_reasons=reason_shares,
        fallbacks=fallbacks,
        fallback_rate=ratio(fallbacks, messages),
        not_understood=texts,
    )
