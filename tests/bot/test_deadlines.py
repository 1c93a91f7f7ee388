"""The effective deadline: Shanghai calendar days, complex cases, extensions, pauses, settings."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.deadlines import (
    DeadlineRules,
    DueState,
    Pause,
    check_extension,
    days_left,
    due_state,
    effective_deadline,
    paused_days,
)
from bot.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = DeadlineRules()


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def test_the_clock_starts_on_the_local_day_of_receipt():
    late = local(2026, 3, 1, 23, 59)
    early = local(2026, 3, 2, 0, 1)
    assert effective_deadline(late, RULES, now=late) == date(2026, 3, 16)
    assert effective_deadline(early, RULES, now=early) == date(2026, 3, 17)
    # 23:59 in Shanghai is 15:59 UTC the same day; 00:01 is still the previous day in UTC.
    early_utc = early.astimezone(timezone.utc)
    assert early_utc.date() == date(2026, 3, 1)
    assert effective_deadline(early_utc, RULES, now=early_utc) == date(2026, 3, 17)


def test_naive_moments_are_read_as_utc_as_sqlite_returns_them():
    naive_utc = datetime(2026, 3, 1, 16, 1)  # 00:01 on 2 March in Shanghai
    assert effective_deadline(naive_utc, RULES, now=naive_utc) == date(2026, 3, 17)


def test_complex_and_extension_days_add_up_and_are_configurable():
    received = local(2026, 1, 10, 9)
    assert effective_deadline(received, RULES, received, is_complex=True) == date(2026, 2, 9)
    assert effective_deadline(received, RULES, received, is_complex=True, extension_days=30) == date(2026, 3, 11)
    rules = DeadlineRules(base_days=10, complex_days=20, max_extension_days=5)
    assert effective_deadline(received, rules, received) == date(2026, 1, 20)
    assert effective_deadline(received, rules, received, is_complex=True, extension_days=30) == date(2026, 2, 4)


def test_rules_follow_the_settings(tmp_path):
    settings = Settings.from_env(
        {
            "COMPLAINTS_VAR_DIR": str(tmp_path),
            "TICKET_DEADLINE_DAYS": "7",
            "TICKET_COMPLEX_DEADLINE_DAYS": "14",
            "TICKET_MAX_EXTENSION_DAYS": "10",
            "TICKET_DUE_SOON_DAYS": "2",
        }
    )
    assert DeadlineRules.of(settings) == DeadlineRules(7, 14, 10, 2, "Asia/Shanghai")
    legacy = Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path), "COMPLAINT_HANDLING_DAYS": "12"})
    assert DeadlineRules.of(legacy).base_days == 12
    with pytest.raises(ValueError, match="TICKET_MAX_EXTENSION_DAYS"):
        Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path), "TICKET_MAX_EXTENSION_DAYS": "-1"})


def test_extensions_outside_the_limit_are_refused_in_chinese():
    check_extension(30, RULES)
    for days in (0, 31):
        with pytest.raises(ValueError, match="延长天数须在1至30天之间"):
            check_extension(days, RULES)


def test_paused_local_days_are_added_once_even_when_pauses_overlap():
    received = local(2026, 5, 1, 10)
    now = local(2026, 5, 20, 12)
    monday_to_wednesday = Pause(local(2026, 5, 4, 10), local(2026, 5, 6, 15))
    overlapping = Pause(local(2026, 5, 5, 8), local(2026, 5, 7, 8))
    same_day = Pause(local(2026, 5, 9, 9), local(2026, 5, 9, 18))
    assert paused_days([monday_to_wednesday], RULES, now) == 2
    assert paused_days([monday_to_wednesday, overlapping, same_day], RULES, now) == 3
    assert effective_deadline(received, RULES, now, pauses=[monday_to_wednesday, overlapping]) == date(2026, 5, 19)


def test_a_pause_across_local_midnight_counts_the_day_it_crossed():
    # 23:30 → 00:30 Shanghai: one local day passed, though both are the same UTC day.
    pause = Pause(local(2026, 5, 4, 23, 30), local(2026, 5, 5, 0, 30))
    assert paused_days([pause], RULES, local(2026, 6, 1)) == 1


def test_a_running_pause_pushes_the_deadline_day_by_day():
    received = local(2026, 5, 1, 10)
    running = Pause(local(2026, 5, 10, 10))
    assert effective_deadline(received, RULES, local(2026, 5, 10, 23), pauses=[running]) == date(2026, 5, 16)
    assert effective_deadline(received, RULES, local(2026, 5, 13, 1), pauses=[running]) == date(2026, 5, 19)


def test_days_left_and_due_state_around_the_deadline():
    deadline = date(2026, 3, 16)
    states = {offset: due_state(deadline, deadline - timedelta(days=offset), RULES) for offset in (4, 3, 0, -1)}
    assert states == {4: DueState.ON_TIME, 3: DueState.DUE_SOON, 0: DueState.DUE_SOON, -1: DueState.OVERDUE}
    assert days_left(deadline, date(2026, 3, 17)) == -1
    assert due_state(deadline, date(2026, 3, 12), DeadlineRules(due_soon_days=4)) is DueState.DUE_SOON


def test_a_new_ticket_gets_the_deadline_of_its_local_day(db, tmp_path):
    from bot.tickets import ComplaintDraft, TicketService

    settings = Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path), "TICKET_DEADLINE_DAYS": "10"})
    draft = ComplaintDraft("c1", "rest", "claims", "张三", "13800138000", "理赔拖了两个月还没有结果", "尽快赔付")
    late = local(2026, 3, 1, 23, 59).astimezone(timezone.utc)
    receipt = TicketService(db, settings, clock=lambda: late).submit(draft, "k1")
    assert receipt.deadline == date(2026, 3, 11)
