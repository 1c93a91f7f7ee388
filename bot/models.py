"""SQLAlchemy models. Schema changes go through Alembic (bot/migrations)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Dict, Optional, Union

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Mapper, declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from bot import crypto as field_keys
from bot.crypto import FieldCrypto

Base: Any = declarative_base()


def iso(value: Optional[Union[date, datetime]]) -> Optional[str]:
    """ISO 8601 text; stored moments are UTC and carry their offset even where SQLite dropped it."""
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


# Slots of a handoff request that hold personal numbers: encrypted like the ticket's.
PERSONAL_SLOTS = ("phone_number", "id_number")


def field_crypto(dialect: Dialect) -> FieldCrypto:
    """The keys bound to this engine by bot.db.Database, else this process's keys."""
    crypto = getattr(dialect, "field_crypto", None)
    if crypto is None:
        crypto = dialect.field_crypto = field_keys.for_process()
    return crypto


class EncryptedString(TypeDecorator):
    """A string stored as a Fernet token: a dump of the database does not reveal it.

    Python code reads and writes the plain value. SQL cannot compare it (each
    encryption differs), so comparisons raise: search on the keyed-hash column.
    """

    impl = String
    cache_ok = True

    class comparator_factory(String.Comparator):  # noqa: N801 (SQLAlchemy's name)
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            raise TypeError("an encrypted column cannot be compared in SQL; search on its hash column")

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
            raise TypeError("an encrypted column cannot be compared in SQL; search on its hash column")

    def process_bind_param(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return None if value is None else field_crypto(dialect).encrypt(value)

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return None if value is None else field_crypto(dialect).decrypt(value)


class EncryptedSlots(TypeDecorator):
    """A JSON object of slots whose personal numbers (PERSONAL_SLOTS) are stored encrypted."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Optional[Dict[str, Any]], dialect: Dialect) -> Any:
        if not isinstance(value, dict):
            return value
        crypto = field_crypto(dialect)
        return {
            name: crypto.encrypt(item) if name in PERSONAL_SLOTS and isinstance(item, str) else item
            for name, item in value.items()
        }

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, dict):
            return value
        crypto = field_crypto(dialect)
        return {
            name: crypto.decrypt(item)
            if name in PERSONAL_SLOTS and isinstance(item, str) and field_keys.looks_encrypted(item)
            else item
            for name, item in value.items()
        }


# What the complaint analysis reads of a ticket (bot/analysis), in the order of its covering index.
ANALYSIS_COLUMNS = (
    "received_at",
    "kind",
    "channel",
    "category",
    "sub_reason",
    "region",
    "closed_at",
    "deadline",
    "satisfaction",
    "root_cause_controllable",
    "root_cause_category",
    "phone_hash",
    "phone_last4",
    "previous_complaint_at",
)


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    ticket_no = Column(String(32), unique=True, nullable=False)
    # Idempotency: one ticket per submitted form, whatever the retries.
    submission_key = Column(String(200), unique=True, nullable=False)
    kind = Column(String(16), nullable=False, default="complaint")  # complaint | callback
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(64), nullable=False)
    status = Column(String(32), nullable=False)
    category = Column(String(32), nullable=False)
    sub_reason = Column(String(200))
    policy_number = Column(String(64))
    complainant_name = Column(String(100), nullable=False)
    # Encrypted (bot/crypto.py); phone_hash is its keyed hash, for exact-match search.
    phone_number = Column(EncryptedString(255), nullable=False)
    phone_hash = Column(String(64), index=True)
    description = Column(Text, nullable=False)
    customer_request = Column(Text, nullable=False)
    received_at = Column(DateTime(timezone=True), nullable=False)
    deadline = Column(Date, nullable=False)
    withdrawn_at = Column(DateTime(timezone=True))
    closed_at = Column(DateTime(timezone=True))
    updated_at = Column(DateTime(timezone=True), nullable=False)
    privacy_notice_version = Column(String(32))  # the notice shown before collection
    health_consent = Column(String(16))  # granted | refused | None (no health details asked)
    # Last four digits of the phone, for the desk's search (the masked number shows them anyway).
    phone_last4 = Column(String(4), index=True)

    # Ownership (首问负责制) and 回避: the agent complained about can never own the ticket.
    assignee = Column(String(64))
    subject_staff = Column(String(64))
    priority = Column(Integer, nullable=False, default=0, server_default="0")
    risk_flags = Column(String(64))  # comma list of bot.risk flags: media, regulator, lawsuit, violence

    # Deadline inputs (bot/deadlines.py); `deadline` is the effective one, kept in sync.
    is_complex = Column(Boolean, nullable=False, default=False, server_default=false())
    extension_days = Column(Integer, nullable=False, default=0, server_default="0")
    extension_requested_days = Column(Integer)
    extension_requested_by = Column(String(64))
    extension_reason = Column(Text)
    extension_approved_by = Column(String(64))
    paused_since = Column(DateTime(timezone=True))  # an external appraisal is running
    # on_time | due_soon | overdue: what the reminder pass last marked (bot/reminders.py).
    due_state = Column(String(16), nullable=False, default="on_time", server_default="on_time")
    escalated_at = Column(DateTime(timezone=True))

    # Content of each step (bot/step_content.py says which is required when).
    findings = Column(Text)
    decision = Column(Text)
    decision_basis = Column(Text)
    outcome = Column(String(16))  # upheld | partly_upheld | not_upheld | mediated
    result_notice = Column(Text)
    follow_up_reached = Column(Boolean)
    follow_up_satisfied = Column(Boolean)
    follow_up_note = Column(Text)
    root_cause_controllable = Column(Boolean)
    root_cause_category = Column(String(64))
    improvement_action = Column(Text)
    reopened_count = Column(Integer, nullable=False, default=0, server_default="0")
    # The complainant's latest rating (bot ratings table keeps each one).
    satisfaction = Column(String(24))  # satisfied | basically_satisfied | dissatisfied
    satisfaction_at = Column(DateTime(timezone=True))
    # The branch responsible (bot/regions.py), derived once at creation so the analysis can group by it.
    region = Column(String(64))
    # When the same phone last complained before this ticket: repeat complaints without a self-join.
    previous_complaint_at = Column(DateTime(timezone=True))

    # Callbacks (留言): when too many calls failed; the complaint a callback became.
    unreachable_at = Column(DateTime(timezone=True))
    linked_ticket_id = Column(Integer, index=True)

    # Optimistic concurrency: every ORM update checks and bumps it (StaleDataError otherwise).
    version = Column(Integer, nullable=False, default=1, server_default="1")

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The workspace: open tickets by deadline, per owner, by priority and receipt.
        Index("ix_tickets_status_deadline", "status", "deadline"),
        Index("ix_tickets_assignee_deadline", "assignee", "deadline"),
        Index("ix_tickets_priority_deadline", "priority", "deadline"),
        Index("ix_tickets_received_at", "received_at"),
        Index("ix_tickets_policy_number", "policy_number"),
        # Repeat complainants: the same phone's earlier tickets within N days (bot/analysis/repeats.py).
        Index("ix_tickets_phone_hash_received_at", "phone_hash", "received_at"),
        # The complaint analysis (bot/analysis): every column its queries read, after the period's key, so
        # both databases answer from the index alone instead of reading the wide rows.
        Index("ix_tickets_analysis", *ANALYSIS_COLUMNS),
        # Pattern ops: the name search's LIKE '张%' uses it whatever the database's collation.
        Index(
            "ix_tickets_complainant_name",
            "complainant_name",
            postgresql_ops={"complainant_name": "varchar_pattern_ops"},
        ),
        # Partial indexes: open tickets by deadline (the default sort, deadline states, the reminder
        # pass) and the few flagged tickets.
        Index(
            "ix_tickets_open_deadline",
            "deadline",
            "id",
            "paused_since",
            postgresql_where=text("status <> 'closed'"),
            sqlite_where=text("status <> 'closed'"),
        ),
        Index(
            "ix_tickets_marked",
            "due_state",
            postgresql_where=text("due_state <> 'on_time'"),
            sqlite_where=text("due_state <> 'on_time'"),
        ),
        Index(
            "ix_tickets_flagged",
            "risk_flags",
            postgresql_where=text("risk_flags IS NOT NULL"),
            sqlite_where=text("risk_flags IS NOT NULL"),
        ),
    )

    def as_dict(self) -> Dict[str, Any]:
        return {
            "ticket_no": self.ticket_no,
            "kind": self.kind,
            "status": self.status,
            "category": self.category,
            "sub_reason": self.sub_reason,
            "policy_number": self.policy_number,
            "complainant_name": self.complainant_name,
            "phone_number": self.phone_number,
            "description": self.description,
            "customer_request": self.customer_request,
            "privacy_notice_version": self.privacy_notice_version,
            "health_consent": self.health_consent,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "received_at": iso(self.received_at),
            "deadline": iso(self.deadline),
            "withdrawn_at": iso(self.withdrawn_at),
            "closed_at": iso(self.closed_at),
            "updated_at": iso(self.updated_at),
            **{name: getattr(self, name) for name in CASE_FIELDS},
            "paused_since": iso(self.paused_since),
            "escalated_at": iso(self.escalated_at),
            "unreachable_at": iso(self.unreachable_at),
        }


# Plain values of a ticket's case management columns, as Ticket.as_dict gives them.
CASE_FIELDS = (
    "assignee",
    "subject_staff",
    "priority",
    "risk_flags",
    "is_complex",
    "extension_days",
    "extension_requested_days",
    "extension_requested_by",
    "extension_reason",
    "extension_approved_by",
    "due_state",
    "findings",
    "decision",
    "decision_basis",
    "outcome",
    "result_notice",
    "follow_up_reached",
    "follow_up_satisfied",
    "follow_up_note",
    "root_cause_controllable",
    "root_cause_category",
    "improvement_action",
    "reopened_count",
    "satisfaction",
    "linked_ticket_id",
    "version",
)


@event.listens_for(Ticket, "before_insert")
@event.listens_for(Ticket, "before_update")
def _hash_phone(_mapper: Mapper, connection: Connection, ticket: Ticket) -> None:
    """Keeps phone_hash in step with phone_number, whoever writes the ticket."""
    phone = ticket.phone_number
    ticket.phone_hash = field_crypto(connection.dialect).digest(phone) if phone else None
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    ticket.phone_last4 = digits[-4:] if len(digits) >= 4 else None


class TicketEvent(Base):
    """Audit trail: who changed what, when, old → new."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    actor = Column(String(100), nullable=False)
    field = Column(String(64), nullable=False)
    old_value = Column(Text)
    new_value = Column(Text)

    ticket = relationship("Ticket", back_populates="events")

    def as_dict(self) -> Dict[str, Any]:
        return {
            "at": iso(self.at),
            "actor": self.actor,
            "field": self.field,
            "old_value": self.old_value,
            "new_value": self.new_value,
        }


class TicketSequence(Base):
    """Per-day counter behind the TSYYYYMMDDnnnnnn ticket numbers."""

    __tablename__ = "ticket_sequences"

    day = Column(String(8), primary_key=True)
    last_value = Column(Integer, nullable=False, default=0)


class HandoffRequest(Base):
    __tablename__ = "handoff_requests"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    channel = Column(String(64), nullable=False)
    reason = Column(String(32), nullable=False)
    priority = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False)  # waiting | assigned | released | closed
    slots = Column(EncryptedSlots, nullable=False, default=dict)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=True)
    assigned_to = Column(String(100))
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)
    ended_at = Column(DateTime(timezone=True))

    claimed_at = Column(DateTime(timezone=True))
    # Last message or action of the agent; idle conversations go back to the queue.
    last_activity_at = Column(DateTime(timezone=True))
    # Queue position last told to the policyholder (updates only when it moves).
    notified_position = Column(Integer)

    ticket = relationship("Ticket")

    __table_args__ = (Index("ix_handoff_conversation_status", "conversation_id", "status"),)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "reason": self.reason,
            "priority": self.priority,
            "status": self.status,
            "slots": self.slots,
            "ticket_no": self.ticket.ticket_no if self.ticket else None,
            "assigned_to": self.assigned_to,
            "claimed_at": iso(self.claimed_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "ended_at": iso(self.ended_at),
        }


