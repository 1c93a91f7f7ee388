"""data exports of the complaint analysis: who exported which tickets, masked or not (audit)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('unmasked', sa.Boolean(), nullable=False),
        sa.Column('scope', sa.Text(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_data_exports_at', 'data_exports', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_data_exports_at', table_name='data_exports')
    op.drop_table('data_exports')
