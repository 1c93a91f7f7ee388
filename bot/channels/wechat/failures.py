"""Messages that could not be delivered (quota, 48-hour window, unsubscribed user…).

Recorded so that the agent desk can tell an agent their reply never arrived.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from sqlalchemy import select

from bot.db import Database
from bot.models import DeliveryFailure


def record_delivery_failure(
    db: Database, conversation_id: str, channel: str, code: str, message: str, at: Optional[datetime] = None
) -> None:
    with db.transaction() as session:
        session.add(
            DeliveryFailure(
                conversation_id=conversation_id[:255],
                channel=channel[:64],
                code=code[:32],
                message=message[:2000],
                at=at or datetime.now(timezone.utc),
            )
        )


def recent_delivery_failures(
    db: Database, limit: int = 50, conversation_id: Optional[str] = None, channel: Optional[str] = None
) -> List[Dict[str, Any]]:
    """Newest first; optionally for one conversation or one channel."""
    query = select(DeliveryFailure).order_by(DeliveryFailure.at.desc(), DeliveryFailure.id.desc())
    if conversation_id is not None:
        query = query.where(DeliveryFailure.conversation_id == conversation_id)
    if channel is not None:
        query = query.where(DeliveryFailure.channel == channel)
    with db.transaction() as session:
        return [row.as_dict() for row in session.execute(query.limit(max(1, min(limit, 500)))).scalars()]
