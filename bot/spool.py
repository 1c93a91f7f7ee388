"""Durable local spool for complaints that could not reach the database.

When the database is down, the complaint is written here (one file per
submission key, fsynced, atomically renamed) and replayed into the database
later with the same key, so it is neither lost nor duplicated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List

from sqlalchemy.orm import Session

from bot.models import Ticket
from bot.notices import NoticeTexts, queue_notice
from bot.tickets import ComplaintDraft, Receipt, TicketService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpooledComplaint:
    reference: str
    submission_key: str
    draft: ComplaintDraft


def reference_for(submission_key: str) -> str:
    """A short code the user can quote; stable for the same submission."""
    return "RF" + hashlib.sha256(submission_key.encode("utf-8")).hexdigest()[:10].upper()


class ComplaintSpool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, submission_key: str, draft: ComplaintDraft) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        reference = reference_for(submission_key)
        target = self.directory / f"{reference}.json"
        if target.exists():
            return reference  # a retry of a spooled submission: the first copy wins, like the database
        temporary = target.with_suffix(".tmp")
        payload = {"submission_key": submission_key, "draft": draft.to_json()}
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        log.warning("database unavailable: complaint spooled as %s", reference)
        return reference

    def pending(self) -> List[SpooledComplaint]:
        if not self.directory.is_dir():
            return []
        items = []
        for path in sorted(self.directory.glob("RF*.json")):
            payload = json.loads(path.read_text(encoding="utf-8"))
            items.append(SpooledComplaint(path.stem, payload["submission_key"], ComplaintDraft(**payload["draft"])))
        return items

    def drain(self, service: TicketService) -> List[Receipt]:
        """Replays spooled complaints; a file is removed only after its ticket exists. The complainant was
        promised the number once it is registered: the acknowledgement (or, for a 留言, the callback notice)
        is queued with the ticket."""
        receipts = []
        texts = NoticeTexts(service.settings)

        def acknowledge(session: Session, ticket: Ticket) -> None:
            kind = "callback" if ticket.kind == "callback" else "acknowledgement"
            queue_notice(session, ticket, kind, service.clock(), texts=texts)

        for item in self.pending():
            receipt = service.submit(item.draft, item.submission_key, then=acknowledge)
            (self.directory / f"{item.reference}.json").unlink()
            log.info("spooled complaint %s recorded as %s", item.reference, receipt.ticket_no)
            receipts.append(receipt)
        return receipts
