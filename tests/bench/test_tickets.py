"""The ticket benchmark's seeding, queries and report work (its figures come from `python -m bench.tickets`)."""

from datetime import datetime, timezone

from sqlalchemy import func, select

from bench.tickets import measure, queries, report, seed, timed_pass
from bot.models import Ticket
from bot.workspace import Workspace


def test_seed_measure_and_report_on_a_small_database(db, settings):
    now = datetime(2026, 6, 20, 2, tzinfo=timezone.utc)
    seed(db, settings, 300, now)
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 300
        assert session.execute(select(func.count()).where(Ticket.status != "closed")).scalar_one() > 0
    passes = {"first": timed_pass(db, settings, now)}
    timings = measure(Workspace(db, settings, clock=lambda: now), repeats=1)
    assert set(timings) == set(queries()) and all(len(values) == 1 for values in timings.values())
    text = report(300, 1.0, timings, passes, timings)
    assert "List page + counts, all queries, vacuumed:" in text and "after the passes:" in text
    assert "Reminder pass, first" in text
