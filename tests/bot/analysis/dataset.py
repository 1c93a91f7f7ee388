"""Complaints written straight into the database with chosen values, and the small fixed dataset of the report tests."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.analysis.repeats import link_previous_complaints
from bot.models import Ticket
from tests.bot.sample_tickets import shanghai

_numbers = itertools.count(1)
PHONE_A, PHONE_B, PHONE_C, PHONE_D = "13912340001", "13800002222", "15012343333", "18612344444"


def add(session: Session, received: datetime, **fields: Any) -> Ticket:
    """A complaint received at `received` (UTC): open, unrated, a phone of its own, unless `fields` say otherwise."""
    number = next(_numbers)
    values: dict[str, Any] = dict(
        ticket_no=f"TS{number:014d}",
        submission_key=f"dataset:{number}",
        kind="complaint",
        conversation_id=f"conv-{number}",
        channel="rest",
        status="accepted",
        category="claims",
        complainant_name="张三",
        phone_number=f"137{number:08d}",  # a phone of its own unless given
        description="d",
        customer_request="r",
        received_at=received,
        deadline=date(received.year, received.month, received.day),
        updated_at=received,
    )
    values.update(fields)
    ticket = Ticket(**values)
    session.add(ticket)
    return ticket


def closed(at: datetime, controllable: bool, cause: str) -> dict[str, Any]:
    return {"status": "closed", "closed_at": at, "root_cause_controllable": controllable, "root_cause_category": cause}


def january_2026(session: Session) -> None:
    """The report tests' dataset: six complaints in January 2026 (Shanghai), with their comparison periods."""
    # T1: received just after local midnight of 1 January (still 31 December in UTC), closed 4 local days later
    # (5 days apart in UTC dates).
    add(
        session,
        shanghai(2026, 1, 1, 0, 30),
        sub_reason="claim_result",
        region="江苏分公司",
        phone_number=PHONE_A,
        satisfaction="dissatisfied",
        **closed(shanghai(2026, 1, 5, 23, 30), True, "data_entry_error"),
    )
    # T2: closed after 17 days, within its extended deadline.
    add(
        session,
        shanghai(2026, 1, 3, 9),
        channel="wechat",
        sub_reason="claim_result",
        region="北京分公司",
        phone_number=PHONE_B,
        satisfaction="dissatisfied",
        deadline=date(2026, 1, 25),
        **closed(shanghai(2026, 1, 20, 9), False, "customer_expectation"),
    )
    # T3: closed after 41 days, past its deadline; no region recorded.
    add(
        session,
        shanghai(2026, 1, 10, 9),
        sub_reason="claim_timeliness",
        region=None,
        phone_number=PHONE_A,
        satisfaction="dissatisfied",
        deadline=date(2026, 1, 25),
        **closed(shanghai(2026, 2, 20, 9), False, "product_terms"),
    )
    # T4: closed the next day.
    add(
        session,
        shanghai(2026, 1, 15, 9),
        category="policy_service",
        sub_reason="procedure",
        region="江苏分公司",
        phone_number=PHONE_C,
        satisfaction="satisfied",
        deadline=date(2026, 1, 30),
        **closed(shanghai(2026, 1, 16, 9), True, "process_design"),
    )
    # T5: open, received late on the last local day of January (already 31 January 15:30 UTC), no sub-reason.
    add(
        session,
        shanghai(2026, 1, 31, 23, 30),
        channel="wechat",
        category="policy_service",
        region="北京分公司",
        status="processing",
        phone_number=PHONE_D,
    )
    # T6: open.
    add(
        session,
        shanghai(2026, 1, 20, 9),
        category="sales",
        sub_reason="misleading_returns",
        region="未知",
        phone_number=PHONE_A,
        satisfaction="basically_satisfied",
    )
    # Not January's: a callback, and a complaint just after local midnight of 1 February (31 January in UTC).
    add(session, shanghai(2026, 1, 12, 9), kind="callback", phone_number=PHONE_A)
    add(session, shanghai(2026, 2, 1, 0, 10), phone_number=PHONE_C)
    # December 2025 (环比): three, one of them B's 14 days before T2, one in its last local minutes.
    add(session, shanghai(2025, 12, 5, 9))
    add(session, shanghai(2025, 12, 20, 9), channel="wechat", phone_number=PHONE_B)
    add(session, shanghai(2025, 12, 31, 23, 50))
    # January 2025 (同比): four, one at its first local moment.
    for day in (1, 2, 3, 4):
        add(session, shanghai(2025, 1, day, 0 if day == 1 else 9))
    # C complained in October 2025: more than 30 days before T4, so T4 is no repeat.
    add(session, shanghai(2025, 10, 1, 9), phone_number=PHONE_C)
    session.flush()
    link_previous_complaints(session)
