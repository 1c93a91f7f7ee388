"""`.venv/bin/python -m bench.analysis`: how long the complaint analysis takes on a large database (docs/benchmark.md).

Seeds demo complaints (bot/demo.py) into the database given, unless it already holds that many, then builds
the report for a period several times and prints the server time per run, its p95 and the database's size.
Not a test: the figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import func, select

from bench.stats import percentile
from bot.analysis.periods import Period
from bot.analysis.report import Analysis
from bot.analysis.scope import Scope
from bot.db import Database, migrate
from bot.demo import DEMO_KEY, DemoSeeder
from bot.models import Ticket
from bot.settings import Settings


def _demo_tickets(db: Database) -> int:
    with db.transaction() as session:
        return int(
            session.execute(
                select(func.count(Ticket.id)).where(Ticket.submission_key.like(f"{DEMO_KEY}%"))
            ).scalar_one()
        )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.analysis", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--period", default=str(datetime.now(timezone.utc).year - 1), help="e.g. 2025 or 2025-Q3")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--raw", action="store_true", help="read the tickets, not the daily roll-up")
    parser.add_argument("--force", action="store_true", help="seed even though the database holds real tickets")
    args = parser.parse_args(argv)
    settings = Settings.from_env()  # DATABASE_URL says which database
    started = time.perf_counter()
    migrate(settings)
    print(f"migrating: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    db = Database(settings.database_url)
    if _demo_tickets(db) != args.tickets:
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done % 100_000 == 0 or done == total:
                print(f"seeded {done}/{total} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)

        DemoSeeder(db, settings, seed=1).seed(args.tickets, args.months, force=args.force, progress=progress)
        print(f"seeding: {time.perf_counter() - started:.1f} s for {args.tickets} tickets")
    analysis = Analysis(db, settings, rollup=not args.raw)
    scope = Scope(Period.parse(args.period))
    seconds = []
    for _ in range(args.runs):
        started = time.perf_counter()
        report = analysis.report(scope)
        seconds.append(time.perf_counter() - started)
    print(
        f"{db.engine.dialect.name}, {'tickets' if args.raw else 'daily roll-up'}, {args.tickets} tickets, "
        f"period {scope.period.label} ({report.totals.count} in it): "
        f"runs {', '.join(f'{value:.2f}' for value in seconds)} s; p95 {percentile(seconds, 95):.2f} s"
    )
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
