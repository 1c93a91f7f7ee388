"""Operator CLI: `python -m bot <group> <command>`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, List, Optional

from bot.agents import AccountError, AgentService, Role
from bot.clock import utc_now
from bot.db import Database, migrate
from bot.handoff import HandoffService
from bot.logs import LoggingSetupError, configure_logging
from bot.settings import PROJECT_ROOT, Settings
from bot.spool import ComplaintSpool
from bot.tickets import TicketNotFound, TicketService


@dataclass(frozen=True)
class _Operator:
    """The CLI sees every ticket, as a supervisor does."""

    username: str = "operator"
    is_supervisor: bool = True


OPERATOR = _Operator()
TRAINING_CONFIG = "config.yml"


def _print(data: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items() if key != "events"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Complaint assistant operator tools")
    groups = parser.add_subparsers(dest="group", required=True)

    db = groups.add_parser("db", help="database schema").add_subparsers(dest="command", required=True)
    db.add_parser("upgrade", help="apply Alembic migrations up to head")

    tickets = groups.add_parser("tickets", help="complaint tickets").add_subparsers(dest="command", required=True)
    listing = tickets.add_parser("list", help="tickets, newest first unless --sort says otherwise")
    listing.add_argument("--status", help="accepted, investigating, processing, feedback, follow_up or closed")
    listing.add_argument("--overdue", action="store_true", help="only open tickets past their deadline")
    listing.add_argument("--assignee", help="an agent's username, or unassigned")
    listing.add_argument("--flag", help="a risk flag: media, regulator, lawsuit or violence")
    listing.add_argument("--sort", choices=["received", "deadline", "priority"], default="received")
    listing.add_argument("--limit", type=int, default=100, help="at most 200")
    listing.add_argument("--json", action="store_true")
    show = tickets.add_parser("show", help="one ticket with its audit trail")
    show.add_argument("ticket_no")
    show.add_argument("--json", action="store_true")
    tickets.add_parser("replay-spool", help="write complaints spooled during a database outage")
    remind = tickets.add_parser("remind", help="mark due-soon and overdue tickets and alert supervisors")
    remind.add_argument("--every", help="repeat at this period until stopped, e.g. 5m (safe on every replica)")

    notices = groups.add_parser("notices", help="notices to complainants (the outbox)").add_subparsers(
        dest="command", required=True
    )
    send = notices.add_parser("send", help="deliver due notices (retries, fallback to SMS, alerts on failure)")
    send.add_argument("--every", help="repeat at this period until stopped, e.g. 10s (safe on every replica)")

    handoffs = groups.add_parser("handoffs", help="handoff requests").add_subparsers(dest="command", required=True)
    hlist = handoffs.add_parser("list", help="handoff requests, highest priority first")
    hlist.add_argument("--active", action="store_true", help="only waiting or assigned")
    hlist.add_argument("--json", action="store_true")

    agents = groups.add_parser("agents", help="desk accounts").add_subparsers(dest="command", required=True)
    add = agents.add_parser("add", help="create an agent, supervisor or trainer (asks for the password)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name shown to policyholders, e.g. 王小明")
    add.add_argument("--role", choices=[role.value for role in Role], default=Role.AGENT.value)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    agents.add_parser("list", help="active accounts")
    deactivate = agents.add_parser("deactivate", help="disable an account and end its sessions")
    deactivate.add_argument("username")

    desk = groups.add_parser("desk", help="the agent desk").add_subparsers(dest="command", required=True)
    serve = desk.add_parser("serve", help="run the agent desk web application")
    serve.add_argument("--host", default=None, help="address to listen on (default: BIND_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5006)

    analytics = groups.add_parser("analytics", help="the analytics feed (production topology)").add_subparsers(
        dest="command", required=True
    )
    analytics.add_parser("consume", help="read Rasa's events from RabbitMQ into the feed (runs until stopped)")
    feed = analytics.add_parser("show", help="per-conversation summaries, most recently active first")
    feed.add_argument("--conversation", help="one conversation id")
    feed.add_argument("--limit", type=int, default=100)
    feed.add_argument("--json", action="store_true")

    privacy = groups.add_parser("privacy", help="personal data: keys, data subject requests").add_subparsers(
        dest="command", required=True
    )
    privacy.add_parser("rotate-keys", help="re-encrypt phone numbers with the first FIELD_ENCRYPTION_KEYS key")
    export = privacy.add_parser("export", help="everything held about a person, as JSON (audited)")
    export.add_argument("--phone", required=True, help="the person's mobile number")
    export.add_argument("--reason", help="why (recorded); default: data subject access request")
    export.add_argument("--operator", help="who asks (recorded); default: this OS account")
    export.add_argument("--output", help="write the JSON to this file (mode 600) instead of stdout")
    erase = privacy.add_parser("erase", help="erase a person's data, keeping complaint statistics (audited)")
    erase.add_argument("--phone", required=True, help="the person's mobile number")
    erase.add_argument("--reason", required=True, help="why (recorded), e.g. the request's reference")
    erase.add_argument("--operator", help="who asks (recorded); default: this OS account")
    requests_log = privacy.add_parser("requests", help="the recorded data subject requests, newest first")
    requests_log.add_argument("--limit", type=int, default=100)

    retention = groups.add_parser("retention", help="deleting personal data once its period is over").add_subparsers(
        dest="command", required=True
    )
    retention.add_parser("purge", help="purge what is due now (one run, recorded)")
    scheduled = retention.add_parser("run", help="purge on a schedule until stopped (safe on every replica)")
    scheduled.add_argument("--every", default="1h", help="period such as 30m, 1h, 1d (default 1h)")
    runs = retention.add_parser("runs", help="the recorded purge runs, newest first")
    runs.add_argument("--limit", type=int, default=20)

    demo = groups.add_parser("demo", help="synthetic demo data").add_subparsers(dest="command", required=True)
    seed = demo.add_parser("seed", help="fill the database with synthetic complaints (replaces earlier demo data)")
    seed.add_argument("--tickets", type=int, default=2000, help="how many complaints (1 to 2,000,000)")
    seed.add_argument("--months", type=int, default=12, help="spread over this many months up to today (1 to 60)")
    seed.add_argument("--seed", type=int, help="random seed, for the same data every time")
    seed.add_argument("--force", action="store_true", help="write even though the database holds real tickets")

    nlu = groups.add_parser("nlu", help="NLU assets").add_subparsers(dest="command", required=True)
    build = nlu.add_parser("build-spacy", help="build the Chinese spaCy pipeline from source")
    build.add_argument("output")
    reviewed = nlu.add_parser("export-reviewed", help="write the messages reviewed on the desk as NLU training data")
    reviewed.add_argument("output", nargs="?", default="data/nlu/reviewed.yml", help="a .yml file (data/nlu/…)")

    model = groups.add_parser("model", help="the Rasa model").add_subparsers(dest="command", required=True)
    train = model.add_parser("train", help="rasa train (make train), showing its progress; Rasa's log in var/log/")
    train.add_argument(
        "--config", default=TRAINING_CONFIG, help="Rasa config (default config.yml; times are recorded only for it)"
    )
    return parser


def _process(args: argparse.Namespace) -> str:
    """The name a command's log records go under (bot/logs.py): its long-running process, or the CLI."""
    if args.group == "desk":
        return "desk"
    if args.group == "analytics" and args.command == "consume":
        return "analytics"
    if args.group == "retention" and args.command == "run":
        return "retention"
    if args.group == "tickets" and args.command == "remind" and args.every:
        return "reminders"
    if args.group == "notices" and args.every:
        return "notices"
    return "cli"


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        configure_logging(_process(args), settings)
    except LoggingSetupError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.group == "db":
        migrate(settings)
        return 0
    if args.group == "nlu" and args.command == "export-reviewed":
        return _export_reviewed(args, settings)
    if args.group == "nlu":
        from bot.rasa.nlu.spacy_pipeline import build_pipeline

        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        build_pipeline(settings).to_disk(output)
        print(f"spaCy pipeline written to {args.output}")
        return 0
    if args.group == "model":
        return _train_model(args, settings)
    if args.group == "desk":
        from bot.desk.app import create_app

        create_app(settings).run(host=args.host or settings.bind_host, port=args.port, access_log=False, workers=1)
        return 0
    db = Database(settings.database_url)
    if args.group == "privacy":
        return _privacy(args, settings, db)
    if args.group == "retention":
        return _retention(args, settings, db)
    if args.group == "analytics":
        return _analytics(args, settings, db)
    if args.group == "demo":
        return _demo(args, settings, db)
    if args.group == "agents":
        return _agents(args, AgentService(db))
    if args.group == "tickets" and args.command == "remind":
        return _remind(args, settings, db)
    if args.group == "notices":
        return _send_notices(args, settings, db)
    if args.group == "tickets":
        service = TicketService(db, settings)
        if args.command == "list":
            return _list_tickets(args, settings, db)
        elif args.command == "show":
            try:
                _print(service.get(args.ticket_no.upper()), args.json)
            except TicketNotFound:
                print(f"ticket {args.ticket_no} not found", file=sys.stderr)
                return 1
        else:
            receipts = ComplaintSpool(settings.spool_dir).drain(service)
            print(f"replayed {len(receipts)} spooled complaint(s)")
        return 0
    _print(HandoffService(db, settings).list(active_only=args.active), args.json)
    return 0


