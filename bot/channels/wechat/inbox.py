"""Deduplication of WeChat's retries, in the database so that every Rasa replica sees it.

WeChat re-posts a message it got no answer to within 5 s, up to three times,
possibly to another replica behind the load balancer. The first request to
claim a message runs the turn; the others only answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.models import WeChatInboxMessage

NEW, DUPLICATE, REPLAY = "new", "duplicate", "replay"
PROCESSING, REPLIED, PUSHED, IGNORED = "processing", "replied", "pushed", "ignored"

# Far beyond WeChat's ~15 s retry window; old rows are deleted now and then.
DEFAULT_RETENTION = timedelta(days=2)
_PURGE_EVERY = 500


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Claim:
    outcome: str  # new | duplicate | replay
    # A duplicate of a message answered passively: WeChat retries only when that
    # answer never reached it, so the same text is sent again.
    reply: Optional[str] = None


class Inbox:
    def __init__(
        self, db: Database, retention: timedelta = DEFAULT_RETENTION, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.db = db
        self.retention = retention
        self.clock = clock
        self._claims = 0

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def claim(self, key: str, openid: str, request_signature: str) -> Claim:
        """Takes the message in, unless it was taken before or its signed URL carried another message."""
        digest = self._digest(key)
        self._claims += 1
        if self._claims % _PURGE_EVERY == 0:
            self.purge()
        try:
            with self.db.transaction() as session:
                rows = session.execute(
                    select(WeChatInboxMessage.dedupe_key, WeChatInboxMessage.status, WeChatInboxMessage.reply).where(
                        or_(
                            WeChatInboxMessage.dedupe_key == digest,
                            WeChatInboxMessage.request_signature == request_signature,
                        )
                    )
                ).all()
                for row in rows:
                    if row.dedupe_key == digest:
                        return self._duplicate(row)
                if rows:
                    return Claim(REPLAY)
                now = self.clock()
                session.add(
                    WeChatInboxMessage(
                        dedupe_key=digest,
                        openid=openid,
                        request_signature=request_signature,
                        status=PROCESSING,
                        received_at=now,
                        updated_at=now,
                    )
                )
            return Claim(NEW)
        except IntegrityError:
            # Another replica claimed it between our read and our insert.
            with self.db.transaction() as session:
                row = session.execute(
                    select(WeChatInboxMessage.status, WeChatInboxMessage.reply).where(
                        WeChatInboxMessage.dedupe_key == digest
                    )
                ).first()
                return self._duplicate(row) if row is not None else Claim(DUPLICATE)

    @staticmethod
    def _duplicate(row: Any) -> Claim:
        return Claim(DUPLICATE, row.reply if row.status == REPLIED else None)

    def settle(self, key: str, status: str, reply: Optional[str] = None) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(WeChatInboxMessage)
                .where(WeChatInboxMessage.dedupe_key == self._digest(key))
                .values(status=status, reply=reply, updated_at=self.clock())
            )

    def purge(self) -> int:
        with self.db.transaction() as session:
            result = session.execute(
                delete(WeChatInboxMessage).where(WeChatInboxMessage.received_at < self.clock() - self.retention)
            )
            return result.rowcount or 0
