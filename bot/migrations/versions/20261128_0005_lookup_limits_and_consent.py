"""status look-ups keyed on ticket, phone and client; consent recorded on tickets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('status_lookups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_no', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('phone_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('client', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_status_lookups_ticket_no_at', ['ticket_no', 'at'], unique=False)
        batch_op.create_index('ix_status_lookups_phone_key_at', ['phone_key', 'at'], unique=False)
        batch_op.create_index('ix_status_lookups_client_at', ['client', 'at'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('privacy_notice_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('health_consent', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('health_consent')
        batch_op.drop_column('privacy_notice_version')
    with op.batch_alter_table('status_lookups', schema=None) as batch_op:
        batch_op.drop_index('ix_status_lookups_client_at')
        batch_op.drop_index('ix_status_lookups_phone_key_at')
        batch_op.drop_index('ix_status_lookups_ticket_no_at')
        batch_op.drop_column('client')
        batch_op.drop_column('phone_key')
        batch_op.drop_column('ticket_no')