class StatusLookup(Base):
    """Ticket-status attempts, counted per conversation, ticket, phone and client."""

    __tablename__ = "status_lookups"
    __table_args__ = (
        Index("ix_status_lookups_ticket_no_at", "ticket_no", "at"),
        Index("ix_status_lookups_phone_key_at", "phone_key", "at"),
        Index("ix_status_lookups_client_at", "client", "at"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    succeeded = Column(Integer, nullable=False)
    ticket_no = Column(String(32))
    phone_key = Column(String(64))  # keyed hash of the phone number tried, never the number
    client = Column(String(64))  # the channel's client address, where it has one


class TicketNote(Base):
    """Internal note on a ticket, written by an agent; never shown to the policyholder."""

    __tablename__ = "ticket_notes"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    author = Column(String(100), nullable=False)
    body = Column(Text, nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {"at": iso(self.at), "author": self.author, "body": self.body}


class Whisper(Base):
    """A supervisor's internal message to the agent holding a conversation; never sent to the policyholder."""

    __tablename__ = "handoff_whispers"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoff_requests.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(64), nullable=False)  # username
    author_name = Column(String(64), nullable=False)  # display name, as the desk shows people
    body = Column(Text, nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "author_name": self.author_name, "body": self.body, "at": iso(self.at)}


class Agent(Base):
    """A human agent, supervisor or trainer of the desk, created with `python -m bot agents add`."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    display_name = Column(String(64), nullable=False)
    role = Column(String(16), nullable=False)  # agent | supervisor | trainer
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    # Refreshed while the desk is open in a browser: "is any agent online?"
    last_seen_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False)


class DeskSession(Base):
    """A logged-in browser. Only a hash of the cookie value is stored."""

    __tablename__ = "desk_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), unique=True, nullable=False)
    agent_id = Column(Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class WeChatInboxMessage(Base):
    """A WeChat message or event already taken in, so that WeChat's retries never
    run a turn twice; shared by every Rasa replica."""

    __tablename__ = "wechat_inbox"

    id = Column(Integer, primary_key=True)
    # sha256 of the dedupe key (MsgId, or sender + CreateTime + event for events).
    dedupe_key = Column(String(64), unique=True, nullable=False)
    openid = Column(String(64), nullable=False)
    # The callback's query signature: one signed URL carries one message only.
    request_signature = Column(String(40), nullable=False, index=True)
    status = Column(String(16), nullable=False)  # processing | replied | pushed | ignored
    # The passive reply, sent again if WeChat retries because it never got it.
    reply = Column(Text)
    received_at = Column(DateTime(timezone=True), nullable=False, index=True)
    updated_at = Column(DateTime(timezone=True), nullable=False)


class DeliveryFailure(Base):
    """A bot or agent message a channel could not deliver (quota, 48-hour window…), shown on the desk."""

    __tablename__ = "delivery_failures"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(64), nullable=False)
    code = Column(String(32), nullable=False)
    message = Column(Text, nullable=False)
    at = Column(DateTime(timezone=True), nullable=False, index=True)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "code": self.code,
            "message": self.message,
            "at": iso(self.at),
        }


class AnalyticsEvent(Base):
    """One fact of the analytics feed (an intent, fallback, handoff or ticket),
    taken from Rasa's event broker by `python -m bot analytics consume`.
    Never message text or slot values: only names and ticket numbers."""

    __tablename__ = "analytics_events"

    id = Column(Integer, primary_key=True)
    # sha256 of the broker message: a redelivered event is recorded once.
    event_key = Column(String(64), unique=True, nullable=False)
    conversation_id = Column(String(255), nullable=False)
    channel = Column(String(64))
    kind = Column(String(16), nullable=False)  # intent | fallback | handoff | ticket
    name = Column(String(100), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_analytics_events_conversation_at", "conversation_id", "at"),)


class WeChatUnfollow(Base):
    """When a WeChat user unfollowed the account: their conversation's retention clock starts then."""

    __tablename__ = "wechat_unfollows"

    conversation_id = Column(String(255), primary_key=True)
    unfollowed_at = Column(DateTime(timezone=True), nullable=False, index=True)


class RetentionRun(Base):
    """One run of the retention purge: when, by which process, how many rows of each kind.
    Never personal data."""

    __tablename__ = "retention_runs"

    id = Column(Integer, primary_key=True)
    runner = Column(String(100), nullable=False)
    started_at = Column(DateTime(timezone=True), nullable=False)
    finished_at = Column(DateTime(timezone=True), nullable=False, index=True)
    counts = Column(JSON, nullable=False, default=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "runner": self.runner,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "counts": self.counts,
        }


class MaintenanceLease(Base):
    """Who may run a maintenance job now (one row per job): replicas take turns."""

    __tablename__ = "maintenance_leases"

    name = Column(String(32), primary_key=True)
    holder = Column(String(100))
    expires_at = Column(DateTime(timezone=True), nullable=False)


class PrivacyRequest(Base):
    """A data subject request carried out (export or erasure): who, when, why, what.
    The person appears only as the keyed hash of their phone number."""

    __tablename__ = "privacy_requests"

    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)  # export | erase
    actor = Column(String(100), nullable=False)
    reason = Column(Text, nullable=False)
    subject_key = Column(String(64), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    counts = Column(JSON, nullable=False, default=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "actor": self.actor,
            "reason": self.reason,
            "at": iso(self.at),
            "counts": self.counts,
        }


class TicketPause(Base):
    """Time spent on an external 鉴定/检测/评估: it does not count towards the deadline (Art. 18)."""

    __tablename__ = "ticket_pauses"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # appraisal | inspection | assessment
    note = Column(Text)
    started_at = Column(DateTime(timezone=True), nullable=False)
    started_by = Column(String(100), nullable=False)
    ended_at = Column(DateTime(timezone=True))
    ended_by = Column(String(100))

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "note": self.note,
            "started_at": iso(self.started_at),
            "started_by": self.started_by,
            "ended_at": iso(self.ended_at),
            "ended_by": self.ended_by,
        }


class CallAttempt(Base):
    """One call to the person who left a 留言 (or any complainant)."""

    __tablename__ = "call_attempts"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    outcome = Column(String(16), nullable=False)  # reached | no_answer | wrong_number
    note = Column(Text)
    actor = Column(String(100), nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "outcome": self.outcome,
            "note": self.note,
            "actor": self.actor,
        }


class Alert(Base):
    """A supervisor alert (overdue, due soon, risk, unreachable). The dedupe key makes each one raised once."""

    __tablename__ = "alerts"

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message = Column(Text, nullable=False)
    dedupe_key = Column(String(128), unique=True, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)
    acknowledged_by = Column(String(64))
    acknowledged_at = Column(DateTime(timezone=True), index=True)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "message": self.message,
            "created_at": iso(self.created_at),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": iso(self.acknowledged_at),
        }


