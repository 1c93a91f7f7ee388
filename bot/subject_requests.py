"""Data subject requests (PIPL Arts. 45 and 47): export or erase what is held about a person.

The person is found by phone number, through the keyed hash on tickets
(tickets.phone_hash) and the encrypted phone slot of handoff requests; their
conversations are those of their tickets and handoff requests. Both requests
are recorded in `privacy_requests` (operator, time, reason, counts) with the
person only as the keyed hash of the number, and erasures also in the audit
trail of each ticket.

Erasure keeps what the complaint statistics need (category, sub-reason,
channel, status, dates) and removes the rest: contact fields and free text of
the tickets, agents' notes, handoff slots, status look-ups, undeliverable
messages and the conversations' tracker events. Open cases are refused: the
complaint must be closed (or withdrawn) first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import validators
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import (
    CallAttempt,
    DeliveryFailure,
    HandoffRequest,
    NluMark,
    Notice,
    NoticeLink,
    PrivacyRequest,
    StatusLookup,
    Ticket,
    TicketEvent,
    TicketNote,
    TicketPause,
    WeChatUnfollow,
)
from bot.privacy import mask_text
from bot.retention import ACTIVE_HANDOFF_STATUSES, CLOSED, TrackerEvents, bulk_delete

ERASED = "已删除"
# Case text a handler writes about the person (bot/step_content.py), erased with them; the
# outcome, root cause and 整改措施 stay for the statistics (Art. 26).
CASE_TEXT = ("findings", "decision", "decision_basis", "result_notice", "follow_up_note", "extension_reason")
# Audit rows whose values quote such text.
QUOTING_EVENTS = {
    "note",
    *CASE_TEXT,
    "withdrawn",
    "call_attempt",
    "complex_reason",
    "reopened",
    "assign_reason",
    "extension_rejected",
}
MAX_ACTOR = 100
MAX_REASON = 500


class RequestError(ValueError):
    """The request cannot be carried out as asked; the message says why."""


class OpenCases(RequestError):
    """The person still has complaints being handled."""

    def __init__(self, tickets: Sequence[str], handoffs: int) -> None:
        self.tickets, self.handoffs = list(tickets), handoffs
        parts = []
        if self.tickets:
            parts.append(f"open tickets {', '.join(self.tickets)}")
        if handoffs:
            parts.append(f"{handoffs} handoff request(s) waiting for or held by an agent")
        super().__init__(
            "refused: " + " and ".join(parts) + "; close or withdraw them first, "
            "then erase (the complaint record is kept while it is being handled)"
        )


@dataclass(frozen=True)
class Subject:
    phone: str
    key: str  # keyed hash of the phone number
    ticket_ids: List[int]
    handoff_ids: List[int]
    conversations: List[str]


def _bounded(value: Optional[str], what: str, limit: int, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise RequestError(f"{what} is required")
    if len(text) > limit:
        raise RequestError(f"{what} is longer than {limit} characters")
    return mask_text(text)  # an operator may paste a number into the reason


class SubjectRequests:
    def __init__(self, db: Database, trackers: TrackerEvents, clock: Clock = utc_now) -> None:
        self.db = db
        self.trackers = trackers
        self.clock = clock

    def find(self, raw_phone: str) -> Subject:
        check = validators.phone_number(raw_phone)
        if not check.ok:
            raise RequestError(check.error or "invalid phone number")
        phone = str(check.value)
        key = self.db.crypto.digest(phone)
        with self.db.transaction() as session:
            tickets = session.execute(
                select(Ticket.id, Ticket.conversation_id).where(Ticket.phone_hash == key).order_by(Ticket.id)
            ).all()
            conversations: Set[str] = {conversation for _, conversation in tickets}
            ticket_ids = [ticket_id for ticket_id, _ in tickets]
            # Web conversations opened from an SMS notice's link hold that notice (bot/notice_links.py).
            conversations.update(
                session.execute(
                    select(NoticeLink.conversation_id)
                    .join(Notice, Notice.id == NoticeLink.notice_id)
                    .where(Notice.ticket_id.in_(ticket_ids))
                ).scalars()
            )
            handoff_ids = []
            # Handoff slots are encrypted without a hash: read them all (a rare operator request).
            for row_id, conversation, ticket_id, slots in session.execute(
                select(
                    HandoffRequest.id, HandoffRequest.conversation_id, HandoffRequest.ticket_id, HandoffRequest.slots
                )
            ):
                if ticket_id in ticket_ids or (isinstance(slots, dict) and slots.get("phone_number") == phone):
                    handoff_ids.append(row_id)
                    conversations.add(conversation)
        return Subject(phone, key, ticket_ids, sorted(handoff_ids), sorted(conversations))

    def _audit(
        self, session: Session, kind: str, actor: str, reason: str, subject: Subject, counts: Dict[str, int]
    ) -> PrivacyRequest:
        request = PrivacyRequest(
            kind=kind, actor=actor, reason=reason, subject_key=subject.key, at=self.clock(), counts=dict(counts)
        )
        session.add(request)
        session.flush()
        return request

    # -- export ----------------------------------------------------------------

    def export(self, raw_phone: str, actor: str, reason: Optional[str] = None) -> Dict[str, Any]:
        """Everything held about the person, as JSON-ready data."""
        actor = _bounded(actor, "the operator", MAX_ACTOR, required=True)
        reason = _bounded(reason, "the reason", MAX_REASON, required=False) or "data subject access request"
        subject = self.find(raw_phone)
        conversations = {
            conversation: [json.loads(data) for data in self.trackers.events_of(conversation)]
            for conversation in subject.conversations
        }
        with self.db.transaction() as session:
            tickets = []
            for ticket in session.execute(
                select(Ticket).where(Ticket.id.in_(subject.ticket_ids)).order_by(Ticket.id)
            ).scalars():
                data = ticket.as_dict()
                data.update(
                    privacy_notice_version=ticket.privacy_notice_version,
                    health_consent=ticket.health_consent,
                    events=[event.as_dict() for event in ticket.events],
                    notes=[
                        note.as_dict()
                        for note in session.execute(
                            select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(TicketNote.id)
                        ).scalars()
                    ],
                )
                tickets.append(data)
            handoffs = [
                row.as_dict()
                for row in session.execute(
                    select(HandoffRequest).where(HandoffRequest.id.in_(subject.handoff_ids)).order_by(HandoffRequest.id)
                ).scalars()
            ]
            lookups = [
                {
                    "conversation_id": row.conversation_id,
                    "at": row.at.isoformat(),
                    "succeeded": bool(row.succeeded),
                    "ticket_no": row.ticket_no,
                }
                for row in session.execute(
                    select(StatusLookup)
                    .where(
                        (StatusLookup.phone_key == subject.key)
                        | StatusLookup.conversation_id.in_(subject.conversations)
                    )
                    .order_by(StatusLookup.id)
                ).scalars()
            ]
            failures = [
                row.as_dict()
                for row in session.execute(
                    select(DeliveryFailure)
                    .where(DeliveryFailure.conversation_id.in_(subject.conversations))
                    .order_by(DeliveryFailure.id)
                ).scalars()
            ]
            unfollows = [
                {"conversation_id": row.conversation_id, "unfollowed_at": row.unfollowed_at.isoformat()}
                for row in session.execute(
                    select(WeChatUnfollow).where(WeChatUnfollow.conversation_id.in_(subject.conversations))
                ).scalars()
            ]
            earlier = [
                row.as_dict()
                for row in session.execute(
                    select(PrivacyRequest).where(PrivacyRequest.subject_key == subject.key).order_by(PrivacyRequest.id)
                ).scalars()
            ]
            counts = {
                "tickets": len(tickets),
                "handoff_requests": len(handoffs),
                "status_lookups": len(lookups),
                "conversations": len(conversations),
                "tracker_events": sum(len(events) for events in conversations.values()),
            }
            request = self._audit(session, "export", actor, reason, subject, counts)
            exported_at = request.at
            request_id = request.id
        return {
            "request_id": request_id,
            "exported_at": exported_at.isoformat(),
            "subject": {"phone_number": subject.phone},
            "tickets": tickets,
            "handoff_requests": handoffs,
            "status_lookups": lookups,
            "conversations": conversations,
            "delivery_failures": failures,
            "wechat_unfollows": unfollows,
            "privacy_requests": earlier,
        }

    # -- erasure -----------------------------------------------------------------

    def _open_cases(self, subject: Subject) -> Tuple[List[str], int]:
        with self.db.transaction() as session:
            open_tickets = list(
                session.execute(
                    select(Ticket.ticket_no)
                    .where(Ticket.id.in_(subject.ticket_ids), Ticket.status != CLOSED)
                    .order_by(Ticket.id)
                ).scalars()
            )
            active = len(
                session.execute(
                    select(HandoffRequest.id).where(
                        HandoffRequest.conversation_id.in_(subject.conversations),
                        HandoffRequest.status.in_(ACTIVE_HANDOFF_STATUSES),
                    )
                ).all()
            )
        return open_tickets, active

    def erase(self, raw_phone: str, actor: str, reason: str) -> Dict[str, Any]:
        """Anonymises the person's closed tickets and deletes the rest; refuses open cases."""
        actor = _bounded(actor, "the operator", MAX_ACTOR, required=True)
        reason = _bounded(reason, "the reason", MAX_REASON, required=True)
        subject = self.find(raw_phone)
        open_tickets, active = self._open_cases(subject)
        if open_tickets or active:
            raise OpenCases(open_tickets, active)
        # Conversations first: the tickets still lead to them if anything below fails.
        removed = self.trackers.delete(subject.conversations)
        now = self.clock()
        counts: Dict[str, int] = {
            "tracker_conversations": removed["conversations"],
            "tracker_events": removed["events"],
        }
        with self.db.transaction() as session:
            request = self._audit(session, "erase", actor, reason, subject, counts)
            tickets = session.execute(select(Ticket).where(Ticket.id.in_(subject.ticket_ids))).scalars().all()
            for ticket in tickets:
                ticket.complainant_name = ERASED
                ticket.phone_number = ""  # its hash goes too (bot/models.py)
                ticket.policy_number = None
                ticket.description = ERASED
                ticket.customer_request = ERASED
                ticket.conversation_id = ERASED
                for field in CASE_TEXT:
                    if getattr(ticket, field) is not None:
                        setattr(ticket, field, ERASED)
                ticket.updated_at = now
                session.add(
                    TicketEvent(
                        ticket_id=ticket.id,
                        at=now,
                        actor=actor,
                        field="personal_data_erased",
                        old_value=None,
                        new_value=f"privacy_request:{request.id}",
                    )
                )
            ticket_ids = [ticket.id for ticket in tickets]
            counts["tickets_anonymised"] = len(tickets)
            counts["ticket_notes"] = session.execute(
                bulk_delete(TicketNote).where(TicketNote.ticket_id.in_(ticket_ids))
            ).rowcount
            # Handlers' free text about the case may quote the person; what happened stays.
            for model, column in ((CallAttempt, "note"), (TicketPause, "note"), (Notice, "detail"), (Notice, "body")):
                session.execute(
                    update(model)
                    .where(model.ticket_id.in_(ticket_ids))
                    .values({column: None})
                    .execution_options(synchronize_session=False)
                )
            # Which conversations were opened from the notices' links names the person too.
            session.execute(
                bulk_delete(NoticeLink).where(
                    NoticeLink.notice_id.in_(select(Notice.id).where(Notice.ticket_id.in_(ticket_ids)))
                )
            )
            # A notice still waiting would go out about a case the person asked to forget, with its text gone.
            counts["notices_cancelled"] = session.execute(
                update(Notice)
                .where(Notice.ticket_id.in_(ticket_ids), Notice.status == "pending")
                .values(status="cancelled", next_attempt_at=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            # The audit trail keeps who changed what and when; note texts it quoted and the
            # conversation ids naming the bot's actions ("bot:<conversation>") go.
            for event in session.execute(select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids))).scalars():
                if event.field in QUOTING_EVENTS:
                    event.old_value = event.new_value = None
                if event.actor.startswith("bot:") and event.actor[4:] in subject.conversations:
                    event.actor = "bot"
            handoffs = (
                session.execute(select(HandoffRequest).where(HandoffRequest.id.in_(subject.handoff_ids)))
                .scalars()
                .all()
            )
            for handoff in handoffs:
                handoff.slots = {}
                handoff.conversation_id = ERASED
            counts["handoff_requests_anonymised"] = len(handoffs)
            counts["status_lookups"] = session.execute(
                bulk_delete(StatusLookup).where(
                    (StatusLookup.phone_key == subject.key) | StatusLookup.conversation_id.in_(subject.conversations)
                )
            ).rowcount
            counts["delivery_failures"] = session.execute(
                bulk_delete(DeliveryFailure).where(DeliveryFailure.conversation_id.in_(subject.conversations))
            ).rowcount
            counts["wechat_unfollows"] = session.execute(
                bulk_delete(WeChatUnfollow).where(WeChatUnfollow.conversation_id.in_(subject.conversations))
            ).rowcount
            counts["nlu_marks"] = session.execute(
                bulk_delete(NluMark).where(NluMark.conversation_id.in_(subject.conversations))
            ).rowcount
            request.counts = dict(counts)
            request_id = request.id
            erased_at: datetime = request.at
        return {"request_id": request_id, "erased_at": erased_at.isoformat(), "counts": counts}

    def history(self, limit: int = 100) -> List[Dict[str, Any]]:
        with self.db.transaction() as session:
            return [
                row.as_dict()
                for row in session.execute(
                    select(PrivacyRequest).order_by(PrivacyRequest.id.desc()).limit(limit)
                ).scalars()
            ]
