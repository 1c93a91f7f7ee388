"""The benchmark's arithmetic on synthetic data: percentiles, summaries, ticket
reconciliation, saturation and capacity. No server, no timing."""

from __future__ import annotations

import random

import numpy
import pytest

from bench.conversations import Conversation, Deviation, TicketPool, complaint, handoff, phone_number
from bench.stats import (
    LatencySummary,
    TicketClaim,
    Turn,
    capacity,
    growth,
    percentile,
    ratio,
    reconcile,
    saturation,
    summarize,
)
from bot import validators


def test_percentiles_match_numpys_linear_interpolation():
    rng = random.Random(1)
    values = [rng.expovariate(1 / 80) for _ in range(997)]
    for q in (0, 1, 50, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(numpy.percentile(values, q))
    assert percentile([], 50) is None
    assert percentile([42.0], 99) == 42.0
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_summary_counts_errors_apart_and_measures_throughput_on_good_turns():
    turns = [Turn(i, 0.1, True) for i in range(90)] + [Turn(i, 0.1, True) for i in range(9)]
    turns += [Turn(0, 60.0, False, "timeout")]
    summary = summarize(turns, wall_seconds=10)
    assert summary.turns == 100 and summary.errors == 1
    assert summary.p50_ms == 100.0 and summary.p99_ms == 100.0  # the timeout is not a latency
    assert summary.throughput == 9.9


def test_summary_of_nothing():
    summary = summarize([], wall_seconds=0)
    assert summary.p50_ms is None and summary.throughput == 0.0 and summary.errors == 0


def claim(sender, sent=True, answered=True, number=None):
    return TicketClaim(sender, sent, answered, number)


def test_reconciliation_passes_when_every_quoted_ticket_is_written_once():
    claims = [claim("u1", number="TS1"), claim("u2", number="TS2"), claim("u3", sent=False)]
    result = reconcile(claims, [("u1", "TS1"), ("u2", "TS2")])
    assert result.ok and result.expected == 2 and result.written == 2


@pytest.mark.parametrize(
    "claims, rows, problem",
    [
        ([claim("u1", number="TS1")], [], "missing"),
        ([claim("u1", number="TS1")], [("u1", "TS1"), ("u1", "TS9")], "duplicates"),
        ([claim("u1", number="TS1")], [("u1", "TS2")], "mismatched"),
        ([claim("u1", sent=False)], [("u1", "TS1")], "unexpected"),
        ([], [("stranger", "TS1")], "unexpected"),
        ([claim("u1", number=None)], [], "unquoted"),  # answered without a number (e.g. spooled)
        ([claim("u1", number="TS1"), claim("u2", number="TS1")], [("u1", "TS1"), ("u2", "TS1")], "duplicates"),
    ],
)
def test_reconciliation_names_each_kind_of_discrepancy(claims, rows, problem):
    result = reconcile(claims, rows)
    assert not result.ok
    assert getattr(result, problem), result.as_dict()


def test_a_lost_answer_is_neither_lost_nor_duplicated_whatever_was_written():
    for rows in ([], [("u2", "TS2")]):
        result = reconcile([claim("u1", number="TS1"), claim("u2", answered=False)], [("u1", "TS1"), *rows])
        assert result.ok and result.unanswered == ["u2"]
        assert result.unanswered_written == len(rows)
    twice = reconcile([claim("u2", answered=False)], [("u2", "TS2"), ("u2", "TS3")])
    assert not twice.ok and twice.duplicates == ["u2"]


def level(p95, errors=0, throughput=10.0):
    return LatencySummary(100, errors, p95 / 2, p95, p95, p95, throughput)


def test_saturation_is_the_best_error_free_throughput():
    levels = {1: level(50, throughput=8), 4: level(150, throughput=21), 16: level(900, errors=3, throughput=25)}
    assert saturation(levels) == (4, 21)
    assert saturation({1: level(50, errors=1)}) is None


def test_capacity_stops_at_the_first_level_over_the_limit():
    levels = {25: level(120), 50: level(480), 100: level(700), 200: level(300)}
    assert capacity(levels, 500) == 50  # 200 does not count: 100 already failed
    assert capacity({25: level(600)}, 500) is None
    assert capacity({25: level(100), 50: level(200, errors=1)}, 500) == 25


def test_ratio():
    assert ratio(52, 40) == 1.3 and ratio(None, 40) is None and ratio(10, 0) is None


# -- the scripted users read answers like people do ----------------------------------------


def drive(script, answers):
    """Runs a script against canned answers; returns the messages it sent."""
    sent = [next(script)]
    try:
        for answer in answers:
            sent.append(script.send(answer))
    except StopIteration:
        pass
    return sent


def test_generated_phone_numbers_are_valid():
    rng = random.Random(3)
    assert all(validators.phone_number(phone_number(rng)).ok for _ in range(500))


def test_complaint_script_answers_what_is_asked_and_keeps_the_ticket_number():
    conversation = Conversation("u1", "complaint", random.Random(1), phone="13812345678")
    pool = TicketPool()
    sent = drive(
        complaint(conversation, pool),
        [
            ["您好，我可以帮您登记投诉"],
            ["请提供涉及的保单号"],
            ["请问投诉人怎么称呼？请提供投诉人姓名。"],
            ["【重大疾病】理赔通常需要以下材料：1. 理赔申请书", "请问投诉人怎么称呼？请提供投诉人姓名。"],
            ["请留下您的手机号"],
            ["请核对您的投诉信息：· 联系电话：138****5678"],
            ["您的投诉已受理，投诉编号：TS20261123000042。"],
        ],
    )
    assert sent[3] == "重疾险理赔需要准备什么材料"  # the side question, once
    assert sent[5] == "138-1234-5678" and sent[-1] == "确认"
    assert conversation.ticket_step_next and conversation.ticket_no == "TS20261123000042"
    assert pool.tickets == [("TS20261123000042", "13812345678")]


def test_a_script_stops_at_an_answer_its_path_never_gives():
    conversation = Conversation("u1", "handoff", random.Random(1), phone="13812345678")
    script = handoff(conversation, TicketPool())
    next(script)
    with pytest.raises(Deviation):
        script.send(["抱歉，我没有理解您的意思。"])
    assert conversation.ticket_no is None


def test_growth_compares_the_first_and_last_ten_turns():
    turns = [Turn(i, 0.040 + i * 0.001, True) for i in range(40)]
    assert growth(turns) == (44.5, 74.5)
    assert growth(turns[:19]) is None  # too short to compare
