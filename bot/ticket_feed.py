"""The change feed another system of the insurer reads: ticket audit events in id order."""

from __future__ import annotations

from typing import Any, Dict, List

from sqlalchemy import select

from bot.case_review import MALICIOUS_FIELD
from bot.db import Database
from bot.models import Ticket, TicketEvent
from bot.workspace import Viewer, Workspace, aware

MAX_FEED = 500


def changes_since(db: Database, viewer: Viewer, after_id: int = 0, limit: int = 100) -> List[Dict[str, Any]]:
    """Audit events after `after_id` (the last id the reader saw), of tickets the viewer may see."""
    if not 1 <= limit <= MAX_FEED:
        raise ValueError(f"每次最多读取{MAX_FEED}条")
    where = [TicketEvent.id > max(after_id, 0)]
    seen = Workspace.visibility(viewer)
    if seen is not None:
        # Malicious marks are supervisors' business: an agent never learns a complainant was so judged.
        where.extend([seen, TicketEvent.field != MALICIOUS_FIELD])
    with db.transaction() as session:
        rows = session.execute(
            select(TicketEvent, Ticket.ticket_no)
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*where)
            .order_by(TicketEvent.id)
            .limit(limit)
        ).all()
        return [
            {
                "id": event.id,
                "ticket_no": ticket_no,
                "at": aware(event.at).isoformat(),
                "actor": event.actor,
                "field": event.field,
                "old_value": event.old_value,
                "new_value": event.new_value,
            }
            for event, ticket_no in rows
        ]
