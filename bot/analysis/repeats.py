"""Repeat complainants: the same phone (by its keyed hash) complaining again within N days. Shown, never used
to refuse service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

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


def repeats(frame: Frame, scope: Scope, window_days: int, total: int) -> Repeats:
    earlier = aliased(Ticket)
    has_earlier = exists().where(
        and_(
            earlier.phone_hash == Ticket.phone_hash,
            earlier.kind == COMPLAINT,
            earlier.id != Ticket.id,
            or_(
                earlier.received_at < Ticket.received_at,
                and_(earlier.received_at == Ticket.received_at, earlier.id < Ticket.id),
            ),
            earlier.received_at >= frame.local.days_earlier(Ticket.received_at, window_days),
        )
    )
    condition = and_(frame.where(scope), Ticket.phone_hash.isnot(None), has_earlier)
    count, phones = frame.session.execute(
        select(func.count(Ticket.id), func.count(func.distinct(Ticket.phone_hash))).where(condition)
    ).one()
    many = func.count(Ticket.id)
    most = frame.session.execute(
        select(func.max(Ticket.phone_last4), many)
        .where(and_(frame.where(scope), Ticket.phone_hash.isnot(None)))
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
