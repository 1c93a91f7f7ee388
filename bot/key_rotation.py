"""Re-encrypts the stored personal numbers with the current first key (`python -m bot privacy rotate-keys`).

After a new key has been put first in FIELD_ENCRYPTION_KEYS (the old one kept
after it), this rewrites every token with the new key and recomputes the search
hashes with the current FIELD_HASH_KEY; then the old key can be removed. Rows
are rewritten in small transactions, and a row changed meanwhile by the
application is left as that write made it (it already uses the current keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import sqlalchemy as sa

from bot import crypto as field_keys
from bot.db import Database
from bot.models import PERSONAL_SLOTS

BATCH = 500

# The raw columns, without bot.models' encrypting types: tokens in, tokens out.
_tickets = sa.table(
    "tickets", sa.column("id", sa.Integer), sa.column("phone_number", sa.String), sa.column("phone_hash", sa.String)
)
_handoffs = sa.table("handoff_requests", sa.column("id", sa.Integer), sa.column("slots", sa.JSON))


@dataclass(frozen=True)
class RotationReport:
    tickets: int
    handoffs: int

    def as_dict(self) -> Dict[str, int]:
        return {"tickets": self.tickets, "handoffs": self.handoffs}


def _rotated(crypto: field_keys.FieldCrypto, value: str) -> str:
    return crypto.rotate(value) if field_keys.looks_encrypted(value) else crypto.encrypt(value)


def _plain(crypto: field_keys.FieldCrypto, value: str) -> str:
    return crypto.decrypt(value) if field_keys.looks_encrypted(value) else value


def rotate_keys(db: Database, batch: int = BATCH) -> RotationReport:
    crypto = db.crypto
    tickets = handoffs = 0
    last: Optional[int] = 0
    while last is not None:
        with db.transaction() as session:
            rows = session.execute(
                sa.select(_tickets.c.id, _tickets.c.phone_number)
                .where(_tickets.c.id > last)
                .order_by(_tickets.c.id)
                .limit(batch)
            ).all()
            for row_id, token in rows:
                plain = _plain(crypto, token)
                tickets += session.execute(
                    _tickets.update()
                    .where(_tickets.c.id == row_id, _tickets.c.phone_number == token)
                    .values(phone_number=_rotated(crypto, token), phone_hash=crypto.digest(plain) if plain else None)
                ).rowcount
            last = rows[-1][0] if rows else None
    last = 0
    while last is not None:
        with db.transaction() as session:
            rows = session.execute(
                sa.select(_handoffs.c.id, _handoffs.c.slots)
                .where(_handoffs.c.id > last)
                .order_by(_handoffs.c.id)
                .limit(batch)
            ).all()
            for row_id, slots in rows:
                if not isinstance(slots, dict) or not any(isinstance(slots.get(name), str) for name in PERSONAL_SLOTS):
                    continue
                new: Dict[str, Any] = {
                    name: _rotated(crypto, value) if name in PERSONAL_SLOTS and isinstance(value, str) else value
                    for name, value in slots.items()
                }
                session.execute(_handoffs.update().where(_handoffs.c.id == row_id).values(slots=new))
                handoffs += 1
            last = rows[-1][0] if rows else None
    return RotationReport(tickets, handoffs)
