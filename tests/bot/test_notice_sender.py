"""The notice sender: at least once, never twice through one route, retries with backoff, SMS fallback, alerts.

Routes are tests/bot/scripted_routes.ScriptedRoute (in process; the real chat route is tested against a real
Rasa in tests/e2e/test_notices.py; the WeChat and SMS routes, which cannot deduplicate, against their fakes in
tests/bot/notice_routes/test_uncertain_delivery.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.alerts import KIND_LABELS
from bot.launch.ports import free_port
from bot.models import Notice, Ticket
from bot.notice_routes.route import DeliveryError
from bot.notice_sender import NoticeSender, backoff, chain_for, route_for, unavailable_reason
from bot.notices import NoticeTexts, latest_sent_notice, notice_by_key, queue_notice
from tests.bot.clocks import Clock
from tests.bot.command_line import cli
from tests.bot.queued_notices import NOW, alerts, notice_row, ticket_with_notice
from tests.bot.races import at_once
from tests.bot.scripted_routes import ScriptedRoute, failing


@pytest.fixture
def clock():
    return Clock(NOW)


def run(sender):
    return asyncio.run(sender.run_once())


def test_routes_follow_the_channel_the_complainant_came_in_by():
    assert [route_for(c) for c in ("web", "socketio", "rest", "wechat", "desk", "", None)] == [
        "chat",
        "chat",
        "chat",
        "wechat",
        "sms",
        "sms",
        "sms",
    ]
    assert chain_for("wechat") == ["wechat", "wechat_template", "sms"] and chain_for("rest") == ["chat", "sms"]
    assert unavailable_reason({}, "sms") == "未配置短信服务"
    assert unavailable_reason({"sms": ScriptedRoute("sms", unavailable="缺少签名")}, "sms") == "缺少签名"
    assert unavailable_reason({"sms": ScriptedRoute("sms")}, "sms") is None


def test_a_notice_committed_before_a_crash_is_sent_once_by_the_next_pass(db, settings, clock):
    # Queued and committed with the ticket change; no sender ran (it was down) until now.
    ticket_no, notice_id = ticket_with_notice(db, settings)
    chat = ScriptedRoute("chat")
    sender = NoticeSender(db, settings, {"chat": chat}, clock=clock)
    assert run(sender).sent == 1
    assert run(sender).claimed == 0  # nothing due any more
    [delivered] = chat.delivered
    assert delivered.ticket_no == ticket_no and delivered.kind == "extension" and "延期原因" in delivered.text
    assert delivered.conversation_id == "web-conv" and delivered.phone == "13812345678"
    assert delivered.fields["summary"] == "处理期限延长至6月16日"
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "sent" and notice["sent_via"] == "chat" and notice["attempts"] == 1
    assert notice["next_attempt_at"] is None and attempts == [("chat", "sent", None, None)]


def test_failures_are_retried_with_exponential_backoff(db, settings, clock):
    _, notice_id = ticket_with_notice(db, settings)
    chat = ScriptedRoute("chat", failing(2))
    sender = NoticeSender(db, settings, {"chat": chat}, clock=clock)
    assert run(sender).retrying == 1
    notice, _ = notice_row(db, notice_id)
    first_retry = NOW + timedelta(seconds=settings.notice_retry_seconds)
    assert notice["status"] == "pending" and notice["next_attempt_at"].startswith(first_retry.isoformat()[:19])
    assert "服务暂时不可用" in notice["last_error"]
    clock.advance(seconds=settings.notice_retry_seconds - 1)
    assert run(sender).claimed == 0  # not yet due
    clock.advance(seconds=1)
    assert run(sender).retrying == 1
    notice, _ = notice_row(db, notice_id)
    second_retry = clock.now + timedelta(seconds=2 * settings.notice_retry_seconds)  # doubled
    assert notice["next_attempt_at"].startswith(second_retry.isoformat()[:19])
    clock.now = second_retry
    assert run(sender).sent == 1
    notice, attempts = notice_row(db, notice_id)
    assert [outcome for _, outcome, _, _ in attempts] == ["failed", "failed", "sent"]
    assert notice["attempts"] == 3 and notice["status"] == "sent" and len(chat.delivered) == 1


def test_backoff_doubles_up_to_the_cap(settings):
    assert [backoff(settings, n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]


def test_a_crash_after_delivering_is_recorded_as_a_duplicate_not_sent_again(db, settings, clock, monkeypatch):
    _, notice_id = ticket_with_notice(db, settings)
    chat = ScriptedRoute("chat")
    crashing = NoticeSender(db, settings, {"chat": chat}, clock=clock)

    def crash(*_args):
        raise KeyboardInterrupt  # the process dies between delivering and recording

    monkeypatch.setattr(crashing, "_record", crash)
    with pytest.raises(KeyboardInterrupt):
        run(crashing)
    assert len(chat.delivered) == 1
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "pending" and attempts == []  # nothing recorded
    sender = NoticeSender(db, settings, {"chat": chat}, clock=clock)
    assert run(sender).claimed == 0  # still claimed by the dead sender
    clock.advance(seconds=settings.notice_claim_seconds)
    assert run(sender).duplicates == 1
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "sent" and attempts == [("chat", "duplicate", None, "此前已送达，未重复发送")]
    assert len(chat.delivered) == 1 and chat.calls == 2  # the complainant has it once


def test_of_two_senders_one_claims_a_notice(db, settings, clock):
    _, notice_id = ticket_with_notice(db, settings)
    senders = [NoticeSender(db, settings, {}, clock=clock) for _ in range(4)]
    claims = at_once([lambda s=s: s.claim(notice_id, NOW) for s in senders])
    assert sorted(claims) == [False, False, False, True]


def test_after_the_attempts_on_its_route_a_notice_falls_back_to_sms(db, settings, clock):
    _, notice_id = ticket_with_notice(db, settings)
    chat, sms = ScriptedRoute("chat", failing(settings.notice_max_attempts)), ScriptedRoute("sms")
    sender = NoticeSender(db, settings, {"chat": chat, "sms": sms}, clock=clock)
    for _ in range(settings.notice_max_attempts - 1):
        assert run(sender).retrying == 1
        clock.advance(hours=1)
    assert run(sender).sent == 1  # the last chat failure and the SMS in one pass
    notice, attempts = notice_row(db, notice_id)
    assert [(route, outcome) for route, outcome, _, _ in attempts] == [("chat", "failed")] * 5 + [("sms", "sent")]
    assert notice["sent_via"] == "sms" and sms.delivered[0].phone == "13812345678"


def test_a_failure_retrying_cannot_help_falls_back_at_once(db, settings, clock):
    _, notice_id = ticket_with_notice(db, settings)
    chat, sms = ScriptedRoute("chat", failing(1, retryable=False, code="unaddressable")), ScriptedRoute("sms")
    assert run(NoticeSender(db, settings, {"chat": chat, "sms": sms}, clock=clock)).sent == 1
    _, attempts = notice_row(db, notice_id)
    assert [(route, outcome, code) for route, outcome, code, _ in attempts] == [
        ("chat", "failed", "unaddressable"),
        ("sms", "sent", None),
    ]


def test_a_wechat_notice_outside_the_window_goes_as_a_template_message(db, settings, clock):
    _, notice_id = ticket_with_notice(db, settings, channel="wechat")
    closed = DeliveryError("window_closed", "用户超过48小时未与公众号互动，改用模板消息", retryable=False)
    wechat, template = ScriptedRoute("wechat", [closed]), ScriptedRoute("wechat_template")
    available = {"wechat": wechat, "wechat_template": template, "sms": ScriptedRoute("sms")}
    assert run(NoticeSender(db, settings, available, clock=clock)).sent == 1
    notice, attempts = notice_row(db, notice_id)
    assert [(route, outcome, code) for route, outcome, code, _ in attempts] == [
        ("wechat", "failed", "window_closed"),
        ("wechat_template", "sent", None),
    ]
    assert notice["sent_via"] == "wechat_template" and template.delivered[0].fields["kind_label"] == "处理期限延长"


def test_the_job_runs_passes_in_one_event_loop_until_stopped_then_closes_the_routes(db, settings, clock):
    ticket_with_notice(db, settings)
    stop = threading.Event()
    loops = set()

    class StoppingRoute(ScriptedRoute):
        closed = False

        async def deliver(self, notice):
            loops.add(id(asyncio.get_running_loop()))
            await super().deliver(notice)
            stop.set()  # the operator's Ctrl-C, right after this delivery

        async def close(self):
            StoppingRoute.closed = True

    chat = StoppingRoute("chat")
    NoticeSender(db, settings, {"chat": chat, "sms": chat}, clock=clock).run_forever(timedelta(seconds=1), stop)
    assert len(chat.delivered) == 1 and len(loops) == 1 and StoppingRoute.closed


def test_a_missing_or_unavailable_route_is_recorded_and_skipped(db, settings, clock):
    # A WeChat complainant while the WeChat route is not configured: straight to SMS.
    _, wechat_notice = ticket_with_notice(db, settings, channel="wechat")
    sms = ScriptedRoute("sms")
    assert run(NoticeSender(db, settings, {"sms": sms}, clock=clock)).sent == 1
    notice, attempts = notice_row(db, wechat_notice)
    assert attempts == [
        ("wechat", "unavailable", "unavailable", "未配置微信公众号消息"),
        ("wechat_template", "unavailable", "unavailable", "未配置微信模板消息"),
        ("sms", "sent", None, None),
    ]
    assert notice["sent_via"] == "sms"


def test_with_no_route_left_the_notice_fails_with_a_supervisor_alert(db, settings, clock):
    ticket_no, notice_id = ticket_with_notice(db, settings, channel="desk")  # only SMS reaches a desk complainant
    sender = NoticeSender(db, settings, {"chat": ScriptedRoute("chat")}, clock=clock)
    assert run(sender).failed == 1
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "failed" and notice["next_attempt_at"] is None
    assert attempts == [("sms", "unavailable", "unavailable", "未配置短信服务")]
    [(kind, message)] = alerts(db)
    assert kind == "notice_failed" and KIND_LABELS[kind] == "通知发送失败"
    assert ticket_no in message and "处理期限延长" in message and "未配置短信服务" in message
    assert run(sender).claimed == 0  # failed notices are not retried; the alert is raised once


def test_exhausting_every_route_fails_once_with_an_alert(db, settings, clock):
    _, notice_id = ticket_with_notice(db, settings)
    limit = settings.notice_max_attempts
    chat, sms = ScriptedRoute("chat", failing(limit)), ScriptedRoute("sms", failing(limit))
    sender = NoticeSender(db, settings, {"chat": chat, "sms": sms}, clock=clock)
    for _ in range(2 * limit):
        run(sender)
        clock.advance(hours=1)
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "failed" and len(attempts) == 2 * limit
    assert chat.calls == sms.calls == limit and [kind for kind, _ in alerts(db)] == ["notice_failed"]


def test_a_notice_without_a_body_is_rendered_when_sent(db, settings, clock):
    # Owed notices migrated from before the outbox have no body.
    _, notice_id = ticket_with_notice(db, settings, kind="pause")
    with db.transaction() as session:
        session.get(Notice, notice_id).body = None
    chat = ScriptedRoute("chat")
    run(NoticeSender(db, settings, {"chat": chat}, clock=clock))
    assert "不计入投诉处理期限" in chat.delivered[0].text
    assert notice_row(db, notice_id)[0]["body"] == chat.delivered[0].text


def test_the_command_line_runs_a_pass_and_rasa_down_is_retried(tmp_path, sqlite_db, settings):
    _, notice_id = ticket_with_notice(sqlite_db, settings)
    down = f"http://127.0.0.1:{free_port()}"  # Rasa is not running
    run = cli(tmp_path, "notices", "send", RASA_URL=down)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "claimed": 1,
        "sent": 0,
        "duplicates": 0,
        "retrying": 1,
        "failed": 0,
        "uncertain": 0,
    }
    notice, [(route, outcome, code, _)] = notice_row(sqlite_db, notice_id)
    assert (route, outcome, code) == ("chat", "failed", "rasa_unavailable") and notice["status"] == "pending"
    bad = cli(tmp_path, "notices", "send", "--every", "0s")
    assert bad.returncode == 2 and "at least 1s" in bad.stderr


def test_the_latest_sent_notice_and_a_notice_by_its_key_are_found(db, settings, clock):
    ticket_no, first = ticket_with_notice(db, settings)
    chat = ScriptedRoute("chat")
    sender = NoticeSender(db, settings, {"chat": chat}, clock=clock)
    with db.transaction() as session:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one()
        assert latest_sent_notice(session, ticket.id) is None  # queued is not yet told
        ticket.version += 1  # a later change of the ticket
        session.flush()
        second = queue_notice(session, ticket, "pause", NOW, "伤残等级鉴定", texts=NoticeTexts(settings))
        session.flush()
        second_key, ticket_id = second.idempotency_key, ticket.id
    assert run(sender).sent == 2  # at the same moment: the later notice is the latest
    with db.transaction() as session:
        assert latest_sent_notice(session, ticket_id).kind == "pause"
        assert notice_by_key(session, second_key).id != first and notice_by_key(session, "result:0:v0") is None
