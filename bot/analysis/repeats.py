"""Repeat complainants: the same phone (by its keyed hash) complaining again within N days. Shown, never used
to refuse service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.analysis.figures import ratio
from bot.analysis.scope import COMPLAINT, Frame, Scope
from bot.models import Ticket

MAX_LISTED = 20


@dataclass(frozen=True)
class RepeatComplainant:
    phone: str  # masked: only the last four digits
    complaints: int  # in the period


@dataclass(frozen=True)
class Repeats:
    window_days: int
    repeat_complaints: int  # complaints in the period with an earlier one from the same phone within the window
    complainants: int  # distinct phones behind them
    share: Optional[float]  # of all complaints in the period
    most: List[RepeatComplainant]  # phones with two or more complaints in the period, most first


def masked(last4: Optional[str]) -> str:
    return "*******" + (last4 or "****")


def link_previous_complaints(session: Session, which: Optional[ColumnElement[bool]] = None) -> None:
    """Sets previous_complaint_at of the tickets `which` selects (all by default) from the database, in one
    statement: for rows written in bulk (bot/tickets.py sets it on each new ticket)."""
    earlier = aliased(Ticket)
    latest = (
        select(func.max(earlier.received_at))
        .where(
            earlier.phone_hash == Ticket.phone_hash,
            earlier.kind == COMPLAINT,
            or_(
                earlier.received_at < Ticket.received_at,
                and_(earlier.received_at == Ticket.received_at, earlier.id < Ticket.id),
            ),
        )
        .scalar_subquery()
    )
    condition = Ticket.phone_hash.isnot(None) if which is None else and_(Ticket.phone_hash.isnot(None), which)
    session.execute(
        update(Ticket).where(condition).values(previous_complaint_at=latest),
        execution_options={"synchronize_session": False},
    )


def repeats(frame: Frame, scope: Scope, window_days: int, total: int) -> Repeats:
    """Complaints whose phone complained within the window before (previous_complaint_at), and who complained
    most often in the period."""
    condition = and_(
        frame.where(scope),
        Ticket.previous_complaint_at.isnot(None),
        Ticket.previous_complaint_at >= frame.local.days_earlier(Ticket.received_at, window_days),
    )
    count, phones = frame.session.execute(
        select(func.count(), func.count(func.distinct(Ticket.phone_hash))).where(condition)
    ).one()
    # Only a phone with a complaint in the period whose previous one is in the period too can have two: the
    # complaints of those few phones are grouped, not the whole period's (0.55 s → 0.25 s on 334,000).
    start, _ = scope.bounds(frame.zone)
    twice = select(Ticket.phone_hash).where(frame.where(scope), Ticket.previous_complaint_at >= start)
    many = func.count()
    most = frame.session.execute(
        select(func.max(Ticket.phone_last4), many)
        .where(and_(frame.where(scope), Ticket.phone_hash.in_(twice)))
        .group_by(Ticket.phone_hash)
        .having(many >= 2)
        .order_by(many.desc(), func.max(Ticket.phone_last4))
        .limit(MAX_LISTED)
    ).all()
    return Repeats(
        window_days,
        int(count or 0),
        int(phones or 0),
        ratio(int(count or 0), total),
        [RepeatComplainant(masked(last4), int(number)) for last4, number in most],
    )