class Notice(Base):
    """Something the complainant must be told (Art. 18/19): written in the transaction of the ticket change
    that causes it, delivered at least once by the notice sender, never twice through one route."""

    __tablename__ = "notices"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    # acknowledgement | extension | pause | result | callback | follow_up
    kind = Column(String(32), nullable=False)
    # One notice per cause, however often the cause is replayed (e.g. "result:<ticket id>:<version>").
    idempotency_key = Column(String(128), unique=True, nullable=False)
    detail = Column(Text)  # what is specific to this notice (the extension's reason…), rendered into body
    body = Column(Text)  # the text as sent, rendered from knowledge/notice_templates.yml when written
    asks_rating = Column(Boolean, nullable=False, default=False, server_default=false())
    status = Column(
        String(16), nullable=False, default="pending", server_default="pending"
    )  # pending|sent|failed|uncertain|cancelled
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    next_attempt_at = Column(DateTime(timezone=True))
    created_at = Column(DateTime(timezone=True), nullable=False)
    sent_at = Column(DateTime(timezone=True))
    sent_via = Column(String(32))  # chat | wechat | wechat_template | sms
    last_error = Column(Text)

    __table_args__ = (
        # The sender's queue: due notices only.
        Index(
            "ix_notices_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "detail": self.detail,
            "body": self.body,
            "asks_rating": self.asks_rating,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at),
            "created_at": iso(self.created_at),
            "sent_at": iso(self.sent_at),
            "sent_via": self.sent_via,
            "last_error": self.last_error,
        }


