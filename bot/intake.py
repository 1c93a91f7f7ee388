"""Complaint intake (受理与记录): record a confirmed complaint, never losing it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy.exc import SQLAlchemyError

from bot.spool import ComplaintSpool
from bot.tickets import ComplaintDraft, TicketService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeOutcome:
    ticket_no: Optional[str] = None
    deadline: Optional[date] = None
    spool_reference: Optional[str] = None

    @property
    def recorded(self) -> bool:
        return self.ticket_no is not None


def record_complaint(
    service: TicketService, spool: ComplaintSpool, draft: ComplaintDraft, submission_key: str
) -> IntakeOutcome:
    try:
        receipt = service.submit(draft, submission_key)
    except SQLAlchemyError as exc:
        log.error("ticket write failed (%s); spooling the complaint", type(exc).__name__)
        return IntakeOutcome(spool_reference=spool.put(submission_key, draft))
    try:
        # The database is reachable again: replay anything spooled earlier.
        spool.drain(service)
    except SQLAlchemyError:
        log.exception("spool replay failed; will retry on the next write")
    return IntakeOutcome(ticket_no=receipt.ticket_no, deadline=receipt.deadline)
