from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from bot import crypto
from bot.models import StatusLookup, Ticket, TicketEvent
from bot.tickets import LifecycleError, TicketService, TicketStatus
from tests.bot.clocks import Clock
from tests.bot.complaints import draft
from tests.databases import make_settings


def fixed_clock(moment=datetime(2026, 11, 22, 2, 30, tzinfo=timezone.utc)):
    return lambda: moment


@pytest.fixture
def service(db, settings):
    return TicketService(db, settings, clock=fixed_clock())


def test_ticket_number_and_deadline_follow_the_rules(service):
    receipt = service.submit(draft(), "conv-1:1")
    assert receipt.ticket_no == "TS20261122000001"
    assert receipt.deadline == date(2026, 12, 7)  # Art. 18: 15 calendar days
    assert receipt.created


def test_the_day_is_the_local_day_in_china(db, settings):
    late_evening_utc = datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc)  # 01:00 on the 22nd in Beijing
    service = TicketService(db, settings, clock=fixed_clock(late_evening_utc))
    assert service.submit(draft(), "k").ticket_no.startswith("TS20261122")


def test_sequence_counts_per_day(service):
    numbers = [service.submit(draft(), f"key-{i}").ticket_no for i in range(3)]
    assert numbers == ["TS20261122000001", "TS20261122000002", "TS20261122000003"]


def test_resubmitting_the_same_key_returns_the_same_ticket(service, db):
    first = service.submit(draft(), "conv-1:42")
    again = service.submit(draft(description="different text"), "conv-1:42")
    assert again.ticket_no == first.ticket_no and not again.created
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


def test_concurrent_submissions_get_distinct_numbers_and_duplicates_collapse(service, db):
    keys = [f"k{i % 10}" for i in range(30)]  # every key sent three times
    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = list(pool.map(lambda key: service.submit(draft(), key), keys))
    by_key = {}
    for key, receipt in zip(keys, receipts):
        by_key.setdefault(key, set()).add(receipt.ticket_no)
    assert all(len(numbers) == 1 for numbers in by_key.values())
    assert len({n for numbers in by_key.values() for n in numbers}) == 10
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 10


def test_stored_text_is_exactly_what_the_user_wrote(service):
    text = "<script>alert('x')</script> 😡\n'; DROP TABLE tickets; --" + "长" * 4900
    receipt = service.submit(draft(description=text), "k")
    assert service.get(receipt.ticket_no)["description"] == text


def test_lifecycle_moves_forward_and_is_audited(service):
    ticket_no = service.submit(draft(), "k").ticket_no
    service.change(ticket_no, "agent:li", status=TicketStatus.INVESTIGATING.value, sub_reason="理赔时效过长")
    with pytest.raises(LifecycleError):
        service.change(ticket_no, "agent:li", status=TicketStatus.ACCEPTED.value)
    events = service.get(ticket_no)["events"]
    assert [(e["field"], e["old_value"], e["new_value"], e["actor"]) for e in events] == [
        ("status", None, "accepted", "bot:conv-1"),  # the bot acted for this conversation
        ("status", "accepted", "investigating", "agent:li"),
        ("sub_reason", None, "理赔时效过长", "agent:li"),
    ]


def test_withdrawal_closes_with_a_timestamp(service, db):
    ticket_no = service.submit(draft(), "k").ticket_no
    service.withdraw(ticket_no, "bot:conv-9")
    data = service.get(ticket_no)
    assert data["status"] == "closed" and data["withdrawn_at"] and data["closed_at"]
    assert data["events"][-1]["actor"] == "bot:conv-9"
    service.withdraw(ticket_no, "bot:conv-9")  # a second withdrawal changes nothing
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(TicketEvent)).scalar_one() == 2


def test_status_needs_the_matching_phone_and_reveals_nothing_otherwise(service):
    ticket_no = service.submit(draft(), "k").ticket_no
    wrong_phone = service.lookup_status("visitor", ticket_no, "13900000000")
    unknown = service.lookup_status("visitor", "TS20261122999999", "13812345678")
    assert not wrong_phone.found and not unknown.found
    assert (wrong_phone.status_label, wrong_phone.deadline) == (unknown.status_label, unknown.deadline) == (None, None)
    answer = service.lookup_status("visitor", ticket_no.lower(), "13812345678")
    assert answer.found and answer.status_label == "受理" and answer.deadline == date(2026, 12, 7)


def test_status_attempts_are_limited_per_conversation(service):
    ticket_no = service.submit(draft(), "k").ticket_no
    results = [service.lookup_status("guesser", ticket_no, f"1390000000{i}") for i in range(3)]
    assert [r.attempts_left for r in results] == [2, 1, 0] and results[-1].locked
    # Even the right phone is refused once locked; another conversation is unaffected.
    assert service.lookup_status("guesser", ticket_no, "13812345678").locked
    assert service.lookup_status("owner", ticket_no, "13812345678").found


