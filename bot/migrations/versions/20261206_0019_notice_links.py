'''notice links: the conversations opened from a notice's SMS link, which may rate that notice

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
'''

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('notice_id', 'conversation_id', name='uq_notice_links_notice_conversation'),
    )
    op.create_index('ix_notice_links_notice_id', 'notice_links', ['notice_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notice_links_notice_id', table_name='notice_links')
    op.drop_table('notice_links')
