"""The follow-up question of 跟进: the handler asks the complainant, on their own channel, to rate the handling.

It is the `follow_up` notice with the rating question (bot/notices.py); the answer is recorded like the
rating of the result notice (bot/satisfaction.py). It is asked only while the ticket is in 跟进, not of a
complainant who has rated the current result already, and not again while one is still waiting to be sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bot.models import Notice, Ticket
from bot.notices import NoticeTexts, queue_notice
from bot.replies import RATING_LABELS
from bot.ticket_editing import audit_note
from bot.tickets import LifecycleError, TicketStatus

KIND = "follow_up"
# The audit entry of the act (the ticket page names it 回访问题).
AUDIT_FIELD = "follow_up_question"
AUDIT_VALUE = "已提交发送，请投诉人评价处理结果"
PENDING_MESSAGE = "回访问题已在发送中"


def rated_result(session: Session, ticket: Ticket) -> bool:
    """Whether the ticket's rating answers its current result: a rating older than the latest result notice
    (the ticket was sent back and decided again since) does not."""
    if ticket.satisfaction is None:
        return False
    if ticket.satisfaction_at is None:
        return True
    newer_result = session.execute(
        select(Notice.id)
        .where(Notice.ticket_id == ticket.id, Notice.kind == "result", Notice.created_at > ticket.satisfaction_at)
        .limit(1)
    ).first()
    return newer_result is None


def pending(session: Session, ticket_id: int) -> bool:
    """Whether a follow-up question of this ticket is still waiting to be sent."""
    found = session.execute(
        select(Notice.id).where(Notice.ticket_id == ticket_id, Notice.kind == KIND, Notice.status == "pending").limit(1)
    ).first()
    return found is not None


def refusal(session: Session, ticket: Ticket) -> Optional[str]:
    """Why the follow-up question may not be sent now (the sentence the desk shows), or None."""
    if ticket.status != TicketStatus.FOLLOW_UP.value:
        step = TicketStatus(ticket.status).label
        return f"工单当前处于{step}环节，只有跟进环节可以发送回访问题"
    if rated_result(session, ticket):
        rating = RATING_LABELS.get(ticket.satisfaction or "", ticket.satisfaction)
        return f"投诉人已对本次处理作出评价（{rating}），无需再发送回访问题"
    if pending(session, ticket.id):
        return PENDING_MESSAGE
    return None


def ask(session: Session, ticket: Ticket, texts: NoticeTexts, actor: str, now: datetime) -> Notice:
    """Queues the follow-up question with the rating question in the caller's transaction, audited."""
    why = refusal(session, ticket)
    if why is not None:
        raise LifecycleError(why)
    notice = queue_notice(session, ticket, KIND, now, asks_rating=True, texts=texts)
    audit_note(session, ticket, AUDIT_FIELD, AUDIT_VALUE, actor, now)
    # No column changes, yet this is a change of the ticket: a new version, whatever the clock says, so that
    # the next question has a key of its own and a page loaded before it is refused as stale.
    flag_modified(ticket, "updated_at")
    return notice
