"""Notices queued in the outbox for the sender's tests, and what the sender made of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select

from bot.db import Database
from bot.models import Alert, Notice, NoticeAttempt, Ticket
from bot.notices import NoticeTexts, queue_notice
from bot.settings import Settings
from tests.bot.sample_tickets import shanghai, submit

NOW = shanghai(2026, 6, 2, 10)

Attempt = Tuple[str, str, Optional[str], Optional[str]]  # route, outcome, code, detail


def ticket_with_notice(
    db: Database,
    settings: Settings,
    channel: str = "web",
    kind: str = "extension",
    asks_rating: bool = False,
    now: datetime = NOW,
    conversation_id: Optional[str] = None,
) -> Tuple[str, int]:
    """A ticket from `channel` with one notice due at `now`: its number and the notice's id."""
    conversation_id = conversation_id or f"{channel}-conv"
    ticket_no = submit(db, settings, shanghai(2026, 6, 1, 10), channel=channel, conversation_id=conversation_id)
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        notice = queue_notice(session, ticket, kind, now, "需调取医院病历", asks_rating, texts=NoticeTexts(settings))
        session.flush()
        return ticket_no, notice.id


def notice_row(db: Database, notice_id: int) -> Tuple[Dict[str, Any], List[Attempt]]:
    """The notice as the ticket page has it, and its attempts in order."""
    with db.transaction() as session:
        notice = session.get(Notice, notice_id).as_dict()
        attempts = session.execute(
            select(NoticeAttempt).where(NoticeAttempt.notice_id == notice_id).order_by(NoticeAttempt.id)
        ).scalars()
        return notice, [(a.route, a.outcome, a.code, a.detail) for a in attempts]


def alerts(db: Database) -> List[Tuple[str, str]]:
    """Every alert raised: kind and message."""
    with db.transaction() as session:
        return [(a.kind, a.message) for a in session.execute(select(Alert)).scalars()]
