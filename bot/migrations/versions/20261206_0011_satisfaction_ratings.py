"""satisfaction ratings: one per result notice or live agent conversation; the latest on the ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('handoff_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('rating', sa.String(length=24), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoff_requests.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('notice_id'),
        sa.UniqueConstraint('handoff_id'),
    )
    op.create_index('ix_ratings_ticket_id', 'ratings', ['ticket_id'], unique=False)
    op.create_index('ix_ratings_conversation_id', 'ratings', ['conversation_id'], unique=False)
    op.create_index('ix_ratings_at', 'ratings', ['at'], unique=False)
    op.add_column('tickets', sa.Column('satisfaction', sa.String(length=24), nullable=True))
    op.add_column('tickets', sa.Column('satisfaction_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not a batch (a copy of the table): dropping `tickets` would cascade to its audit trail.
    op.drop_column('tickets', 'satisfaction_at')
    op.drop_column('tickets', 'satisfaction')
    op.drop_index('ix_ratings_at', table_name='ratings')
    op.drop_index('ix_ratings_conversation_id', table_name='ratings')
    op.drop_index('ix_ratings_ticket_id', table_name='ratings')
    op.drop_table('ratings')
