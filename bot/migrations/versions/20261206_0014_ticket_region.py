"""the branch responsible for a ticket (region), for the complaint analysis; repeat-complainant index

tickets.region is derived at creation (bot/regions.py: policy-number prefix, else the
province of the complainant's phone, else 未知). Existing tickets are filled here with
the BRANCHES_FILE and the field keys of the process that runs the migration.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import context, op

from bot import crypto as field_keys
from bot.regions import RegionMap
from bot.settings import Settings

revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None

_tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('phone_number', sa.String),
                    sa.column('policy_number', sa.String), sa.column('region', sa.String))
_BATCH = 1000


def upgrade() -> None:
    op.add_column('tickets', sa.Column('region', sa.String(length=64), nullable=True))
    op.create_index('ix_tickets_phone_hash_received_at', 'tickets', ['phone_hash', 'received_at'], unique=False)

    crypto = context.config.attributes.get("field_crypto") or field_keys.for_process()
    regions = RegionMap.load(Settings.from_env().branches_file)
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_tickets.c.id, _tickets.c.policy_number, _tickets.c.phone_number)
            .where(_tickets.c.id > last).order_by(_tickets.c.id).limit(_BATCH)).all()
        if not rows:
            break
        for row_id, policy, phone in rows:
            plain = crypto.decrypt(phone) if phone and field_keys.looks_encrypted(phone) else phone
            connection.execute(_tickets.update().where(_tickets.c.id == row_id)
                               .values(region=regions.region_for(policy, plain)))
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index('ix_tickets_phone_hash_received_at', table_name='tickets')
    # Not a batch (a copy of the table): dropping `tickets` would cascade to its audit trail.
    op.drop_column('tickets', 'region')
