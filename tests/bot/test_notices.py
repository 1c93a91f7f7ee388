"""Notices to the complainant: the reviewed templates, and the outbox rows the ticket changes queue."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import lifecycle as lifecycle_module
from bot import replies, timekeeping
from bot.callbacks import Callbacks
from bot.lifecycle import Lifecycle
from bot.models import Notice, Ticket
from bot.notices import (
    DEFAULT_FILE,
    KINDS,
    MAX_SUMMARY,
    NoticeTemplateError,
    NoticeTexts,
    load_templates,
    parse,
    queue_notice,
)
from bot.ticket_editing import StaleTicket
from bot.tickets import LifecycleError
from tests.bot.clocks import Clock
from tests.bot.sample_tickets import AGENT_LI, SUPERVISOR, shanghai, submit

RECEIVED = shanghai(2026, 6, 1, 10)  # deadline 16 June
RESULT = {
    "findings": "经调取理赔档案，材料已于5月10日齐全，审核超时",
    "decision": "全额赔付住院医疗保险金12,000元",
    "decision_basis": "保险合同第五条及《保险法》第二十三条",
    "outcome": "upheld",
    "result_notice": "赔款将于3个工作日内转入您的收款账户",
}


@pytest.fixture
def clock():
    return Clock(RECEIVED + timedelta(hours=1))


@pytest.fixture
def lifecycle(db, settings, clock):
    return Lifecycle(db, settings, clock=clock)


@pytest.fixture
def ticket_no(db, settings):
    return submit(db, settings, RECEIVED, {"assignee": "li", **RESULT})


def stored(db, ticket_no):
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        session.expunge(ticket)
        return ticket


def queued(db, ticket_no):
    with db.transaction() as session:
        rows = session.execute(
            select(Notice).join(Ticket, Ticket.id == Notice.ticket_id).where(Ticket.ticket_no == ticket_no)
        ).scalars()
        return [notice.as_dict() | {"key": notice.idempotency_key} for notice in rows]


# -- the templates ---------------------------------------------------------------


def test_every_kind_renders_with_a_sample_ticket(db, settings, ticket_no):
    texts, ticket = NoticeTexts(settings), stored(db, ticket_no)
    for kind in KINDS:
        body = texts.render(ticket, kind, "需调取医院病历")
        assert ticket_no in body and "{" not in body and "}" not in body, (kind, body)
        assert "13812345678" not in body  # the phone only ever masked
        fields = texts.fields(ticket, kind, "需调取医院病历")
        assert set(fields) == {"ticket_no", "kind_label", "deadline", "summary"}
        assert fields["ticket_no"] == ticket_no and fields["deadline"] == "2026年6月16日"
        assert 0 < len(fields["summary"]) <= MAX_SUMMARY and "{" not in fields["summary"], fields
        assert fields["kind_label"] == texts.label(kind) != kind


def test_the_result_notice_has_the_elements_of_article_19(db, settings, ticket_no):
    body = NoticeTexts(settings).render(stored(db, ticket_no), "result")
    assert "核实情况：" + RESULT["findings"] in body
    assert "处理结果：" + RESULT["decision"] + "（投诉成立）" in body
    assert "依据和理由：" + RESULT["decision_basis"] in body
    assert RESULT["result_notice"] in body
    # The remedies (Art. 19, 20, 23; 12378): 核查 within 30 days, mediation, the regulator, arbitration or court.
    assert "30日内" in body and "申请核查" in body
    for remedy in ("调解", "12378", "仲裁", "诉讼"):
        assert remedy in body


def test_the_extension_tells_the_new_deadline_and_the_reason(db, settings, ticket_no):
    body = NoticeTexts(settings).render(stored(db, ticket_no), "extension", "需调取医院病历")
    assert "延长至2026年6月16日" in body and "延期原因：需调取医院病历" in body


def test_the_acknowledgement_is_the_bots_own_confirmation(db, settings, ticket_no):
    body = NoticeTexts(settings).render(stored(db, ticket_no), "acknowledgement")
    expected = replies.desk_ticket_created(
        ticket_no, date(2026, 6, 16), settings.handling_days, settings.contact_promise, "138****5678"
    )
    assert body == expected


def test_the_file_is_read_once_and_versioned(settings):
    assert load_templates(settings.notice_templates_file) is load_templates(settings.notice_templates_file)
    templates = load_templates(DEFAULT_FILE)
    assert templates.version and templates.reviewed_by and templates.reviewed_on


def test_a_file_missing_a_kind_is_refused():
    raw = yaml.safe_load(Path(DEFAULT_FILE).read_text(encoding="utf-8"))
    without_result = {**raw, "kinds": {k: v for k, v in raw["kinds"].items() if k != "result"}}
    with pytest.raises(NoticeTemplateError, match="result"):
        parse(without_result)


# -- queueing --------------------------------------------------------------------


def test_a_notice_is_queued_once_per_cause(db, settings, ticket_no, clock):
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        notice = queue_notice(session, ticket, "follow_up", clock(), texts=NoticeTexts(settings))
        session.flush()
        assert notice.idempotency_key == f"follow_up:{ticket.id}:v1" and notice.body and notice.status == "pending"
    with pytest.raises(IntegrityError):  # replaying the same change queues nothing more
        with db.transaction() as session:
            ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
            queue_notice(session, ticket, "follow_up", clock())
    [only] = queued(db, ticket_no)
    assert only["next_attempt_at"] is not None and only["asks_rating"] is False


def test_completing_feedback_queues_the_result_notice_asking_for_a_rating(lifecycle, db, ticket_no, clock):
    lifecycle.advance(ticket_no, "investigating", {}, 1, AGENT_LI)
    lifecycle.advance(ticket_no, "processing", {}, 2, AGENT_LI)
    lifecycle.advance(ticket_no, "feedback", {}, 3, AGENT_LI)
    assert queued(db, ticket_no) == []  # reaching 反馈 is not yet telling
    lifecycle.advance(ticket_no, "follow_up", {}, 4, AGENT_LI)
    [result] = queued(db, ticket_no)
    ticket_id = stored(db, ticket_no).id
    assert result["kind"] == "result" and result["asks_rating"] is True and result["key"] == f"result:{ticket_id}:v4"
    assert RESULT["findings"] in result["body"] and "12378" in result["body"]


def test_skipping_to_closed_through_feedback_queues_the_result_too(lifecycle, db, ticket_no):
    closing = {
        "follow_up_reached": False,
        "root_cause_controllable": False,
        "root_cause_category": "product_terms",
    }
    lifecycle.advance(ticket_no, "closed", closing, 1, AGENT_LI)
    assert [n["kind"] for n in queued(db, ticket_no)] == ["result"]


def test_a_reopened_ticket_gets_a_new_result_notice(lifecycle, db, ticket_no, clock):
    lifecycle.advance(ticket_no, "follow_up", {}, 1, AGENT_LI)
    lifecycle.withdraw(ticket_no, 2, AGENT_LI)
    ticket = lifecycle.reopen(ticket_no, "投诉人补充了新的就诊记录", 3, SUPERVISOR)
    clock.advance(days=1)
    lifecycle.advance(ticket_no, "follow_up", {"findings": "补充材料后重新核实"}, ticket["version"], SUPERVISOR)
    results = [n for n in queued(db, ticket_no) if n["kind"] == "result"]
    assert len(results) == 2 and results[0]["key"] != results[1]["key"]
    assert "补充材料后重新核实" in results[1]["body"] and "补充材料后重新核实" not in results[0]["body"]


def test_extensions_and_pauses_queue_rendered_notices(lifecycle, db, ticket_no):
    ticket = lifecycle.mark_complex(ticket_no, "涉及多家医院", 1, AGENT_LI)
    ticket = lifecycle.approve_extension(ticket_no, ticket["version"], SUPERVISOR, days=10, reason="需调取医院病历")
    lifecycle.start_pause(ticket_no, "appraisal", "伤残等级鉴定", ticket["version"], AGENT_LI)
    extension, pause = queued(db, ticket_no)
    assert extension["kind"] == "extension" and extension["detail"] == "需调取医院病历"
    assert "延长至2026年7月11日" in extension["body"] and "需调取医院病历" in extension["body"]
    assert pause["kind"] == "pause" and "伤残等级鉴定" in pause["body"] and "不计入" in pause["body"]


def test_a_refused_change_queues_no_notice(lifecycle, db, settings, ticket_no):
    ticket = lifecycle.mark_complex(ticket_no, "涉及多家医院", 1, AGENT_LI)
    with pytest.raises(StaleTicket):  # approved on a page loaded before the ticket became complex
        lifecycle.approve_extension(ticket_no, 1, SUPERVISOR, days=10, reason="需调取医院病历")
    with pytest.raises(LifecycleError, match="延长天数"):
        lifecycle.approve_extension(ticket_no, ticket["version"], SUPERVISOR, days=400, reason="需调取医院病历")
    bare = submit(db, settings, RECEIVED, {"assignee": "li"})  # no findings, decision or notice text yet
    with pytest.raises(LifecycleError):
        lifecycle.advance(bare, "follow_up", {}, 1, AGENT_LI)
    assert queued(db, ticket_no) == queued(db, bare) == []
    assert stored(db, ticket_no).extension_days == 0 and stored(db, bare).status == "accepted"


@pytest.mark.parametrize("action", ["approve_extension", "advance"])
def test_a_change_overtaken_after_queueing_its_notice_leaves_none(
    lifecycle, db, settings, ticket_no, monkeypatch, action
):
    """The notice is written in the change's transaction: when another desk user's change commits first, the
    version check fails at the end and the notice goes with the rollback."""
    ticket = lifecycle.mark_complex(ticket_no, "涉及多家医院", 1, AGENT_LI)
    other_desk = Lifecycle(db, settings)
    module = timekeeping if action == "approve_extension" else lifecycle_module
    name = "owe_notice" if action == "approve_extension" else "queue_notice"
    queue = getattr(module, name)

    def queue_then_overtaken(*args, **kwargs):
        queue(*args, **kwargs)
        other_desk.record(ticket_no, {"findings": "另一位处理人同时保存的核实情况"}, ticket["version"], AGENT_LI)

    monkeypatch.setattr(module, name, queue_then_overtaken)
    with pytest.raises(StaleTicket):
        if action == "approve_extension":
            lifecycle.approve_extension(ticket_no, ticket["version"], SUPERVISOR, days=10, reason="需调取医院病历")
        else:
            lifecycle.advance(ticket_no, "follow_up", {}, ticket["version"], AGENT_LI)
    assert queued(db, ticket_no) == []
    after = stored(db, ticket_no)
    assert (
        after.findings == "另一位处理人同时保存的核实情况" and after.extension_days == 0 and after.status == "accepted"
    )


def test_a_callback_converted_to_a_complaint_is_acknowledged(db, settings, clock):
    callback_no = submit(db, settings, RECEIVED, {"assignee": "li"}, kind="callback", category="other")
    complaint = Callbacks(db, settings, clock=clock).convert(callback_no, "claims", 1, AGENT_LI)
    assert queued(db, callback_no) == []
    [ack] = queued(db, complaint["ticket_no"])
    assert ack["kind"] == "acknowledgement" and complaint["ticket_no"] in ack["body"] and "138****5678" in ack["body"]
