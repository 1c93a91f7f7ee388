"""notice outbox: notices to the complainant and each delivery attempt (replaces owed_notices)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('idempotency_key', sa.String(length=128), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('asks_rating', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_via', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    op.create_index('ix_notices_ticket_id', 'notices', ['ticket_id'], unique=False)
    op.create_index(
        'ix_notices_due',
        'notices',
        ['next_attempt_at'],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        'notice_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('route', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notice_attempts_notice_id', 'notice_attempts', ['notice_id'], unique=False)
    # Owed notices become pending notices (rendered by the sender, as their body is empty).
    op.execute(
        "INSERT INTO notices (ticket_id, kind, idempotency_key, detail, status, attempts, next_attempt_at,"
        " created_at, sent_at)"
        " SELECT ticket_id, kind, 'owed:' || id, detail,"
        " CASE WHEN delivered_at IS NULL THEN 'pending' ELSE 'sent' END, 0, created_at, created_at, delivered_at"
        " FROM owed_notices"
    )
    op.drop_index('ix_owed_notices_delivered_at', table_name='owed_notices')
    op.drop_index('ix_owed_notices_ticket_id', table_name='owed_notices')
    op.drop_table('owed_notices')


def downgrade() -> None:
    op.create_table(
        'owed_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_owed_notices_ticket_id', 'owed_notices', ['ticket_id'], unique=False)
    op.create_index('ix_owed_notices_delivered_at', 'owed_notices', ['delivered_at'], unique=False)
    op.execute(
        "INSERT INTO owed_notices (ticket_id, kind, detail, created_at, delivered_at)"
        " SELECT ticket_id, kind, detail, created_at, sent_at FROM notices WHERE kind IN ('extension', 'pause')"
    )
    op.drop_index('ix_notice_attempts_notice_id', table_name='notice_attempts')
    op.drop_table('notice_attempts')
    op.drop_index('ix_notices_due', table_name='notices')
    op.drop_index('ix_notices_ticket_id', table_name='notices')
    op.drop_table('notices')
