"""wechat channel: inbox for retry dedupe, delivery failures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=64), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('request_signature', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('wechat_inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_inbox_request_signature'), ['request_signature'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_inbox_received_at'), ['received_at'], unique=False)

    op.create_table('delivery_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('delivery_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_failures_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_failures_at'), ['at'], unique=False)


def downgrade() -> None:
    op.drop_table('delivery_failures')
    op.drop_table('wechat_inbox')
