"""A maintenance lease: one runner at a time for a periodic job, shared by every replica.

A row per job in `maintenance_leases` names its holder until it expires; the
conditional UPDATE that takes it changes the row for one of several runners
starting together (row lock on PostgreSQL, write lock on SQLite).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import Database
from bot.models import MaintenanceLease


def runner_name() -> str:
    """This process, uniquely: host, pid and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dialect_insert(session: Session) -> Any:
    """INSERT with ON CONFLICT support for the session's database (PostgreSQL or SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


class Lease:
    def __init__(self, db: Database, name: str, seconds: int, runner: str, clock: Clock) -> None:
        self.db = db
        self.name = name
        self.seconds = seconds
        self.runner = runner[:100]
        self.clock = clock

    def take(self, now: datetime) -> bool:
        """True when this runner holds the lease now (taken, or still its own)."""
        with self.db.transaction() as session:
            insert = dialect_insert(session)
            session.execute(
                insert(MaintenanceLease).values(name=self.name, holder=None, expires_at=now).on_conflict_do_nothing()
            )
        with self.db.transaction() as session:
            taken = session.execute(
                update(MaintenanceLease)
                .where(
                    MaintenanceLease.name == self.name,
                    or_(MaintenanceLease.expires_at <= now, MaintenanceLease.holder == self.runner),
                )
                .values(holder=self.runner, expires_at=now + timedelta(seconds=self.seconds))
            ).rowcount
        return taken == 1

    def renew(self) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(MaintenanceLease)
                .where(MaintenanceLease.name == self.name, MaintenanceLease.holder == self.runner)
                .values(expires_at=self.clock() + timedelta(seconds=self.seconds))
            )

    def release(self) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(MaintenanceLease)
                .where(MaintenanceLease.name == self.name, MaintenanceLease.holder == self.runner)
                .values(holder=None, expires_at=self.clock())
            )
