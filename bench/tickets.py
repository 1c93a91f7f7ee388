"""`.venv/bin/python -m bench.tickets`: the ticket workspace and reminder pass at scale.

Seeds a fresh PostgreSQL database with 200,000 tickets received over four months,
in the order they arrived (most closed, the open ones across owners, steps and
deadlines), then times the workspace's list page with its counts for the queries
the desk makes, and the reminder pass (the first, which marks everything, then
steady-state ones).
Targets (issue 14): list page and counts p95 ≤ 300 ms, reminder pass ≤ 5 s.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from sqlalchemy import insert, text

from bench.stats import percentile
from bot.db import Database, create_postgres_database, drop_postgres_database, migrate
from bot.deadlines import DeadlineRules, effective_deadline
from bot.models import Ticket
from bot.reminders import ReminderPass
from bot.settings import Settings
from bot.workspace import TicketFilter, Workspace

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STATUSES = ["accepted", "investigating", "processing", "feedback", "follow_up"]
CATEGORIES = ["sales", "surrender", "claims", "underwriting", "policy_service", "counter_service", "other"]
AGENTS = [f"agent{n:02d}" for n in range(20)]
BATCH = 5000
TARGET_LIST_MS = 300.0
TARGET_PASS_S = 5.0


@dataclass(frozen=True)
class Viewer:
    username: str
    is_supervisor: bool


SUPERVISOR = Viewer("boss", True)
AGENT = Viewer("agent03", False)


def _ticket(
    n: int, age_days: float, now: datetime, rules: DeadlineRules, rng: random.Random, crypto: Any
) -> Dict[str, Any]:
    received = now - timedelta(days=age_days)
    # Older tickets are mostly closed; about 12% of all stay open.
    is_open = rng.random() < (0.45 if received > now - timedelta(days=20) else 0.05)
    phone = f"13{rng.randint(0, 999_999_999):09d}"
    is_complex = rng.random() < 0.05
    return {
        "ticket_no": f"TS{received.strftime('%Y%m%d')}{n:06d}",
        "submission_key": f"bench:{n}",
        "kind": "callback" if rng.random() < 0.2 else "complaint",
        "conversation_id": f"bench-{n}",
        "channel": rng.choice(["rest", "web", "wechat"]),
        "status": rng.choice(STATUSES) if is_open else "closed",
        "category": rng.choice(CATEGORIES),
        "policy_number": f"PL{rng.randint(0, 10**12):012d}",
        "complainant_name": rng.choice("张王李赵刘陈杨黄周吴") + rng.choice(["伟", "芳", "娜", "敏", "静", "磊", "洋"]),
        "phone_number": phone,
        "phone_hash": crypto.digest(phone),
        "phone_last4": phone[-4:],
        "description": "理赔申请交了两个月没有结果",
        "customer_request": "尽快赔付",
        "received_at": received,
        "deadline": effective_deadline(received, rules, now, is_complex=is_complex),
        "closed_at": None if is_open else received + timedelta(days=rng.uniform(1, 14)),
        "updated_at": received,
        "assignee": rng.choice(AGENTS) if (not is_open or rng.random() < 0.7) else None,
        "is_complex": is_complex,
        "risk_flags": "media" if rng.random() < 0.01 else None,
        "priority": 0,
    }


def seed(db: Database, settings: Settings, count: int, now: datetime) -> float:
    """Inserts `count` tickets; the seconds it took."""
    rules, rng, started = DeadlineRules.of(settings), random.Random(14), time.perf_counter()
    # Oldest first, as tickets arrive: the open (recent) ones share the table's last pages.
    ages = sorted((rng.uniform(0, 120) for _ in range(count)), reverse=True)
    for first in range(0, count, BATCH):
        rows = [_ticket(n, ages[n], now, rules, rng, db.crypto) for n in range(first, min(first + BATCH, count))]
        with db.transaction() as session:
            session.execute(insert(Ticket), rows)
    # What autovacuum does on a live database: planner statistics and the visibility map.
    with db.engine.connect() as connection:
        vacuum = "VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(vacuum))
    return time.perf_counter() - started


def queries() -> Dict[str, Callable[[Workspace], Any]]:
    """The list pages the desk asks for most, each with its counts."""
    return {
        "supervisor, default (deadline, overdue first)": lambda w: w.list(SUPERVISOR, TicketFilter()),
        "agent, own + pool": lambda w: w.list(AGENT, TicketFilter()),
        "agent, mine only": lambda w: w.list(AGENT, TicketFilter(assignee="mine")),
        "overdue": lambda w: w.list(SUPERVISOR, TicketFilter(deadline_state="overdue")),
        "unassigned, due within 3 days": lambda w: w.list(
            SUPERVISOR, TicketFilter(assignee="unassigned", due_within_days=3)
        ),
        "status 处理, by priority": lambda w: w.list(SUPERVISOR, TicketFilter(status="processing", sort="priority")),
        "received, page 40": lambda w: w.list(SUPERVISOR, TicketFilter(sort="received", page=40)),
        "search phone last 4": lambda w: w.list(SUPERVISOR, TicketFilter(search="1234")),
        "search name": lambda w: w.list(SUPERVISOR, TicketFilter(search="张伟")),
        "risk flag media": lambda w: w.list(SUPERVISOR, TicketFilter(risk_flag="media")),
    }


def measure(workspace: Workspace, repeats: int) -> Dict[str, List[float]]:
    """Milliseconds per call of each query, after one warm-up call."""
    timings: Dict[str, List[float]] = {}
    for name, query in queries().items():
        query(workspace)
        timings[name] = []
        for _ in range(repeats):
            started = time.perf_counter()
            query(workspace)
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def timed_pass(db: Database, settings: Settings, now: datetime) -> float:
    started = time.perf_counter()
    ReminderPass(db, settings, clock=lambda: now, runner=f"bench-{uuid.uuid4().hex[:6]}").run_once()
    return time.perf_counter() - started


def _overall(timings: Dict[str, List[float]]) -> float:
    return percentile([value for values in timings.values() for value in values], 95) or 0.0


def report(
    count: int,
    seeded_s: float,
    timings: Dict[str, List[float]],
    passes: Dict[str, float],
    after_passes: Optional[Dict[str, List[float]]] = None,
) -> str:
    later = after_passes or {}
    lines = [
        f"# Ticket workspace benchmark ({datetime.now(timezone.utc).date().isoformat()})",
        "",
        f"{count:,} tickets on PostgreSQL, seeded in {seeded_s:.0f} s. Each query: the page (50 rows) and",
        "its counts per status and deadline state, as bot/workspace.py runs them for the desk; timed",
        "once the database is vacuumed (as autovacuum leaves it) and again right after the reminder",
        "passes rewrote the open tickets, before any vacuum.",
        "",
        "| query | p50 | p95 | p95 after the passes |",
        "|---|---:|---:|---:|",
    ]
    for name, values in timings.items():
        after = f"{percentile(later[name], 95):.0f} ms" if name in later else "–"
        lines.append(f"| {name} | {percentile(values, 50):.0f} ms | {percentile(values, 95):.0f} ms | {after} |")
    lines.append("")
    for label, measured in (("vacuumed", timings), ("after the passes", later)):
        if measured:
            overall = _overall(measured)
            verdict = "met" if overall <= TARGET_LIST_MS else "NOT met"
            lines.append(
                f"- **List page + counts, all queries, {label}:** p95 {overall:.0f} ms "
                f"(target ≤ {TARGET_LIST_MS:.0f} ms: {verdict})."
            )
    for name, seconds in passes.items():
        verdict = "met" if seconds <= TARGET_PASS_S else "NOT met"
        lines.append(f"- **Reminder pass, {name}:** {seconds:.2f} s (target ≤ {TARGET_PASS_S:.0f} s: {verdict}).")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tickets", description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per query")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to create the bench one from")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args(argv)
    url = args.admin_url.rsplit("/", 1)[0] + f"/complaints_bench_{uuid.uuid4().hex[:8]}"
    create_postgres_database(url)
    try:
        with tempfile.TemporaryDirectory() as var_dir:
            settings = Settings.from_env({"COMPLAINTS_VAR_DIR": var_dir, "DATABASE_URL": url})
            migrate(settings)
            db = Database(url)
            now = datetime.now(timezone.utc)
            seeded = seed(db, settings, args.tickets, now)
            workspace = Workspace(db, settings, clock=lambda: now + timedelta(days=1))
            timings = measure(workspace, args.repeats)
            passes = {"first (marks every open ticket)": timed_pass(db, settings, now)}
            passes["steady state (next run)"] = timed_pass(db, settings, now + timedelta(minutes=5))
            passes["next day"] = timed_pass(db, settings, now + timedelta(days=1))
            after_passes = measure(workspace, args.repeats)
            db.dispose()
        text_report = report(args.tickets, seeded, timings, passes, after_passes)
        print(text_report)
        if args.output:
            args.output.write_text(text_report, encoding="utf-8")
        return 0
    finally:
        drop_postgres_database(url)


if __name__ == "__main__":
    raise SystemExit(main())
