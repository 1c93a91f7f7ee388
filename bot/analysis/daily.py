"""The daily roll-up (ticket_day_counts): complaints counted per Beijing-time day of receipt and per facet, so a
year's report sums a few thousand rows instead of grouping a third of a million tickets.

Database triggers keep it (migration 0018): every INSERT, DELETE and UPDATE of a counted column of `tickets`
moves the row's counts in the same transaction, whatever code writes, so it cannot drift from the tickets.
Report periods are whole local days, so the roll-up answers a whole unfiltered report; a filtered one
(channel, category, region) reads the tickets (docs/analysis.md, "Daily roll-up").

The table is not in bot.models' metadata on purpose: only the triggers write it, and code that empties
`tickets` (tests, retention) must leave it to them.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, Dict, List, Tuple

from sqlalchemy import Column, Date, Integer, MetaData, PrimaryKeyConstraint, String, Table, func, select
from sqlalchemy.orm import Session

from bot.analysis.periods import Period

OFFSET_MINUTES = 480  # the local day the triggers count in (Asia/Shanghai); another zone reads the tickets
CHANNEL, REASON, REGION, CAUSE, CLOSING = "channel", "reason", "region", "cause", "closing"

ticket_day_counts = Table(
    "ticket_day_counts",
    MetaData(),
    # facet: which grouping the keys belong to (the facets and keys are defined in migration 0018):
    #   channel: channel, closed '1'/'0' · reason: category, sub-reason, satisfaction · region: region ·
    #   cause: category, controllable ''/'1'/'0', root-cause category · closing (closed only): days to 结案,
    #   结案 on or before the deadline '1'/'0'. '' stands for none.
    Column("facet", String(16), nullable=False),
    Column("day", Date, nullable=False),
    Column("key1", String(200), nullable=False),
    Column("key2", String(200), nullable=False),
    Column("key3", String(200), nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("facet", "day", "key1", "key2", "key3"),
)


def sums(session: Session, period: Period, facet: str, *keys: str) -> List[Tuple[Any, ...]]:
    """(the keys' values…, complaints) of one facet over the period's days, groups with none left out."""
    table = ticket_day_counts
    columns = [table.c[key] for key in keys]
    total = func.sum(table.c.n)
    rows = session.execute(
        select(*columns, total)
        .where(table.c.facet == facet, table.c.day >= period.start, table.c.day < period.end)
        .group_by(*columns)
        .having(total > 0)
    )
    return [tuple(row[:-1]) + (int(row[-1]),) for row in rows]


def per_day(session: Session, period: Period, facet: str, key2: str) -> Dict[date, int]:
    """Complaints per local day of one facet whose second key is `key2` (e.g. the open ones)."""
    table = ticket_day_counts
    total = func.sum(table.c.n)
    rows = session.execute(
        select(table.c.day, total)
        .where(table.c.facet == facet, table.c.key2 == key2, table.c.day >= period.start, table.c.day < period.end)
        .group_by(table.c.day)
        .having(total > 0)
    )
    found: Counter[date] = Counter()
    for day, count in rows:
        found[day if isinstance(day, date) else date.fromisoformat(str(day))] += int(count)
    return dict(found)
