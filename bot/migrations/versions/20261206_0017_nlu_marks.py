"""nlu marks: user messages an agent holding the conversation marked as not understood; entities of reviews

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'nlu_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('event_at', sa.Float(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=False),
        sa.Column('marked_by', sa.String(length=64), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('conversation_id', 'event_at', name='uq_nlu_marks_message'),
    )
    op.create_index('ix_nlu_marks_marked_at', 'nlu_marks', ['marked_at'], unique=False)
    op.add_column('nlu_reviews', sa.Column('entities', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('nlu_reviews') as batch:
        batch.drop_column('entities')
    op.drop_index('ix_nlu_marks_marked_at', table_name='nlu_marks')
    op.drop_table('nlu_marks')
