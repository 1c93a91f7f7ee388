"""phone numbers encrypted at the application layer, with a keyed hash for search

tickets.phone_number becomes a Fernet token (bot/crypto.py), wide enough for
one; tickets.phone_hash (indexed) is its HMAC; the personal numbers in
handoff_requests.slots are encrypted too. Existing rows are encrypted here with
the keys of the process that runs the migration (FIELD_ENCRYPTION_KEYS and
FIELD_HASH_KEY, or var/keys/field-keys.json).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
from typing import Any, Callable, Dict

import sqlalchemy as sa
from alembic import context, op

from bot import crypto as field_keys
from bot.models import PERSONAL_SLOTS

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('phone_number', sa.String),
                    sa.column('phone_hash', sa.String))
_handoffs = sa.table('handoff_requests', sa.column('id', sa.Integer), sa.column('slots', sa.JSON))


def _crypto() -> field_keys.FieldCrypto:
    return context.config.attributes.get("field_crypto") or field_keys.for_process()


def _rewrite_slots(connection: sa.engine.Connection, change: Callable[[str], str]) -> None:
    rows = connection.execute(sa.select(_handoffs.c.id, _handoffs.c.slots).order_by(_handoffs.c.id)).all()
    for row_id, slots in rows:
        if not isinstance(slots, dict):
            continue
        new: Dict[str, Any] = {name: change(value) if name in PERSONAL_SLOTS and isinstance(value, str)
                               else value for name, value in slots.items()}
        if new != slots:
            connection.execute(_handoffs.update().where(_handoffs.c.id == row_id).values(slots=new))


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':  # SQLite does not enforce the length
        op.alter_column('tickets', 'phone_number', type_=sa.String(length=255),
                        existing_type=sa.String(length=20), existing_nullable=False)
    op.add_column('tickets', sa.Column('phone_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_tickets_phone_hash', 'tickets', ['phone_hash'], unique=False)

    crypto = _crypto()
    connection = op.get_bind()
    for row_id, phone in connection.execute(
            sa.select(_tickets.c.id, _tickets.c.phone_number).order_by(_tickets.c.id)).all():
        if field_keys.looks_encrypted(phone):  # written by a newer process already
            plain, token = crypto.decrypt(phone), phone
        else:
            plain, token = phone, crypto.encrypt(phone)
        connection.execute(_tickets.update().where(_tickets.c.id == row_id).values(
            phone_number=token, phone_hash=crypto.digest(plain) if plain else None))
    _rewrite_slots(connection, lambda value: value if field_keys.looks_encrypted(value)
                   else crypto.encrypt(value))


def downgrade() -> None:
    crypto = _crypto()
    connection = op.get_bind()
    for row_id, phone in connection.execute(
            sa.select(_tickets.c.id, _tickets.c.phone_number).order_by(_tickets.c.id)).all():
        if field_keys.looks_encrypted(phone):
            connection.execute(_tickets.update().where(_tickets.c.id == row_id)
                               .values(phone_number=crypto.decrypt(phone)))
    _rewrite_slots(connection, lambda value: crypto.decrypt(value) if field_keys.looks_encrypted(value)
                   else value)

    op.drop_index('ix_tickets_phone_hash', table_name='tickets')
    # Not a batch (a copy of the table): dropping `tickets` would cascade to its audit trail.
    op.drop_column('tickets', 'phone_hash')
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('tickets', 'phone_number', type_=sa.String(length=20),
                        existing_type=sa.String(length=255), existing_nullable=False)