class NoticeAttempt(Base):
    """One try at delivering a notice through one route, and how it ended; shown on the ticket page."""

    __tablename__ = "notice_attempts"

    id = Column(Integer, primary_key=True)
    notice_id = Column(Integer, ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, index=True)
    route = Column(String(32), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    # sent | failed | duplicate | unavailable | in_flight (committed before calling a route that cannot
    # deduplicate) | uncertain (the call may have delivered it: that route is not called again)
    outcome = Column(String(16), nullable=False)
    code = Column(String(64))
    detail = Column(Text)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "route": self.route,
            "at": iso(self.at),
            "outcome": self.outcome,
            "code": self.code,
            "detail": self.detail,
        }


class NoticeLink(Base):
    """A conversation opened from a notice's SMS link (bot/notice_links.py): it may rate that notice."""

    __tablename__ = "notice_links"

    id = Column(Integer, primary_key=True)
    notice_id = Column(Integer, ForeignKey("notices.id", ondelete="CASCADE"), nullable=False, index=True)
    conversation_id = Column(String(255), nullable=False)
    opened_at = Column(DateTime(timezone=True), nullable=False)

    __table_args__ = (UniqueConstraint("notice_id", "conversation_id", name="uq_notice_links_notice_conversation"),)


class Rating(Base):
    """The complainant's satisfaction (满意/基本满意/不满意) after a result notice or a live agent conversation."""

    __tablename__ = "ratings"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    # A rating is accepted once per notice (and once per handoff).
    notice_id = Column(Integer, ForeignKey("notices.id", ondelete="CASCADE"), unique=True)
    handoff_id = Column(Integer, ForeignKey("handoff_requests.id", ondelete="CASCADE"), unique=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    rating = Column(String(24), nullable=False)  # satisfied | basically_satisfied | dissatisfied
    reason = Column(Text)
    at = Column(DateTime(timezone=True), nullable=False, index=True)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "notice_id": self.notice_id,
            "handoff_id": self.handoff_id,
            "rating": self.rating,
            "reason": self.reason,
            "at": iso(self.at),
        }


