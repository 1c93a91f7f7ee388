"""Typical cases (典型案例) per category and malicious complaint marks (恶意投诉) of the period's complaints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from sqlalchemy import func, select

from bot.analysis.figures import Share, ratio, shares
from bot.analysis.scope import Frame, Scope
from bot.models import MaliciousMark, Ticket, TypicalCase
from bot.tickets import CATEGORY_LABELS  # the categories' order everywhere

MAX_CASES = 50  # the report lists at most this many typical cases (latest closed first)


@dataclass(frozen=True)
class Case:
    ticket_no: str
    sub_reason: str
    situation: str  # 案件情况
    analysis: str  # 案件分析
    lessons: str  # 案件启示


@dataclass(frozen=True)
class CategoryCases:
    category: str
    label: str
    cases: List[Case]


@dataclass(frozen=True)
class Malicious:
    count: int
    share: Optional[float]  # of all complaints in the period
    categories: List[Share]


def typical_cases(frame: Frame, scope: Scope) -> List[CategoryCases]:
    """The period's typical cases grouped by category, categories in the taxonomy's order."""
    rows = frame.session.execute(
        select(
            Ticket.category,
            Ticket.sub_reason,
            Ticket.ticket_no,
            TypicalCase.situation,
            TypicalCase.analysis,
            TypicalCase.lessons,
        )
        .join(TypicalCase, TypicalCase.ticket_id == Ticket.id)
        .where(frame.where(scope))
        .order_by(Ticket.closed_at.desc(), Ticket.id.desc())
        .limit(MAX_CASES)
    ).all()
    grouped: Dict[str, List[Case]] = {}
    taxonomy = frame.taxonomy
    for category, sub_reason, number, situation, analysis, lessons in rows:
        code = taxonomy.sub_reason_code(category, sub_reason)
        label = taxonomy.sub_reason_label(category, code or None)
        grouped.setdefault(category, []).append(Case(number, label, situation, analysis, lessons))
    order = {code: index for index, code in enumerate(CATEGORY_LABELS)}
    return [
        CategoryCases(category, taxonomy.category_label(category), cases)
        for category, cases in sorted(grouped.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    ]


def malicious(frame: Frame, scope: Scope, total: int) -> Malicious:
    """How many of the period's complaints a supervisor marked as malicious, per category."""
    rows = frame.session.execute(
        select(Ticket.category, func.count())
        .join(MaliciousMark, MaliciousMark.ticket_id == Ticket.id)
        .where(frame.where(scope))
        .group_by(Ticket.category)
    ).all()
    count = sum(int(number) for _, number in rows)
    return Malicious(
        count,
        ratio(count, total),
        shares((category, frame.taxonomy.category_label(category), int(number)) for category, number in rows),
    )
