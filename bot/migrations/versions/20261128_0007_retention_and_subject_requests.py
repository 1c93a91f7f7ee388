"""retention runs and lease, WeChat unfollow times, data subject requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'wechat_unfollows',
        sa.Column('conversation_id', sa.String(length=255), nullable=False),
        sa.Column('unfollowed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('conversation_id'),
    )
    op.create_index('ix_wechat_unfollows_unfollowed_at', 'wechat_unfollows', ['unfollowed_at'], unique=False)
    op.create_table(
        'retention_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('runner', sa.String(length=100), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_retention_runs_finished_at', 'retention_runs', ['finished_at'], unique=False)
    op.create_table(
        'maintenance_leases',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('holder', sa.String(length=100), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'privacy_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('subject_key', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_privacy_requests_subject_key', 'privacy_requests', ['subject_key'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_privacy_requests_subject_key', table_name='privacy_requests')
    op.drop_table('privacy_requests')
    op.drop_table('maintenance_leases')
    op.drop_index('ix_retention_runs_finished_at', table_name='retention_runs')
    op.drop_table('retention_runs')
    op.drop_index('ix_wechat_unfollows_unfollowed_at', table_name='wechat_unfollows')
    op.drop_table('wechat_unfollows')
