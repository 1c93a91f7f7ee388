"""Demo data: synthetic complaints across every category, channel, region and lifecycle state, never over real ones."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.analysis.periods import Period
from bot.analysis.repeats import link_previous_complaints
from bot.analysis.report import Analysis
from bot.analysis.scope import Scope
from bot.db import Database
from bot.demo import DemoRefused, DemoSeeder
from bot.models import Rating, Ticket, TicketEvent
from bot.tickets import CATEGORY_LABELS, TicketService
from tests.bot.command_line import cli
from tests.bot.complaints import draft
from tests.databases import make_settings

NOW = datetime(2026, 12, 6, 4, tzinfo=timezone.utc)


def _seeder(db: Database, tmp_path: Path) -> DemoSeeder:
    return DemoSeeder(db, make_settings(tmp_path, DATABASE_URL=db.url), seed=7, now=NOW)


def test_demo_tickets_cover_every_category_channel_and_state(db: Database, tmp_path: Path) -> None:
    result = _seeder(db, tmp_path).seed(600, 12)
    assert (result.tickets, result.replaced, result.last_day) == (600, 0, date(2026, 12, 6))
    with db.transaction() as session:

        def values(column: object) -> set:
            return set(session.execute(select(column).distinct()).scalars())

        assert values(Ticket.category) == set(CATEGORY_LABELS)
        assert values(Ticket.channel) == {"rest", "wechat", "desk"}
        assert {"closed", "accepted"} <= values(Ticket.status) and len(values(Ticket.status)) >= 4
        assert values(Ticket.satisfaction) == {None, "satisfied", "basically_satisfied", "dissatisfied"}
        regions = values(Ticket.region)
        assert any(name.endswith("分公司") for name in regions) and any(name.endswith("省") for name in regions)
        assert values(Ticket.root_cause_controllable) == {None, True, False}
        closed = session.execute(select(func.count()).where(Ticket.closed_at.isnot(None))).scalar_one()
        rated = session.execute(select(func.count()).where(Ticket.satisfaction.isnot(None))).scalar_one()
        assert session.execute(select(func.count(TicketEvent.id))).scalar_one() == 600 + closed
        assert session.execute(select(func.count(Rating.id))).scalar_one() == rated
        ticket = session.execute(select(Ticket).limit(1)).scalar_one()
        assert ticket.phone_hash == db.crypto.digest(ticket.phone_number) and ticket.ticket_no.startswith("DM")
        assert max(session.execute(select(Ticket.received_at)).scalars()).replace(tzinfo=timezone.utc) <= NOW

    with db.transaction() as session:  # each complaint's previous one, as the database itself finds it
        planned = session.execute(select(Ticket.id, Ticket.previous_complaint_at).order_by(Ticket.id)).all()
        link_previous_complaints(session)
    with db.transaction() as session:
        assert session.execute(select(Ticket.id, Ticket.previous_complaint_at).order_by(Ticket.id)).all() == planned
        assert any(previous for _, previous in planned)

    settings = make_settings(tmp_path, DATABASE_URL=db.url)
    report = Analysis(db, settings).report(Scope(Period(date(2025, 12, 1), date(2026, 12, 7))), as_of=date(2026, 12, 6))
    assert report.totals.count == 600 and report.repeats.repeat_complaints > 0
    assert report.handling.median_days is not None and report.priorities
    # Two typical cases per category (every category has closed demo complaints at 600), three malicious marks.
    assert {group.category: len(group.cases) for group in report.typical_cases} == dict.fromkeys(CATEGORY_LABELS, 2)
    assert report.malicious.count == 3


def test_seeding_again_replaces_the_demo_tickets(db: Database, tmp_path: Path) -> None:
    _seeder(db, tmp_path).seed(50, 2)
    result = _seeder(db, tmp_path).seed(30, 2)
    assert result.replaced == 50
    with db.transaction() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 30


def test_a_database_with_real_tickets_is_refused_unless_forced(db: Database, tmp_path: Path) -> None:
    TicketService(db, make_settings(tmp_path, DATABASE_URL=db.url)).submit(draft(), "real")
    with pytest.raises(DemoRefused, match="1张真实工单"):
        _seeder(db, tmp_path).seed(10, 1)
    _seeder(db, tmp_path).seed(10, 1, force=True)
    with db.transaction() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 11


@pytest.mark.parametrize("tickets, months, message", [(0, 12, "工单数"), (10, 0, "月数"), (10, 61, "月数")])
def test_sizes_out_of_bounds_are_refused(sqlite_db: Database, tmp_path: Path, tickets: int, months: int, message: str):
    with pytest.raises(ValueError, match=message):
        _seeder(sqlite_db, tmp_path).seed(tickets, months)


def test_the_command_shows_progress_and_refuses_real_data(tmp_path: Path, sqlite_db: Database, settings) -> None:
    seeded = cli(tmp_path, "demo", "seed", "--tickets", "6000", "--months", "3", "--seed", "1")
    assert seeded.returncode == 0, seeded.stderr
    assert "已写入 5000/6000" in seeded.stderr and "已写入 6000/6000" in seeded.stderr
    assert "已生成 6000 张演示工单" in seeded.stdout
    TicketService(sqlite_db, settings).submit(draft(), "real")
    refused = cli(tmp_path, "demo", "seed", "--tickets", "10")
    assert refused.returncode == 1 and "--force" in refused.stderr
    bad = cli(tmp_path, "demo", "seed", "--tickets", "10", "--months", "99", "--force")
    assert bad.returncode == 2 and "月数" in bad.stderr
