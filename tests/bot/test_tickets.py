from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from bot.models import Ticket, TicketEvent
from bot.tickets import ComplaintDraft, LifecycleError, TicketService, TicketStatus


def draft(**overrides):
    values = dict(
        conversation_id="conv-1", channel="rest", category="claims",
        complainant_name="张三", phone_number="13812345678",
        description="理赔申请交了两个月没有结果", customer_request="尽快赔付",
        policy_number="PL202300123456",
    )
    values.update(overrides)
    return ComplaintDraft(**values)


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
        ("status", None, "accepted", "bot"),
        ("status", "accepted", "investigating", "agent:li"),
        ("sub_reason", None, "理赔时效过长", "agent:li"),
    ]


def test_withdrawal_closes_with_a_timestamp(service, db):
    ticket_no = service.submit(draft(), "k").ticket_no
    service.withdraw(ticket_no)
    data = service.get(ticket_no)
    assert data["status"] == "closed" and data["withdrawn_at"] and data["closed_at"]
    service.withdraw(ticket_no)  # a second withdrawal changes nothing
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
