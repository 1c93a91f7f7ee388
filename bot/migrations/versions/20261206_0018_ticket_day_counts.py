"""daily roll-up of complaints for the analysis (ticket_day_counts), kept by database triggers, backfilled;
the reason a supervisor gives for an unmasked export (data_exports.reason)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

Each complaint counts once in each facet below, on the Beijing-time day it was received. Triggers on
`tickets` add a row's contribution on INSERT, take the old one away and add the new one on UPDATE of a
counted column, and take it away on DELETE, in the transaction of the write itself, whichever code writes
(ORM, bulk UPDATE, raw SQL). The migration fills the table from the tickets present in the same transaction
as it creates the triggers. See docs/analysis.md ("Daily roll-up") and bot/analysis/daily.py.

Self-contained on purpose: a migration must not change when application code does later.
"""
from typing import Dict, List, Tuple

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OFFSET_MINUTES = 480  # Asia/Shanghai, no daylight saving since 1991 (bot/analysis/daily.py checks the zone)
UNKNOWN_REGION = '未知'
# The columns whose change can move a complaint between roll-up rows.
COUNTED = (
    'kind', 'received_at', 'channel', 'category', 'sub_reason', 'region', 'satisfaction',
    'root_cause_controllable', 'root_cause_category', 'closed_at', 'deadline',
)


def _local_day(dialect: str, moment: str) -> str:
    if dialect == 'sqlite':
        return f"date({moment}, '+{OFFSET_MINUTES} minutes')"
    return f"CAST(timezone('UTC', {moment}) + interval '{OFFSET_MINUTES} minutes' AS date)"


def _facets(dialect: str, row: str) -> List[Tuple[str, Tuple[str, str, str], str]]:
    """(facet, its three key expressions, the condition a complaint must meet to count in it) for `row`."""
    received, closed = _local_day(dialect, f'{row}.received_at'), _local_day(dialect, f'{row}.closed_at')
    if dialect == 'sqlite':
        days = f'CAST(julianday({closed}) - julianday({received}) AS INTEGER)'
        deadline = f'date({row}.deadline)'
    else:
        days = f'CAST({closed} - {received} AS text)'
        deadline = f'{row}.deadline'
    return [
        ('channel', (f'{row}.channel', f"CASE WHEN {row}.closed_at IS NULL THEN '0' ELSE '1' END", "''"), ''),
        (
            'reason',
            (f'{row}.category', f"COALESCE({row}.sub_reason, '')", f"COALESCE({row}.satisfaction, '')"),
            '',
        ),
        ('region', (f"COALESCE({row}.region, '{UNKNOWN_REGION}')", "''", "''"), ''),
        (
            'cause',
            (
                f'{row}.category',
                f"CASE WHEN {row}.root_cause_controllable IS NULL THEN '' "
                f"WHEN {row}.root_cause_controllable THEN '1' ELSE '0' END",
                f"COALESCE({row}.root_cause_category, '')",
            ),
            '',
        ),
        (
            'closing',
            (days, f"CASE WHEN {closed} <= {deadline} THEN '1' ELSE '0' END", "''"),
            f'{row}.closed_at IS NOT NULL',
        ),
    ]


def _upserts(dialect: str, row: str, delta: str) -> List[str]:
    statements = []
    for facet, keys, condition in _facets(dialect, row):
        day = _local_day(dialect, f'{row}.received_at')
        values = f"'{facet}', {day}, {keys[0]}, {keys[1]}, {keys[2]}, {delta}"
        source = f'SELECT {values} WHERE {condition}' if condition else f'VALUES ({values})'
        statements.append(
            f'INSERT INTO ticket_day_counts (facet, day, key1, key2, key3, n) {source} '
            'ON CONFLICT (facet, day, key1, key2, key3) DO UPDATE SET n = ticket_day_counts.n + excluded.n'
        )
    return statements


def _backfill(dialect: str) -> List[str]:
    statements = []
    for facet, keys, condition in _facets(dialect, 't'):
        day = _local_day(dialect, 't.received_at')
        where = "t.kind = 'complaint'" + (f' AND {condition}' if condition else '')
        statements.append(
            'INSERT INTO ticket_day_counts (facet, day, key1, key2, key3, n) '
            f"SELECT '{facet}', {day}, {keys[0]}, {keys[1]}, {keys[2]}, count(*) FROM tickets t WHERE {where} "
            'GROUP BY 2, 3, 4, 5'  # positions: PostgreSQL refuses a constant key ('') in GROUP BY
        )
    return statements


def _sqlite_triggers() -> List[str]:
    columns = ', '.join(COUNTED)
    body: Dict[str, Tuple[str, str]] = {
        'ticket_day_counts_insert': ('AFTER INSERT ON tickets WHEN NEW.kind = \'complaint\'', 'NEW'),
        'ticket_day_counts_delete': ('AFTER DELETE ON tickets WHEN OLD.kind = \'complaint\'', 'OLD'),
        'ticket_day_counts_update_old': (f"AFTER UPDATE OF {columns} ON tickets WHEN OLD.kind = 'complaint'", 'OLD'),
        'ticket_day_counts_update_new': (f"AFTER UPDATE OF {columns} ON tickets WHEN NEW.kind = 'complaint'", 'NEW'),
    }
    return [
        f'CREATE TRIGGER {name} {when} BEGIN '
        + ' '.join(statement + ';' for statement in _upserts('sqlite', row, '-1' if row == 'OLD' else '1'))
        + ' END'
        for name, (when, row) in body.items()
    ]


def _postgres_triggers() -> List[str]:
    apply = ';\n  '.join(_upserts('postgresql', 'r', 'delta'))
    return [
        'CREATE FUNCTION ticket_day_counts_apply(r tickets, delta integer) RETURNS void LANGUAGE plpgsql AS $$\n'
        "BEGIN\n  IF r.kind <> 'complaint' THEN RETURN; END IF;\n  "
        + apply
        + ';\nEND $$',
        'CREATE FUNCTION ticket_day_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$\n'
        "BEGIN\n  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM ticket_day_counts_apply(OLD, -1); END IF;\n"
        "  IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM ticket_day_counts_apply(NEW, 1); END IF;\n"
        '  RETURN NULL;\nEND $$',
        'CREATE TRIGGER ticket_day_counts_change AFTER INSERT OR DELETE OR UPDATE OF '
        + ', '.join(COUNTED)
        + ' ON tickets FOR EACH ROW EXECUTE FUNCTION ticket_day_counts_change()',
    ]


def upgrade() -> None:
    op.create_table(
        'ticket_day_counts',
        sa.Column('facet', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('key1', sa.String(length=200), nullable=False),
        sa.Column('key2', sa.String(length=200), nullable=False),
        sa.Column('key3', sa.String(length=200), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('facet', 'day', 'key1', 'key2', 'key3'),
    )
    op.add_column('data_exports', sa.Column('reason', sa.Text(), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in _backfill(dialect):
        op.execute(statement)
    for statement in _sqlite_triggers() if dialect == 'sqlite' else _postgres_triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('insert', 'delete', 'update_old', 'update_new'):
            op.execute(f'DROP TRIGGER IF EXISTS ticket_day_counts_{name}')
    else:
        op.execute('DROP TRIGGER IF EXISTS ticket_day_counts_change ON tickets')
        op.execute('DROP FUNCTION IF EXISTS ticket_day_counts_change()')
        op.execute('DROP FUNCTION IF EXISTS ticket_day_counts_apply(tickets, integer)')
    op.drop_table('ticket_day_counts')
    with op.batch_alter_table('data_exports') as batch:
        batch.drop_column('reason')
