"""Typical cases and malicious marks on tickets: closed tickets only for typical cases, every change audited."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.case_review import CaseReview
from bot.db import Database
from bot.models import Ticket, TicketEvent
from bot.tickets import LifecycleError, TicketNotFound
from tests.bot.analysis.dataset import add
from tests.bot.sample_tickets import shanghai

NOW = datetime(2026, 2, 1, 8, tzinfo=timezone.utc)


def _tickets(db: Database) -> tuple[str, str]:
    with db.transaction() as session:
        closed = add(session, shanghai(2026, 1, 5, 9), status="closed", closed_at=shanghai(2026, 1, 9, 9))
        still_open = add(session, shanghai(2026, 1, 6, 9))
        return closed.ticket_no, still_open.ticket_no


def _events(db: Database, ticket_no: str) -> list[tuple[str, str, object, object]]:
    with db.transaction() as session:
        rows = session.execute(
            select(TicketEvent.field, TicketEvent.actor, TicketEvent.old_value, TicketEvent.new_value)
            .join(Ticket)
            .where(Ticket.ticket_no == ticket_no)
            .order_by(TicketEvent.id)
        )
        return [tuple(row) for row in rows]


def test_a_closed_ticket_becomes_a_typical_case_and_back_each_change_audited(db: Database) -> None:
    closed, _ = _tickets(db)
    review = CaseReview(db, clock=lambda: NOW)
    review.mark_typical(closed, "客户理赔材料齐全仍被拖延", "审核积压", "设置超时提醒", "boss")
    assert review.marks(closed)["typical_case"] == {
        "situation": "客户理赔材料齐全仍被拖延",
        "analysis": "审核积压",
        "lessons": "设置超时提醒",
        "marked_by": "boss",
        "marked_at": review.marks(closed)["typical_case"]["marked_at"],  # type: ignore[index]
    }
    review.mark_typical(closed, "改写后的情况", "审核积压", "设置超时提醒", "chief")
    review.unmark_typical(closed, "boss")
    assert review.marks(closed)["typical_case"] is None
    assert _events(db, closed) == [
        ("typical_case", "boss", None, "客户理赔材料齐全仍被拖延"),
        ("typical_case", "chief", "客户理赔材料齐全仍被拖延", "改写后的情况"),
        ("typical_case", "boss", "改写后的情况", None),
    ]


def test_only_closed_tickets_with_all_three_texts_become_typical_cases(db: Database) -> None:
    closed, still_open = _tickets(db)
    review = CaseReview(db, clock=lambda: NOW)
    with pytest.raises(LifecycleError, match="只有已结案的工单"):
        review.mark_typical(still_open, "情况", "分析", "启示", "boss")
    with pytest.raises(LifecycleError, match="请填写案件启示"):
        review.mark_typical(closed, "情况", "分析", "  ", "boss")
    with pytest.raises(LifecycleError, match="案件分析不能超过5000字"):
        review.mark_typical(closed, "情况", "析" * 5001, "启示", "boss")
    with pytest.raises(LifecycleError, match="该工单不是典型案例"):
        review.unmark_typical(closed, "boss")
    with pytest.raises(TicketNotFound):
        review.mark_typical("TS00000000000000", "情况", "分析", "启示", "boss")
    assert _events(db, closed) == [] and _events(db, still_open) == []


def test_any_ticket_can_be_marked_malicious_with_a_reason_audited(db: Database) -> None:
    _, still_open = _tickets(db)
    review = CaseReview(db, clock=lambda: NOW)
    with pytest.raises(LifecycleError, match="请填写认定恶意投诉的理由"):
        review.mark_malicious(still_open, "", "boss")
    review.mark_malicious(still_open, "同一事项已多次答复，仍以威胁方式索要额外赔偿", "boss")
    assert review.marks(still_open)["malicious_mark"]["reason"].startswith("同一事项")  # type: ignore[index]
    review.unmark_malicious(still_open, "chief")
    assert review.marks(still_open)["malicious_mark"] is None
    with pytest.raises(LifecycleError, match="未被标记为恶意投诉"):
        review.unmark_malicious(still_open, "chief")
    assert [(field, actor, new is None) for field, actor, _, new in _events(db, still_open)] == [
        ("malicious_mark", "boss", False),
        ("malicious_mark", "chief", True),
    ]