def test_a_known_phone_cannot_walk_the_ticket_numbers_from_fresh_conversations(db, settings):
    """The probe: one known phone, a new sender id for every guessed ticket number."""
    clock = Clock(datetime(2026, 11, 22, 2, 30, tzinfo=timezone.utc))
    service = TicketService(db, settings, clock=clock)
    for i in range(3):
        service.submit(draft(phone_number="13700000000"), f"other-{i}")
    target = service.submit(draft(), "k").ticket_no  # TS20261122000004, phone 13812345678
    guesses = [f"TS20261122{n:06d}" for n in range(1, 4)] + ["TS20261122999998", "TS20261122999997"]
    answers = [service.lookup_status(f"probe-{n}", ticket, "13812345678") for n, ticket in enumerate(guesses)]
    assert [a.found for a in answers] == [False] * 5 and answers[-1].locked
    # The right ticket, from yet another conversation: refused like a number that does not exist.
    right = service.lookup_status("probe-right", target, "13812345678")
    unknown = service.lookup_status("probe-unknown", "TS20261122999999", "13812345678")
    assert right == unknown and right.locked and not right.found and right.status_label is None
    # Once the window has passed the owner can look again.
    clock.advance(minutes=settings.status_lock_window_minutes + 1)
    assert service.lookup_status("owner", target, "13812345678").found


def test_a_known_ticket_cannot_be_matched_by_guessing_phones_from_fresh_conversations(db, settings):
    service = TicketService(db, settings, clock=fixed_clock())
    ticket_no = service.submit(draft(), "k").ticket_no
    answers = [service.lookup_status(f"probe-{i}", ticket_no, f"1390000000{i}") for i in range(5)]
    # A fresh conversation may try 3 times, but this ticket has only 5 failures in all.
    assert [a.attempts_left for a in answers] == [2, 2, 2, 1, 0] and answers[-1].locked
    right = service.lookup_status("probe-right", ticket_no, "13812345678")
    unknown = service.lookup_status("probe-unknown", "TS20261122999999", "13900000009")
    assert right.locked and not right.found
    # Locked ticket and fresh unknown ticket: the lock is not a hint that the ticket exists.
    locked_unknown = [service.lookup_status(f"u-{i}", "TS20261122888888", f"1370000000{i}") for i in range(6)][-1]
    assert right == locked_unknown and not unknown.locked


def test_failures_per_client_address_are_limited_across_conversations_and_numbers(db, tmp_path):
    settings = make_settings(tmp_path, STATUS_MAX_FAILURES_PER_CLIENT="4")
    service = TicketService(db, settings, clock=fixed_clock())
    ticket_no = service.submit(draft(), "k").ticket_no
    for i in range(4):
        service.lookup_status(f"probe-{i}", f"TS2026112200010{i}", f"1390000000{i}", client="203.0.113.7")
    assert service.lookup_status("probe-x", ticket_no, "13812345678", client="203.0.113.7").locked
    assert service.lookup_status("owner", ticket_no, "13812345678", client="198.51.100.2").found


def test_lookups_record_the_ticket_and_a_keyed_hash_of_the_phone_never_the_number(db, settings):
    service = TicketService(db, settings, clock=fixed_clock())
    ticket_no = service.submit(draft(), "k").ticket_no
    service.lookup_status("visitor", ticket_no, "13900000000", client="203.0.113.7")
    service.lookup_status("visitor", ticket_no, "13812345678")
    with db.transaction() as session:
        rows = session.execute(select(StatusLookup).order_by(StatusLookup.id)).scalars().all()
        stored = [(r.conversation_id, r.ticket_no, r.phone_key, r.client, r.succeeded) for r in rows]
    digest = crypto.load(settings.var_dir).digest
    assert stored == [
        ("visitor", ticket_no, digest("13900000000"), "203.0.113.7", 0),
        ("visitor", ticket_no, digest("13812345678"), None, 1),
    ]
    assert not any("138123" in str(value) or "139000" in str(value) for row in stored for value in row)


def test_parallel_guesses_from_many_conversations_never_exceed_the_limit(db, settings):
    service = TicketService(db, settings, clock=fixed_clock())
    ticket_no = service.submit(draft(), "k").ticket_no
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: service.lookup_status(f"probe-{i}", ticket_no, f"139{i:08d}"), range(24)))
    limit = settings.status_max_failures_per_ticket
    assert sum(not a.locked for a in answers) == limit - 1  # the last failure already says locked
    with db.transaction() as session:
        failures = session.execute(select(func.count()).select_from(StatusLookup)).scalar_one()
    assert failures == limit