class TypicalCase(Base):
    """A closed ticket a supervisor chose as a typical case (典型案例) for the complaint report."""

    __tablename__ = "typical_cases"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    situation = Column(Text, nullable=False)  # 案件情况
    analysis = Column(Text, nullable=False)  # 案件分析
    lessons = Column(Text, nullable=False)  # 案件启示
    marked_by = Column(String(64), nullable=False)
    marked_at = Column(DateTime(timezone=True), nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "situation": self.situation,
            "analysis": self.analysis,
            "lessons": self.lessons,
            "marked_by": self.marked_by,
            "marked_at": iso(self.marked_at),
        }


class MaliciousMark(Base):
    """A supervisor's judgement that a complaint is malicious (恶意投诉): counted in the analysis, never used to
    refuse service."""

    __tablename__ = "malicious_marks"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    reason = Column(Text, nullable=False)
    marked_by = Column(String(64), nullable=False)
    marked_at = Column(DateTime(timezone=True), nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {"reason": self.reason, "marked_by": self.marked_by, "marked_at": iso(self.marked_at)}


class DataExport(Base):
    """Who exported which tickets from the analysis, and whether with personal numbers unmasked (audited)."""

    __tablename__ = "data_exports"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, index=True)
    actor = Column(String(64), nullable=False)
    kind = Column(String(32), nullable=False)  # tickets_csv
    unmasked = Column(Boolean, nullable=False)
    scope = Column(Text, nullable=False)  # the period and filters, as the query gave them
    rows = Column(Integer, nullable=False)
    reason = Column(Text)  # why the supervisor needed the numbers unmasked (required for those since 0018)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "at": iso(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "unmasked": self.unmasked,
            "scope": self.scope,
            "rows": self.rows,
            "reason": self.reason,
        }


