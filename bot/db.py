"""Engine and session factory: the one place that opens database sessions.

Callers use `Database.transaction()` for one unit of work; sessions are never
shared between requests or kept at module level.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot import crypto as field_keys
from bot.crypto import FieldCrypto
from bot.settings import PROJECT_ROOT, Settings


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            # The action server runs SQL in worker threads.
            connect_args={"check_same_thread": False, "timeout": 15},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=5, max_overflow=5)


def engine_crypto(bind: Engine, crypto: FieldCrypto) -> None:
    """The keys the encrypted columns of this engine's statements use (bot/models.py)."""
    bind.dialect.field_crypto = crypto


class Database:
    def __init__(self, url: str, crypto: Optional[FieldCrypto] = None) -> None:
        """`crypto` defaults to this process's configured keys (bot/crypto.py)."""
        self.url = url
        self.engine = make_engine(url)
        self.crypto = crypto or field_keys.for_process()
        engine_crypto(self.engine, self.crypto)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _maintenance_engine(url: URL) -> Engine:
    # No pool: a connection kept across a PostgreSQL restart would be dead at the next use.
    return create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool, future=True)


def create_postgres_database(url: str) -> bool:
    """Creates the database named in `url` unless it exists; True when it was created."""
    parsed = make_url(url)
    engine = _maintenance_engine(parsed)
    try:
        with engine.connect() as connection:
            if connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first():
                return False
            connection.execute(text('CREATE DATABASE "{}"'.format(parsed.database.replace('"', '""'))))
            return True
    finally:
        engine.dispose()


def drop_postgres_database(url: str) -> None:
    """Drops the database named in `url`, disconnecting its clients first (tests and benchmarks)."""
    parsed = make_url(url)
    engine = _maintenance_engine(parsed)
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": parsed.database},
            )
            connection.execute(text('DROP DATABASE IF EXISTS "{}"'.format(parsed.database.replace('"', '""'))))
    finally:
        engine.dispose()


def migrate(settings: Settings) -> None:
    """Apply the Alembic migrations of bot/migrations up to head on the ticket database."""
    from alembic import command  # imported here: only start-up and tests migrate
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "migrations"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
