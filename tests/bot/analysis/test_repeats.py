"""Repeat complaints are counted from previous_complaint_at, which every way of writing a ticket fills."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

from sqlalchemy import select

from bot.db import Database
from bot.models import Ticket
from bot.tickets import TicketService
from tests.bot.complaints import draft
from tests.bot.sample_tickets import shanghai
from tests.databases import make_settings


def test_a_new_ticket_records_when_the_same_phone_last_complained(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, DATABASE_URL=db.url)
    moments = [shanghai(2026, 1, 1, 9), shanghai(2026, 1, 5, 9), shanghai(2026, 1, 9, 9)]
    for number, (moment, phone) in enumerate(zip(moments, ["13912340001", "13800002222", "13912340001"])):
        TicketService(db, settings, clock=lambda moment=moment: moment).submit(draft(phone_number=phone), f"k{number}")
    callback = shanghai(2026, 1, 10, 9)
    TicketService(db, settings, clock=lambda: callback).submit(draft(phone_number="13800002222", kind="callback"), "c")
    later = shanghai(2026, 1, 11, 9)
    TicketService(db, settings, clock=lambda: later).submit(draft(phone_number="13800002222"), "k3")
    with db.transaction() as session:
        found = [
            None if value is None else value.replace(tzinfo=value.tzinfo or timezone.utc)
            for value in session.execute(select(Ticket.previous_complaint_at).order_by(Ticket.id)).scalars()
        ]
    # The callback (留言) is no complaint: the last ticket's previous one is B's of 5 January.
    assert found == [None, None, moments[0], moments[1], moments[1]]
