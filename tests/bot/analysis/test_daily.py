"""The daily roll-up's report equals the report read from the tickets, after any kind of write to them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import List

from sqlalchemy import delete, insert, select, text, update

from bot.analysis.daily import ticket_day_counts
from bot.analysis.periods import Period
from bot.analysis.report import Analysis, Report
from bot.analysis.scope import Scope
from bot.db import Database, migrate
from bot.models import Ticket
from tests.bot.analysis.dataset import add, january_2026
from tests.bot.sample_tickets import shanghai
from tests.databases import make_settings

AS_OF = date(2026, 2, 10)
PERIODS = [
    Period.month(2026, 1),
    Period.year(2026),
    Period.year(2025),
    Period.quarter(2025, 4),
    Period(date(2025, 12, 31), date(2026, 1, 16)),
]


def _analyses(db: Database, tmp_path: Path) -> List[Analysis]:
    settings = make_settings(tmp_path, DATABASE_URL=db.url)
    labels = {"wechat": "微信公众号"}
    return [Analysis(db, settings, channel_labels=labels, rollup=used) for used in (True, False)]


def _both(db: Database, tmp_path: Path, period: Period, **filters: str) -> List[Report]:
    return [analysis.report(Scope(period, **filters), as_of=AS_OF) for analysis in _analyses(db, tmp_path)]


def _assert_same(db: Database, tmp_path: Path) -> None:
    for period in PERIODS:
        rolled_up, raw = _both(db, tmp_path, period)
        assert rolled_up == raw, period


def test_the_roll_up_gives_the_raw_figures_for_whole_reports(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        january_2026(session)
    rolled_up, raw = _both(db, tmp_path, Period.month(2026, 1))
    assert rolled_up == raw
    assert rolled_up.totals.count == 6 and rolled_up.handling.median_days == 4  # the hand-computed figures
    _assert_same(db, tmp_path)


def test_the_roll_up_follows_every_kind_of_write_to_the_tickets(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        january_2026(session)
    with db.transaction() as session:  # ORM changes of every counted column
        tickets = session.execute(select(Ticket).order_by(Ticket.id)).scalars().all()
        first, second, third, fourth, fifth, sixth = tickets[:6]
        fifth.closed_at, fifth.status = shanghai(2026, 2, 3, 9), "closed"
        fifth.root_cause_controllable, fifth.root_cause_category = True, "process_design"
        first.closed_at, first.root_cause_controllable, first.root_cause_category = None, None, None  # reopened
        second.category, second.sub_reason = "sales", "misleading_returns"
        third.satisfaction, third.region = "satisfied", "上海分公司"
        fourth.received_at = shanghai(2025, 12, 31, 9)  # moved into the previous month
        fourth.deadline = date(2026, 1, 1)
        sixth.channel = "wechat"
        tickets[6].kind = "complaint"  # the callback becomes a complaint
        add(session, shanghai(2026, 1, 8, 23, 59), category="sales", satisfaction="dissatisfied")
    _assert_same(db, tmp_path)
    with db.transaction() as session:  # a bulk UPDATE and a DELETE bypassing the ORM's unit of work
        session.execute(update(Ticket).where(Ticket.category == "claims").values(region="浙江分公司"))
        session.execute(delete(Ticket).where(Ticket.category == "policy_service"))
        session.execute(text("UPDATE tickets SET satisfaction = 'dissatisfied' WHERE channel = 'wechat'"))
    _assert_same(db, tmp_path)
    with db.transaction() as session:  # everything gone: the roll-up counts nothing either
        session.execute(delete(Ticket))
    rolled_up, raw = _both(db, tmp_path, Period.year(2026))
    assert rolled_up == raw and rolled_up.totals.count == 0 and rolled_up.channels == []


def test_whole_reports_read_the_roll_up_and_filtered_ones_the_tickets(db: Database, tmp_path: Path) -> None:
    bogus = ticket_day_counts.c.key1 == "bogus-channel"
    with db.transaction() as session:
        january_2026(session)
        # A count only the roll-up holds: were it not read, the two reports could not differ.
        session.execute(
            insert(ticket_day_counts).values(
                facet="channel", day=date(2026, 1, 9), key1="bogus-channel", key2="0", key3="", n=5
            )
        )
    try:
        rolled_up, raw = _both(db, tmp_path, Period.month(2026, 1))
        assert (rolled_up.totals.count, raw.totals.count) == (11, 6)
        filtered = _both(db, tmp_path, Period.month(2026, 1), category="claims")
        assert filtered[0] == filtered[1]
    finally:  # the PostgreSQL database is shared by the session's tests, and only triggers clear this table
        with db.transaction() as session:
            session.execute(delete(ticket_day_counts).where(bogus))


def test_the_migration_fills_the_roll_up_from_existing_tickets(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        january_2026(session)
    settings = make_settings(tmp_path, DATABASE_URL=db.url)
    from alembic import command
    from alembic.config import Config

    from bot.db import PROJECT_ROOT

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "migrations"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    command.downgrade(config, "0016")  # drops the roll-up and its triggers
    with db.transaction() as session:  # written while no trigger counts
        add(session, shanghai(2026, 1, 9, 9), channel="wechat", satisfaction="satisfied")
    migrate(settings)
    _assert_same(db, tmp_path)
    rolled_up, _ = _both(db, tmp_path, Period.month(2026, 1))
    assert rolled_up.totals.count == 7