class NluReview(Base):
    """A reviewer's verdict on a message the assistant did not understand: the intent it should have had."""

    __tablename__ = "nlu_reviews"

    id = Column(Integer, primary_key=True)
    text_key = Column(String(200), unique=True, nullable=False)  # bot/nlu_review.py group_key()
    text = Column(Text, nullable=False)  # as the user wrote it, personal numbers masked
    intent = Column(String(64), nullable=False)
    # [{"entity", "start", "end", "value", "normalised"?}] on `text`, never on a masked number; None: none
    entities = Column(JSON, nullable=True)
    reviewer = Column(String(64), nullable=False)
    reviewed_at = Column(DateTime(timezone=True), nullable=False)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "intent": self.intent,
            "entities": list(self.entities or []),
            "reviewer": self.reviewer,
            "reviewed_at": iso(self.reviewed_at),
        }


class NluMark(Base):
    """A user message an agent holding the conversation marked as not understood, for /review.

    Only where the message is (conversation and event time): its text stays in the tracker
    store, so the retention purge of the conversation takes it off the review page too.
    """

    __tablename__ = "nlu_marks"
    __table_args__ = (
        UniqueConstraint("conversation_id", "event_at", name="uq_nlu_marks_message"),
        Index("ix_nlu_marks_marked_at", "marked_at"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False)
    event_at = Column(Float, nullable=False)  # the user event's timestamp in the tracker store
    handoff_id = Column(Integer, nullable=False)
    marked_by = Column(String(64), nullable=False)
    marked_at = Column(DateTime(timezone=True), nullable=False)