def _train_model(args: argparse.Namespace, settings: Settings) -> int:
    import os
    import shutil

    from bot.launch.commands import train_command
    from bot.training.run import train

    times = settings.var_dir / "training-times.json"
    return train(
        train_command(Path(args.config)),
        log=settings.var_dir / "log" / "training.log",
        times=times,
        record=args.config == TRAINING_CONFIG,  # another config's times would mislead the next estimate
        out=sys.stdout,
        terminal=sys.stdout.isatty(),
        columns=shutil.get_terminal_size().columns,
        cwd=PROJECT_ROOT,
        # As the Makefile exports them; unbuffered, so progress arrives as it happens.
        env={"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", **os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _demo(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from bot.demo import CHUNK, DemoRefused, DemoSeeder

    def progress(done: int, total: int) -> None:
        print(f"已写入 {done}/{total} 张演示工单", file=sys.stderr, flush=True)

    seeder = DemoSeeder(db, settings, seed=args.seed)
    try:
        result = seeder.seed(
            args.tickets, args.months, force=args.force, progress=progress if args.tickets > CHUNK else None
        )
    except DemoRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"已生成 {result.tickets} 张演示工单（{result.first_day} 至 {result.last_day}），"
        f"替换了 {result.replaced} 张旧的演示工单"
    )
    return 0


def _export_reviewed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu_review import NluReviews, export_yaml, training_texts
    from bot.retention import TrackerEvents

    output = Path(args.output)
    if output.suffix not in (".yml", ".yaml"):
        print("the output must be a .yml file (Rasa's NLU training data)", file=sys.stderr)
        return 2
    db = Database(settings.database_url)
    trackers = TrackerEvents(settings.tracker_database_url)
    try:
        reviews = NluReviews(db, trackers, []).reviewed()
    finally:
        trackers.dispose()
    # Examples already in the training data (but for an earlier export to this file) are left out.
    known = training_texts(PROJECT_ROOT / "data" / "nlu", leave_out=output)
    text, count = export_yaml(reviews, known, utc_now())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"{count} reviewed example(s) written to {output}")
    return 0


def _analytics(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from bot.analytics import AnalyticsConsumer, AnalyticsFeed, summaries_as_rows

    feed = AnalyticsFeed(db)
    if args.command == "show":
        if args.conversation:
            found = feed.conversation(args.conversation)
            if found is None:
                print(f"no analytics for conversation {args.conversation!r}", file=sys.stderr)
                return 1
            _print(found if args.json else summaries_as_rows([found]), args.json)
            return 0
        summaries = feed.recent(args.limit)
        _print(summaries if args.json else summaries_as_rows(summaries), args.json)
        return 0

    import asyncio
    import signal

    async def consume() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await AnalyticsConsumer(settings, feed).run(stop)

    asyncio.run(consume())
    return 0


def _privacy(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    import os

    from bot.key_rotation import rotate_keys
    from bot.retention import TrackerEvents
    from bot.subject_requests import RequestError, SubjectRequests

    if args.command == "rotate-keys":
        report = rotate_keys(db)
        print(json.dumps({"re_encrypted": report.as_dict()}))
        return 0
    trackers = TrackerEvents(settings.tracker_database_url)
    requests = SubjectRequests(db, trackers)
    try:
        if args.command == "requests":
            _print(requests.history(limit=args.limit), True)
            return 0
        operator = args.operator or getpass.getuser()
        if args.command == "export":
            data = requests.export(args.phone, operator, args.reason)
            if args.output:
                fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as handle:
                    json.dump(data, handle, ensure_ascii=False, indent=2)
                print(f"exported to {args.output} (request {data['request_id']})", file=sys.stderr)
            else:
                _print(data, True)
            return 0
        _print(requests.erase(args.phone, operator, args.reason), True)
        return 0
    except RequestError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        trackers.dispose()


def _retention(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    import logging

    from bot.privacy import install_log_masking
    from bot.retention import RetentionPurge, TrackerEvents

    if args.command == "runs":
        from sqlalchemy import select

        from bot.models import RetentionRun

        with db.transaction() as session:
            rows = session.execute(select(RetentionRun).order_by(RetentionRun.id.desc()).limit(args.limit))
            _print([row.as_dict() for row in rows.scalars()], True)
        return 0
    install_log_masking()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    trackers = TrackerEvents(settings.tracker_database_url)
    purge = RetentionPurge(db, trackers, settings)
    try:
        if args.command == "purge":
            report = purge.run_once()
            if report is None:
                print("another purge is running; nothing done", file=sys.stderr)
                return 0
            print(json.dumps({"run": report.run_id, "counts": report.counts}))
            return 0
        return _repeat(args.every, purge.run_forever)
    finally:
        trackers.dispose()


def _list_tickets(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from bot.workspace import InvalidFilter, TicketFilter, Workspace

    try:
        query = TicketFilter(
            status=args.status,
            deadline_state="overdue" if args.overdue else None,
            assignee=args.assignee or "anyone",
            risk_flag=args.flag,
            sort=args.sort,
            page_size=args.limit,
        )
    except InvalidFilter as exc:
        print(exc, file=sys.stderr)
        return 2
    _print(Workspace(db, settings).records(OPERATOR, query), args.json)
    return 0


def _remind(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    from dataclasses import asdict

    from bot.reminders import ReminderPass

    reminders = ReminderPass(db, settings)
    if not args.every:
        report = reminders.run_once()
        print(json.dumps(asdict(report) if report else {"skipped": "another runner is working"}))
        return 0
    return _repeat(args.every, reminders.run_forever)


def _send_notices(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    import asyncio
    from dataclasses import asdict

    from bot.notice_sender import NoticeSender, routes

    sender = NoticeSender(db, settings, routes(settings, db))
    if not args.every:
        print(json.dumps(asdict(asyncio.run(sender.run_once_and_close()))))
        return 0
    return _repeat(args.every, sender.run_forever, minimum=timedelta(seconds=1))


def _repeat(
    period: str,
    run_forever: Callable[[timedelta, threading.Event], None],
    minimum: timedelta = timedelta(minutes=1),
) -> int:
    """Runs a job every `period` (e.g. 5m; at least `minimum`) until SIGINT or SIGTERM."""
    import signal

    from bot.retention import parse_duration

    try:
        every = parse_duration(period, minimum)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_forever(every, stop)
    return 0


def _agents(args: argparse.Namespace, service: AgentService) -> int:
    if args.command == "list":
        for account in service.list():
            print(f"{account.username}  {account.display_name}  {account.role.value}")
        return 0
    if args.command == "deactivate":
        if not service.deactivate(args.username):
            print(f"no account {args.username!r}", file=sys.stderr)
            return 1
        print(f"{args.username} deactivated")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            print("passwords differ", file=sys.stderr)
            return 1
    try:
        account = service.add(args.username, args.name, password, Role(args.role))
    except AccountError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{account.role.value} {account.username} created")
    return 0
