"""Operator CLI: `python -m bot <group> <command>`."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, List, Optional

from alembic import command
from alembic.config import Config

from bot.db import Database
from bot.handoff import HandoffService
from bot.settings import PROJECT_ROOT, Settings
from bot.spool import ComplaintSpool
from bot.tickets import TicketNotFound, TicketService


def migrate(settings: Settings) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "migrations"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


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
    listing = tickets.add_parser("list", help="newest tickets first")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = tickets.add_parser("show", help="one ticket with its audit trail")
    show.add_argument("ticket_no")
    show.add_argument("--json", action="store_true")
    tickets.add_parser("replay-spool", help="write complaints spooled during a database outage")

    handoffs = groups.add_parser("handoffs", help="handoff requests").add_subparsers(dest="command", required=True)
    hlist = handoffs.add_parser("list", help="handoff requests, highest priority first")
    hlist.add_argument("--active", action="store_true", help="only waiting or assigned")
    hlist.add_argument("--json", action="store_true")

    nlu = groups.add_parser("nlu", help="NLU assets").add_subparsers(dest="command", required=True)
    build = nlu.add_parser("build-spacy", help="build the Chinese spaCy pipeline from source")
    build.add_argument("output")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    if args.group == "db":
        migrate(settings)
        return 0
    if args.group == "nlu":
        from bot.nlu.spacy_pipeline import build_pipeline

        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        build_pipeline(settings).to_disk(output)
        print(f"spaCy pipeline written to {args.output}")
        return 0
    db = Database(settings.database_url)
    if args.group == "tickets":
        service = TicketService(db, settings)
        if args.command == "list":
            _print(service.list(limit=args.limit), args.json)
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
    _print(HandoffService(db).list(active_only=args.active), args.json)
    return 0