# -- status without the number: phone and complainant name (issue 17) ------------------------------


def people(service):
    """张三 has two open tickets and a withdrawn one on 13812345678; 李四 shares the phone; 张三 has another phone."""
    mine = [service.submit(draft(category=c), f"mine-{c}").ticket_no for c in ("claims", "sales", "surrender")]
    service.withdraw(mine[2], "bot:conv-1")
    service.submit(draft(complainant_name="李四"), "shared-phone")
    service.submit(draft(phone_number="13700000000"), "other-phone")
    return mine


def test_open_tickets_need_the_phone_and_the_name_newest_first_closed_ones_left_out(service):
    mine = people(service)
    found = service.lookup_open_tickets("visitor", "13812345678", "张三")
    assert found.found and [t.ticket_no for t in found.tickets] == [mine[1], mine[0]]
    assert [(t.category, t.status_label, t.deadline) for t in found.tickets] == [
        ("sales", "受理", date(2026, 12, 7)),
        ("claims", "受理", date(2026, 12, 7)),
    ]
    [theirs] = service.lookup_open_tickets("visitor-2", "13812345678", "李四").tickets
    assert theirs.ticket_no not in mine


def test_a_wrong_name_a_wrong_phone_and_no_open_ticket_answer_alike(service):
    mine = people(service)
    service.withdraw(mine[0], "bot:conv-1")
    service.withdraw(mine[1], "bot:conv-1")
    wrong_name = service.lookup_open_tickets("a", "13812345678", "王五")
    wrong_phone = service.lookup_open_tickets("b", "13900000000", "张三")
    all_closed = service.lookup_open_tickets("c", "13812345678", "张三")
    assert wrong_name == wrong_phone == all_closed
    assert not all_closed.found and all_closed.attempts_left == 2 and not all_closed.locked


def test_traditional_characters_full_width_letters_and_case_name_the_same_person(service):
    service.submit(draft(complainant_name="张三"), "zh")
    service.submit(draft(complainant_name="Li Ming", phone_number="13700000000"), "en")
    assert service.lookup_open_tickets("a", "13812345678", "張三").found
    assert service.lookup_open_tickets("b", "13700000000", "ＬＩ ＭＩＮＧ").found
    assert not service.lookup_open_tickets("c", "13812345678", "张").found


def test_failures_by_name_and_by_number_count_against_the_same_limits(service):
    ticket_no = service.submit(draft(), "k").ticket_no
    first = service.lookup_open_tickets("guesser", "13812345678", "王五")
    second = service.lookup_status("guesser", ticket_no, "13900000000")
    third = service.lookup_open_tickets("guesser", "13900000001", "张三")
    assert [first.attempts_left, second.attempts_left, third.attempts_left] == [2, 1, 0] and third.locked
    # Locked: the right phone and name are refused too, in the same words as any lock.
    locked = service.lookup_open_tickets("guesser", "13812345678", "张三")
    assert locked == third and not locked.tickets
    assert service.lookup_status("guesser", ticket_no, "13812345678").locked
    assert service.lookup_open_tickets("owner", "13812345678", "张三").found


def test_a_known_phone_cannot_have_its_name_guessed_from_fresh_conversations(db, settings):
    service = TicketService(db, settings, clock=fixed_clock())
    service.submit(draft(), "k")
    answers = [service.lookup_open_tickets(f"probe-{i}", "13812345678", name) for i, name in enumerate("赵钱孙李周")]
    assert [a.attempts_left for a in answers] == [2, 2, 2, 1, 0] and answers[-1].locked
    assert service.lookup_open_tickets("probe-right", "13812345678", "张三").locked
    with db.transaction() as session:
        rows = session.execute(select(StatusLookup.ticket_no, StatusLookup.phone_key)).all()
    # No ticket number is counted (none was given), and never the phone itself.
    assert {row.ticket_no for row in rows} == {None}
    assert {row.phone_key for row in rows} == {crypto.load(settings.var_dir).digest("13812345678")}


def test_only_a_listed_ticket_is_answered_as_a_pick(service):
    mine = people(service)
    listed = [t.ticket_no for t in service.lookup_open_tickets("visitor", "13812345678", "张三").tickets]
    answer = service.verified_status(mine[0], listed)
    assert answer is not None and answer.ticket_no == mine[0] and answer.status_label == "受理"
    other = service.lookup_open_tickets("other", "13700000000", "张三").tickets[0].ticket_no
    assert service.verified_status(other, listed) is None
