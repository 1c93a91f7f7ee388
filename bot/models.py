"""SQLAlchemy models. Schema changes go through Alembic (bot/migrations)."""
from __future__ import annotations

from typing import Any, Dict

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


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
    phone_number = Column(String(20), nullable=False)
    description = Column(Text, nullable=False)
    customer_request = Column(Text, nullable=False)
    received_at = Column(DateTime(timezone=True), nullable=False)
    deadline = Column(Date, nullable=False)
    withdrawn_at = Column(DateTime(timezone=True))
    closed_at = Column(DateTime(timezone=True))
    updated_at = Column(DateTime(timezone=True), nullable=False)

    events = relationship("TicketEvent", back_populates="ticket", order_by="TicketEvent.id")

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
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "received_at": self.received_at.isoformat(),
            "deadline": self.deadline.isoformat(),
            "withdrawn_at": self.withdrawn_at.isoformat() if self.withdrawn_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "updated_at": self.updated_at.isoformat(),
        }


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
            "at": self.at.isoformat(),
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
    slots = Column(JSON, nullable=False, default=dict)
    ticket_id = Column(Integer, ForeignKey("tickets.id"), nullable=True)
    assigned_to = Column(String(100))
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)
    ended_at = Column(DateTime(timezone=True))

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
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }


class StatusLookup(Base):
    """Ticket-status attempts, counted per conversation to stop enumeration."""

    __tablename__ = "status_lookups"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False)
    succeeded = Column(Integer, nullable=False)

