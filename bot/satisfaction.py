"""The complainant's rating (满意/基本满意/不满意) after a result notice, the follow-up question of 跟进
(bot/follow_up.py) or a live agent conversation.

A rating is accepted once per notice and once per handoff (the ratings table's unique
keys); a repeated or late answer is reported, not stored. The latest rating is kept on
the ticket (audited, version-bumped like every change). 不满意 sends the ticket back to
处理 and raises a supervisor alert.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import replies
from bot.alerts import raise_alert
from bot.db import Database
from bot.leases import dialect_insert
from bot.models import HandoffRequest, Notice, NoticeLink, Rating, Ticket
from bot.ticket_editing import audit_note, set_audited
from bot.tickets import TicketStatus, bot_actor

RATINGS = tuple(replies.RATING_LABELS)
SATISFIED, BASICALLY_SATISFIED, DISSATISFIED = RATINGS
MAX_REASON = 500
# Steps after which the handling is done (or being told): 不满意 sends the ticket back to 处理.
_SENT_BACK_FROM = {TicketStatus.FEEDBACK.value, TicketStatus.FOLLOW_UP.value, TicketStatus.CLOSED.value}
# Typed answers, most specific first ("不满意" contains "满意", "基本满意" too).
_TYPED = (
    (DISSATISFIED, ("不满意", "不太满意", "不怎么满意", "太差", "很差", "差劲", "极差", "失望", "垃圾", "糟糕")),
    (BASICALLY_SATISFIED, ("基本满意", "还行", "还可以", "一般", "凑合", "马马虎虎", "过得去", "还好")),
    (SATISFIED, ("非常满意", "很满意", "满意", "挺好", "很好", "不错", "好评")),
)
# The numbered replies of the rating question (WeChat and SMS links show buttons as text).
_NUMBERED = {"1": SATISFIED, "2": BASICALLY_SATISFIED, "3": DISSATISFIED}
_NUMBER = re.compile(r"^(?:选|回复|选择)?([123])(?:号|分)?[.。!！]?$")


class RatingOutcome(str, enum.Enum):
    RECORDED = "recorded"
    REPEATED = "repeated"  # this notice or handoff was rated already
    UNKNOWN = "unknown"  # no such notice or handoff in this conversation


@dataclass(frozen=True)
class RatingResult:
    outcome: RatingOutcome
    rating: Optional[str] = None  # the stored one (the earlier one when repeated)
    ticket_no: Optional[str] = None
    sent_back: bool = False  # 不满意 moved the ticket back to 处理


def rating_question() -> Tuple[str, List[Dict[str, str]]]:
    """The question and its buttons, for the chat, WeChat and the desk's hand-back alike."""
    return replies.RATING_QUESTION, replies.rating_buttons()


