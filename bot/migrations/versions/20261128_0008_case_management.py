"""case management: ownership, step content, deadlines with extensions and pauses,
call attempts, alerts, notices owed to complainants, workspace indexes

tickets.phone_last4 is filled for existing rows by decrypting their phone
numbers with the keys of the process that runs the migration (as in 0006).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import context, op

from bot import crypto as field_keys

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('phone_number', sa.String),
                    sa.column('phone_last4', sa.String))

_TICKET_COLUMNS = [
    sa.Column('phone_last4', sa.String(length=4), nullable=True),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('subject_staff', sa.String(length=64), nullable=True),
    sa.Column('priority', sa.Integer(), server_default='0', nullable=False),
    sa.Column('risk_flags', sa.String(length=64), nullable=True),
    sa.Column('is_complex', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('extension_days', sa.Integer(), server_default='0', nullable=False),
    sa.Column('extension_requested_days', sa.Integer(), nullable=True),
    sa.Column('extension_requested_by', sa.String(length=64), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('extension_approved_by', sa.String(length=64), nullable=True),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_state', sa.String(length=16), server_default='on_time', nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decision_basis', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('result_notice', sa.Text(), nullable=True),
    sa.Column('follow_up_reached', sa.Boolean(), nullable=True),
    sa.Column('follow_up_satisfied', sa.Boolean(), nullable=True),
    sa.Column('follow_up_note', sa.Text(), nullable=True),
    sa.Column('root_cause_controllable', sa.Boolean(), nullable=True),
    sa.Column('root_cause_category', sa.String(length=64), nullable=True),
    sa.Column('improvement_action', sa.Text(), nullable=True),
    sa.Column('reopened_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unreachable_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('linked_ticket_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
]

_TICKET_INDEXES = [
    ('ix_tickets_phone_last4', ['phone_last4']),
    ('ix_tickets_linked_ticket_id', ['linked_ticket_id']),
    ('ix_tickets_status_deadline', ['status', 'deadline']),
    ('ix_tickets_assignee_deadline', ['assignee', 'deadline']),
    ('ix_tickets_priority_deadline', ['priority', 'deadline']),
    ('ix_tickets_received_at', ['received_at']),
    ('ix_tickets_policy_number', ['policy_number']),
    ('ix_tickets_complainant_name', ['complainant_name'],
     {'postgresql_ops': {'complainant_name': 'varchar_pattern_ops'}}),
    ('ix_tickets_open_deadline', ['deadline', 'id', 'paused_since'],
     {'postgresql_where': sa.text("status <> 'closed'"), 'sqlite_where': sa.text("status <> 'closed'")}),
    ('ix_tickets_marked', ['due_state'],
     {'postgresql_where': sa.text("due_state <> 'on_time'"), 'sqlite_where': sa.text("due_state <> 'on_time'")}),
    ('ix_tickets_flagged', ['risk_flags'],
     {'postgresql_where': sa.text('risk_flags IS NOT NULL'), 'sqlite_where': sa.text('risk_flags IS NOT NULL')}),
]


def _crypto() -> field_keys.FieldCrypto:
    return context.config.attributes.get("field_crypto") or field_keys.for_process()


def _fill_last4() -> None:
    crypto = _crypto()
    connection = op.get_bind()
    for row_id, phone in connection.execute(
            sa.select(_tickets.c.id, _tickets.c.phone_number).order_by(_tickets.c.id)).all():
        plain = crypto.decrypt(phone) if phone and field_keys.looks_encrypted(phone) else (phone or '')
        digits = ''.join(ch for ch in plain if ch.isdigit())
        if len(digits) >= 4:
            connection.execute(_tickets.update().where(_tickets.c.id == row_id).values(phone_last4=digits[-4:]))


def upgrade() -> None:
    for column in _TICKET_COLUMNS:
        op.add_column('tickets', column)
    for name, columns, *options in _TICKET_INDEXES:
        op.create_index(name, 'tickets', columns, unique=False, **(options[0] if options else {}))
    _fill_last4()

    op.create_table(
        'ticket_pauses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by', sa.String(length=100), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ticket_pauses_ticket_id', 'ticket_pauses', ['ticket_id'], unique=False)
    op.create_table(
        'call_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_call_attempts_ticket_id', 'call_attempts', ['ticket_id'], unique=False)
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    op.create_index('ix_alerts_ticket_id', 'alerts', ['ticket_id'], unique=False)
    op.create_index('ix_alerts_created_at', 'alerts', ['created_at'], unique=False)
    op.create_index('ix_alerts_acknowledged_at', 'alerts', ['acknowledged_at'], unique=False)
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


def downgrade() -> None:
    op.drop_index('ix_owed_notices_delivered_at', table_name='owed_notices')
    op.drop_index('ix_owed_notices_ticket_id', table_name='owed_notices')
    op.drop_table('owed_notices')
    op.drop_index('ix_alerts_acknowledged_at', table_name='alerts')
    op.drop_index('ix_alerts_created_at', table_name='alerts')
    op.drop_index('ix_alerts_ticket_id', table_name='alerts')
    op.drop_table('alerts')
    op.drop_index('ix_call_attempts_ticket_id', table_name='call_attempts')
    op.drop_table('call_attempts')
    op.drop_index('ix_ticket_pauses_ticket_id', table_name='ticket_pauses')
    op.drop_table('ticket_pauses')
    for name, *_ in reversed(_TICKET_INDEXES):
        op.drop_index(name, table_name='tickets')
    # Not a batch (a copy of the table): dropping `tickets` would cascade to its audit trail.
    for column in reversed(_TICKET_COLUMNS):
        op.drop_column('tickets', column.name)
