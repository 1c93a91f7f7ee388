"""the branch responsible for a ticket (region), for the complaint analysis; its indexes

tickets.region is derived at creation (bot/regions.py: policy-number prefix, else the
province of the complainant's phone, else 未知). Existing tickets are filled here with
the BRANCHES_FILE and the field keys of the process that runs the migration.
tickets.previous_complaint_at is when the same phone last complained before the ticket
(repeat complaints are counted from it, without a self-join over the period).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import context, op

from bot import crypto as field_keys
from bot.regions import RegionMap
from bot.settings import Settings

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None

_tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('phone_number', sa.String),
                    sa.column('policy_number', sa.String), sa.column('region', sa.String))
_BATCH = 1000
# The same phone's latest earlier complaint (ties by id), for every ticket (bot/tickets.py does it at creation).
PREVIOUS_COMPLAINT = sa.text(
    "UPDATE tickets SET previous_complaint_at = (SELECT MAX(earlier.received_at) FROM tickets AS earlier"
    " WHERE earlier.phone_hash = tickets.phone_hash AND earlier.kind = 'complaint'"
    " AND (earlier.received_at < tickets.received_at"
    " OR (earlier.received_at = tickets.received_at AND earlier.id < tickets.id)))"
    " WHERE phone_hash IS NOT NULL"
)


def upgrade() -> None:
    op.add_column('tickets', sa.Column('region', sa.String(length=64), nullable=True))
    op.add_column('tickets', sa.Column('previous_complaint_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tickets_phone_hash_received_at', 'tickets', ['phone_hash', 'received_at'], unique=False)
    # Covering the analysis queries (bot/models.py ANALYSIS_COLUMNS, listed here as they were at this revision).
    op.create_index('ix_tickets_analysis', 'tickets',
                    ['received_at', 'kind', 'channel', 'category', 'sub_reason', 'region', 'closed_at', 'deadline',
                     'satisfaction', 'root_cause_controllable', 'root_cause_category', 'phone_hash', 'phone_last4',
                     'previous_complaint_at'], unique=False)

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
    op.execute(PREVIOUS_COMPLAINT)


def downgrade() -> None:
    op.drop_index('ix_tickets_analysis', table_name='tickets')
    op.drop_index('ix_tickets_phone_hash_received_at', table_name='tickets')
    # Not a batch (a copy of the table): dropping `tickets` would cascade to its audit trail.
    op.drop_column('tickets', 'previous_complaint_at')
    op.drop_column('tickets', 'region')
