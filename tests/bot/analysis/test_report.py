"""The report's figures on a small fixed dataset, computed by hand; SQLite and PostgreSQL give the same numbers."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bot.analysis.figures import Share
from bot.analysis.periods import Period
from bot.analysis.report import Analysis, Report
from bot.analysis.scope import Scope
from bot.db import Database
from tests.bot.analysis.dataset import PHONE_A, add, january_2026
from tests.bot.sample_tickets import shanghai
from tests.databases import make_settings

AS_OF = date(2026, 2, 10)


def _report(db: Database, tmp_path: Path, **filters: Any) -> Report:
    with db.transaction() as session:
        january_2026(session)
    analysis = Analysis(db, make_settings(tmp_path, DATABASE_URL=db.url), channel_labels={"wechat": "微信公众号"})
    return analysis.report(Scope(Period.month(2026, 1), **filters), as_of=AS_OF)


def _counts(rows: List[Share]) -> Dict[str, int]:
    return {row.key: row.count for row in rows}


def test_totals_compare_with_the_same_month_a_year_earlier_and_the_month_before(db: Database, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    totals = report.totals
    assert (totals.count, totals.closed, totals.year_before, totals.previous) == (6, 4, 4, 3)
    assert totals.year_on_year == pytest.approx(0.5)
    assert totals.period_on_period == pytest.approx(1.0)
    assert report.previous == Period(date(2025, 12, 1), date(2026, 1, 1))
    assert report.year_before == Period(date(2025, 1, 1), date(2025, 2, 1))


def test_channels_months_categories_and_regions_with_their_shares(db: Database, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    assert [(row.key, row.label, row.count) for row in report.channels] == [
        ("rest", "rest", 4),
        ("wechat", "微信公众号", 2),
    ]
    assert report.channels[0].share == pytest.approx(4 / 6)
    assert report.months == [("2026-01", 6)]

    claims, policy_service, sales = report.categories
    assert (claims.category.key, claims.category.label, claims.category.count) == ("claims", "理赔纠纷", 3)
    assert claims.category.share == pytest.approx(0.5)
    assert [(row.key, row.count) for row in claims.sub_reasons] == [("claim_result", 2), ("claim_timeliness", 1)]
    assert claims.sub_reasons[0].share == pytest.approx(2 / 3)
    assert claims.sub_reasons[1].label == "理赔时效"
    assert _counts(policy_service.sub_reasons) == {"": 1, "procedure": 1}
    assert {row.label for row in policy_service.sub_reasons} == {"未细分", "手续繁琐、流程复杂"}
    assert (sales.category.key, sales.category.count) == ("sales", 1)

    assert _counts(report.regions) == {"江苏分公司": 2, "北京分公司": 2, "未知": 2}  # a missing region is 未知
    assert sum(row.share or 0 for row in report.regions) == pytest.approx(1)


def test_controllable_and_uncontrollable_per_category_with_root_causes(db: Database, tmp_path: Path) -> None:
    claims, policy_service, sales = _report(db, tmp_path).controllability
    assert (claims.category, claims.controllable, claims.uncontrollable, claims.unassessed) == ("claims", 1, 2, 0)
    assert claims.controllable_share == pytest.approx(1 / 3)
    assert [(row.key, row.label) for row in claims.controllable_causes] == [
        ("data_entry_error", "录入差错（险种、信息录入错误）")
    ]
    assert _counts(claims.uncontrollable_causes) == {"customer_expectation": 1, "product_terms": 1}
    assert (policy_service.controllable, policy_service.uncontrollable, policy_service.unassessed) == (1, 0, 1)
    assert policy_service.controllable_share == pytest.approx(1.0)
    assert (sales.unassessed, sales.controllable_share) == (1, None)


def test_handling_times_deadlines_and_open_ages_in_local_days(db: Database, tmp_path: Path) -> None:
    handling = _report(db, tmp_path).handling
    # Local days to 结案: 4 (T1, 5 in UTC dates), 17, 41, 1 → median (2nd of 4) 4, p90 (4th of 4) 41.
    assert (handling.closed, handling.median_days, handling.p90_days) == (4, 4, 41)
    assert [(row.key, row.label, row.count) for row in handling.outcomes] == [
        ("within_standard", "15日内结案", 2),
        ("within_extended", "延期期限内结案", 1),
        ("overdue", "超期结案", 1),
    ]
    assert handling.outcomes[0].share == pytest.approx(0.5)
    assert handling.open == 2
    assert _counts(handling.open_by_age) == {"7日内": 0, "8–15日": 1, "16–30日": 1, "31–60日": 0, "60日以上": 0}


def test_satisfaction_by_category_and_the_improvement_priorities(db: Database, tmp_path: Path) -> None:
    report = _report(db, tmp_path)
    claims, policy_service, sales = report.satisfaction
    assert (claims.rated, claims.dissatisfied, claims.satisfaction_rate, claims.dissatisfaction_rate) == (3, 3, 0, 1)
    assert (policy_service.complaints, policy_service.rated, policy_service.satisfied) == (2, 1, 1)
    assert (sales.basically_satisfied, sales.satisfaction_rate) == (1, 1)

    # Overall 3 of 5 rated are dissatisfied (0.6); the average sub-reason has 6 / 5 complaints.
    assert [(row.category, row.sub_reason, row.complaints, row.quadrant) for row in report.priorities] == [
        ("claims", "claim_result", 2, "优先改进"),
        ("claims", "claim_timeliness", 1, "重点关注"),
        ("policy_service", "", 1, "保持"),
        ("policy_service", "procedure", 1, "保持"),
        ("sales", "misleading_returns", 1, "保持"),
    ]
    assert report.priorities[0].dissatisfaction_rate == pytest.approx(1.0)
    assert report.priorities[2].dissatisfaction_rate is None  # nobody rated it


def test_repeat_complainants_count_earlier_complaints_before_the_period(db: Database, tmp_path: Path) -> None:
    repeats = _report(db, tmp_path).repeats
    # T3 and T6 follow A's T1 and T3; T2 follows B's complaint of 20 December; C's October one is too old.
    assert (repeats.window_days, repeats.repeat_complaints, repeats.complainants) == (30, 3, 2)
    assert repeats.share == pytest.approx(0.5)
    assert [(row.phone, row.complaints) for row in repeats.most] == [("*******" + PHONE_A[-4:], 3)]


@pytest.mark.parametrize(
    "filters, count, previous",
    [({"channel": "wechat"}, 2, 1), ({"category": "claims"}, 3, 3), ({"region": "未知"}, 2, 3)],
)
def test_filters_narrow_the_period_and_its_comparisons(
    db: Database, tmp_path: Path, filters: Dict[str, str], count: int, previous: int
) -> None:
    totals = _report(db, tmp_path, **filters).totals
    assert (totals.count, totals.previous) == (count, previous)


def test_an_empty_period_has_no_shares_or_percentiles(db: Database, tmp_path: Path) -> None:
    analysis = Analysis(db, make_settings(tmp_path, DATABASE_URL=db.url))
    report = analysis.report(Scope(Period.year(2020)), as_of=AS_OF)
    assert (report.totals.count, report.totals.year_on_year, report.handling.median_days) == (0, None, None)
    assert report.months == [(f"2020-{month:02d}", 0) for month in range(1, 13)]
    assert report.categories == [] and report.priorities == [] and report.repeats.share is None


def test_a_sub_reason_typed_as_its_label_counts_with_its_code_and_retired_codes_stay(
    db: Database, tmp_path: Path
) -> None:
    with db.transaction() as session:
        add(session, shanghai(2026, 1, 8, 9), sub_reason="理赔时效", satisfaction="dissatisfied")
        add(session, shanghai(2026, 1, 9, 9), sub_reason="claim_delay")  # a code the taxonomy no longer lists
    report = _report(db, tmp_path)
    claims = report.categories[0]
    assert [(row.key, row.label, row.count) for row in claims.sub_reasons] == [
        ("claim_result", "理赔结果（拒赔、赔付金额）", 2),
        ("claim_timeliness", "理赔时效", 2),
        ("claim_delay", "claim_delay（已停用）", 1),
    ]
    timeliness = [row for row in report.priorities if row.sub_reason == "claim_timeliness"]
    assert [(row.complaints, row.dissatisfied) for row in timeliness] == [(2, 2)]


def test_typical_cases_are_listed_per_category_and_malicious_marks_counted(db: Database, tmp_path: Path) -> None:
    from sqlalchemy import select

    from bot.case_review import CaseReview
    from bot.models import Ticket

    with db.transaction() as session:
        january_2026(session)
        closed = session.execute(
            select(Ticket.ticket_no, Ticket.category, Ticket.received_at)
            .where(Ticket.status == "closed", Ticket.kind == "complaint")
            .order_by(Ticket.received_at)
        ).all()
    # January's closed complaints: T1, T2, T3 (claims) and T4 (policy service); December's has none closed.
    start = shanghai(2026, 1, 1).replace(tzinfo=None)
    january = [row for row in closed if row.received_at.replace(tzinfo=None) >= start]
    review = CaseReview(db)
    for number in (january[0].ticket_no, january[3].ticket_no):
        review.mark_typical(number, f"情况{number}", "分析", "启示", "boss")
    review.mark_malicious(january[1].ticket_no, "反复索要", "boss")
    review.mark_malicious(january[2].ticket_no, "反复索要", "boss")
    analysis = Analysis(db, make_settings(tmp_path, DATABASE_URL=db.url))
    report = analysis.report(Scope(Period.month(2026, 1)), as_of=AS_OF)
    assert [(group.label, [case.ticket_no for case in group.cases]) for group in report.typical_cases] == [
        ("理赔纠纷", [january[0].ticket_no]),
        (report.typical_cases[1].label, [january[3].ticket_no]),
    ]
    assert report.typical_cases[1].category == "policy_service"
    assert report.typical_cases[0].cases[0].sub_reason == "理赔结果（拒赔、赔付金额）"
    assert report.malicious.count == 2 and report.malicious.share == pytest.approx(2 / 6)
    assert _counts(report.malicious.categories) == {"claims": 2}
    other = analysis.report(Scope(Period.month(2025, 12)), as_of=AS_OF)
    assert other.typical_cases == [] and other.malicious.count == 0