def rating_request(slot: str, value: str, metadata: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Rasa tracker events that ask for a rating: the slot naming what is rated, then the question."""
    text, buttons = rating_question()
    return [
        {"event": "slot", "name": slot, "value": value},
        {"event": "bot", "text": text, "data": {"buttons": buttons}, "metadata": {**metadata, "notice_kind": "rating"}},
    ]


def handoff_rating_events(handoff_id: int) -> List[Dict[str, Any]]:
    """Rasa tracker events that ask for a rating of a live agent conversation once it ended."""
    return rating_request("rating_handoff", str(handoff_id), {"handoff": handoff_id})


def _plain(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text or ""))


def typed_rating(text: str) -> Optional[str]:
    """The rating in a typed answer ("还行吧" → basically_satisfied), or None."""
    plain = _plain(text)[:60]
    for rating, words in _TYPED:
        if any(word in plain for word in words):
            return rating
    return None


def numbered_rating(text: str) -> Optional[str]:
    """The rating of a numbered reply ("1", "３", "选2"); only meaningful while a rating is asked."""
    match = _NUMBER.match(_plain(text))
    return _NUMBERED[match.group(1)] if match else None


def clean_reason(reason: Optional[str]) -> Optional[str]:
    if reason is None:
        return None
    text = unicodedata.normalize("NFKC", reason).strip()
    return text[:MAX_REASON] or None


def record_rating(
    db: Database,
    *,
    conversation_id: str,
    rating: str,
    notice_key: Optional[str] = None,
    handoff_id: Optional[int] = None,
    reason: Optional[str] = None,
    now: datetime,
) -> RatingResult:
    """Stores the rating of one notice or one handoff of this conversation, once."""
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}")
    if (notice_key is None) == (handoff_id is None):
        raise ValueError("a rating answers exactly one notice or one handoff")
    try:
        return _record(db, conversation_id, rating, notice_key, handoff_id, clean_reason(reason), now)
    except StaleDataError:  # a handler saved the ticket between our read and write: once more
        return _record(db, conversation_id, rating, notice_key, handoff_id, clean_reason(reason), now)


def already_rated(
    db: Database, *, conversation_id: str, notice_key: Optional[str] = None, handoff_id: Optional[int] = None
) -> bool:
    """Whether this notice or handoff was rated already (so that 不满意 is not asked its reason in vain)."""
    with db.transaction() as session:
        answered = _answered(session, conversation_id, notice_key, handoff_id)
        if answered is None:
            return False
        return session.execute(select(Rating.id).filter_by(**answered[1])).first() is not None


def _record(
    db: Database,
    conversation_id: str,
    rating: str,
    notice_key: Optional[str],
    handoff_id: Optional[int],
    reason: Optional[str],
    now: datetime,
) -> RatingResult:
    with db.transaction() as session:
        answered = _answered(session, conversation_id, notice_key, handoff_id)
        if answered is None:
            return RatingResult(RatingOutcome.UNKNOWN)
        ticket_id, where = answered
        ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
        ticket_no = ticket.ticket_no if ticket else None
        insert = dialect_insert(session)
        inserted = session.execute(
            insert(Rating)
            .values(
                ticket_id=ticket_id,
                conversation_id=conversation_id,
                rating=rating,
                reason=reason,
                at=now,
                **where,
            )
            .on_conflict_do_nothing()
        )
        if inserted.rowcount != 1:
            earlier = session.execute(select(Rating.rating).filter_by(**where)).scalar()
            return RatingResult(RatingOutcome.REPEATED, earlier, ticket_no)
        sent_back = False
        if ticket is not None:
            sent_back = _update_ticket(session, ticket, conversation_id, rating, reason, now)
        if rating == DISSATISFIED:
            _alert(session, ticket, where, reason, now)
        return RatingResult(RatingOutcome.RECORDED, rating, ticket_no, sent_back)


def _answered(
    session: Session, conversation_id: str, notice_key: Optional[str], handoff_id: Optional[int]
) -> Optional[Tuple[Optional[int], Dict[str, int]]]:
    """The rated ticket (if any) and the rating's key, when the notice or handoff belongs to this conversation."""
    if notice_key is not None:
        found = session.execute(
            select(Notice.id, Notice.ticket_id)
            .join(Ticket, Ticket.id == Notice.ticket_id)
            .where(
                Notice.idempotency_key == notice_key[:128],
                # The ticket's own conversation, or one opened from the notice's SMS link (bot/notice_links.py).
                or_(
                    Ticket.conversation_id == conversation_id,
                    exists().where(NoticeLink.notice_id == Notice.id, NoticeLink.conversation_id == conversation_id),
                ),
            )
        ).first()
        return (found.ticket_id, {"notice_id": found.id}) if found else None
    handoff = session.execute(
        select(HandoffRequest.id, HandoffRequest.ticket_id).where(
            HandoffRequest.id == handoff_id, HandoffRequest.conversation_id == conversation_id
        )
    ).first()
    return (handoff.ticket_id, {"handoff_id": handoff.id}) if handoff else None


def _update_ticket(
    session: Session, ticket: Ticket, conversation_id: str, rating: str, reason: Optional[str], now: datetime
) -> bool:
    """The latest rating on the ticket; 不满意 after the result sends it back to 处理. True when it was sent back."""
    actor = bot_actor(conversation_id)
    with session.no_autoflush:  # one version step for the whole change
        set_audited(session, ticket, "satisfaction", rating, actor, now)
        set_audited(session, ticket, "satisfaction_at", now, actor, now)
        if reason:
            audit_note(session, ticket, "satisfaction_reason", reason, actor, now)
        sent_back = rating == DISSATISFIED and ticket.status in _SENT_BACK_FROM
        if sent_back:
            if ticket.status == TicketStatus.CLOSED.value:
                ticket.closed_at = ticket.withdrawn_at = None
                ticket.reopened_count += 1
            set_audited(session, ticket, "status", TicketStatus.PROCESSING.value, actor, now)
            audit_note(session, ticket, "reopened", "投诉人对处理结果不满意，退回处理", actor, now)
        ticket.updated_at = now
    session.flush()
    return sent_back


def _alert(
    session: Session, ticket: Optional[Ticket], rated: Dict[str, int], reason: Optional[str], now: datetime
) -> None:
    why = f"，原因：{reason[:200]}" if reason else ""
    if ticket is not None:
        message = f"投诉人对工单 {ticket.ticket_no} 的处理不满意，请主管跟进{why}"
    else:
        message = f"用户对人工服务（会话转接 #{rated.get('handoff_id')}）不满意，请主管跟进{why}"
    # One alert per rated notice or handoff (a rating is accepted once for each).
    ((field, value),) = rated.items()
    raise_alert(session, "dissatisfied", ticket.id if ticket else None, message, f"dissatisfied:{field}:{value}", now)
