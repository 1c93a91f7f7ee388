"""The migrations build exactly the schema bot/models.py declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.models import Base


def _ours(item, name, kind, reflected, compare_to):
    # The shared PostgreSQL test database also holds Rasa's tracker tables.
    return not (kind == "table" and reflected and name not in Base.metadata.tables) and not (
        kind == "index" and reflected and item.table.name not in Base.metadata.tables
    )


def test_migrations_and_models_agree(db):
    with db.engine.connect() as connection:
        # SQLite keeps no column lengths (migration 0006 widens phone_number only where enforced).
        exact_types = connection.dialect.name != "sqlite"
        context = MigrationContext.configure(connection, opts={"compare_type": exact_types, "include_object": _ours})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
