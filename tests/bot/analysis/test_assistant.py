"""The assistant's figures from a real tracker store table (Rasa's own schema), the analytics feed, or neither."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore

from bot.analysis.assistant import NotUnderstood
from bot.analysis.periods import Period
from bot.analysis.report import Analysis
from bot.analysis.scope import Scope
from bot.db import Database
from bot.models import AnalyticsEvent, HandoffRequest
from tests.bot.sample_tickets import shanghai
from tests.databases import make_settings

LABELS = {"fallback": "机器人多次未能理解", "user_request": "用户要求人工"}


def _tracker(path: Path, rows: list[tuple[str, str, datetime, str | None, str]]) -> str:
    """A tracker store file with Rasa's `events` table holding (sender, type, when, intent, text) rows."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    SQLTrackerStore.SQLEvent.__table__.create(engine)
    with engine.begin() as connection:
        for sender, kind, at, intent, text in rows:
            connection.execute(
                SQLTrackerStore.SQLEvent.__table__.insert().values(
                    sender_id=sender,
                    type_name=kind,
                    timestamp=at.timestamp(),
                    intent_name=intent,
                    data=json.dumps({"event": kind, "text": text}),
                )
            )
    engine.dispose()
    return url


def _handoff(db: Database, conversation: str, reason: str, at: datetime) -> None:
    with db.transaction() as session:
        session.add(
            HandoffRequest(
                conversation_id=conversation,
                channel="rest",
                reason=reason,
                priority=30,
                status="closed",
                slots={},
                created_at=at,
                updated_at=at,
            )
        )


def _report(db: Database, tmp_path: Path, tracker_url: str):  # noqa: ANN202 (a Report)
    settings = make_settings(tmp_path, DATABASE_URL=db.url, TRACKER_DATABASE_URL=tracker_url)
    return Analysis(db, settings, handoff_reasons=LABELS).report(Scope(Period.month(2026, 1))).assistant


def test_figures_from_the_tracker_store_with_masked_not_understood_messages(db: Database, tmp_path: Path) -> None:
    jan = shanghai(2026, 1, 10, 9)
    url = _tracker(
        tmp_path / "tracker.db",
        [
            ("a", "user", jan, "greet", "你好"),
            ("a", "bot", jan, None, "您好"),
            ("a", "user", jan, "nlu_fallback", "我的手机 13812345678 打不通"),
            ("b", "user", jan, "nlu_fallback", "我的手机 13812345678  打不通"),
            ("b", "user", jan, "nlu_fallback", "啥"),
            ("c", "user", jan, "complain", "我要投诉"),
            ("d", "user", jan, "complain", "我要投诉"),
            ("e", "user", shanghai(2026, 2, 1, 0, 5), "nlu_fallback", "二月的消息"),  # not January's
        ],
    )
    _handoff(db, "b", "fallback", jan)
    _handoff(db, "b", "user_request", jan)  # the same conversation again: one handoff
    _handoff(db, "c", "user_request", jan)
    _handoff(db, "z", "user_request", shanghai(2025, 12, 31, 23))  # December's
    bot = _report(db, tmp_path, url)
    assert bot.source == "tracker"
    assert (bot.conversations, bot.messages, bot.fallbacks, bot.handoffs) == (4, 6, 3, 2)
    assert bot.self_service_rate == pytest.approx(0.5) and bot.handoff_rate == pytest.approx(0.5)
    assert bot.fallback_rate == pytest.approx(0.5)
    assert [(row.label, row.count) for row in bot.handoff_reasons] == [("用户要求人工", 2), ("机器人多次未能理解", 1)]
    assert bot.not_understood == [NotUnderstood("我的手机 138****5678 打不通", 2), NotUnderstood("啥", 1)]


def test_the_analytics_feed_stands_in_when_the_tracker_store_is_not_there(db: Database, tmp_path: Path) -> None:
    jan = shanghai(2026, 1, 10, 9)
    with db.transaction() as session:
        for key, (conversation, kind, name) in enumerate(
            [
                ("a", "intent", "greet"),
                ("a", "intent", "nlu_fallback"),
                ("a", "fallback", "nlu_fallback"),
                ("b", "intent", "complain"),
            ]  # fmt: skip
        ):
            session.add(AnalyticsEvent(event_key=f"k{key}", conversation_id=conversation, kind=kind, name=name, at=jan))
    _handoff(db, "b", "user_request", jan)
    bot = _report(db, tmp_path, f"sqlite:///{tmp_path / 'never-created.db'}")
    assert not (tmp_path / "never-created.db").exists()
    assert bot.source == "analytics" and (bot.conversations, bot.messages, bot.fallbacks, bot.handoffs) == (2, 3, 1, 1)
    assert bot.self_service_rate == pytest.approx(0.5) and bot.not_understood == []


def test_without_any_conversation_source_only_handoffs_are_counted(db: Database, tmp_path: Path) -> None:
    _handoff(db, "b", "user_request", shanghai(2026, 1, 10, 9))
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # a file without Rasa's table
    bot = _report(db, tmp_path, f"sqlite:///{empty}")
    assert bot.source is None and bot.handoffs == 1 and bot.conversations == 1
    assert bot.self_service_rate is None and bot.handoff_rate is None and bot.fallback_rate is None


def test_an_unreachable_tracker_database_degrades_to_the_feed(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        session.add(
            AnalyticsEvent(event_key="k", conversation_id="a", kind="intent", name="greet", at=shanghai(2026, 1, 9))
        )
    bot = _report(db, tmp_path, "postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    assert bot.source == "analytics" and bot.conversations == 1
