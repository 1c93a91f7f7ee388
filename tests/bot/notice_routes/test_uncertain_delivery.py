"""Never the same notice twice through a route that cannot tell whether it delivered it: the notice sender with
the real SMS and WeChat routes against their loopback fakes (test doubles: Alibaba Cloud's and WeChat's servers
cannot be reached from here), whose received messages are counted.

A sender that dies between the call and recording its outcome, or a call that times out after the service
accepted the message, leaves the delivery uncertain: that route is not called again for the notice; the next
route of the chain is tried, and with none left the notice is settled 送达状态不明 with a supervisor alert.
"""

from __future__ import annotations

import pytest

from bot.alerts import KIND_LABELS
from bot.launch.ports import free_port
from bot.notice_routes.sms import SmsRoute
from bot.notice_routes.wechat import wechat_routes
from bot.notice_sender import INTERRUPTED, NoticeSender
from tests.bot.channels.wechat.callbacks import APP_SECRET
from tests.bot.clocks import Clock
from tests.bot.notice_routes.sms_account import sms_settings
from tests.bot.notice_routes.wechat_account import (
    CONVERSATION,
    OPENID,
    SECRET_VARIABLE,
    user_wrote,
    write_credentials,
)
from tests.bot.queued_notices import NOW, alerts, notice_row, ticket_with_notice
from tests.databases import make_settings

TEMPLATE_ID = "TPL-notice-0001"


class SenderDied(Exception):
    """The sender's process ends between the route's call and recording its outcome."""


def dying(sender: NoticeSender, monkeypatch) -> NoticeSender:
    def die(*_args):
        raise SenderDied

    monkeypatch.setattr(sender, "_record", die)
    return sender


@pytest.fixture
def clock():
    return Clock(NOW)


def sms_sender(db, settings, clock) -> NoticeSender:
    return NoticeSender(db, settings, {"sms": SmsRoute(settings)}, clock=clock)


def wechat_sender(db, tmp_path, wechat_api, clock, timeout_seconds: float = 5) -> NoticeSender:
    path = write_credentials(tmp_path, wechat_api.url, timeout_seconds)
    settings = make_settings(tmp_path, WECHAT_CREDENTIALS_FILE=str(path), WECHAT_TEMPLATE_ID=TEMPLATE_ID)
    wechat, template = wechat_routes(settings, db, env={SECRET_VARIABLE: APP_SECRET})
    return NoticeSender(db, settings, {"wechat": wechat, "wechat_template": template}, clock=clock)


async def test_an_sms_sender_that_dies_after_the_call_never_sends_the_notice_again(
    db, tmp_path, sms, clock, monkeypatch
):
    settings = sms_settings(tmp_path, sms.url)
    ticket_no, notice_id = ticket_with_notice(db, settings, channel="desk")  # only SMS reaches this complainant
    with pytest.raises(SenderDied):
        await dying(sms_sender(db, settings, clock), monkeypatch).run_once()
    assert len(sms.messages) == 1
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "pending" and attempts == [("sms", "in_flight", None, None)]  # committed first

    sender = sms_sender(db, settings, clock)
    assert (await sender.run_once()).claimed == 0  # still claimed by the dead sender
    clock.advance(seconds=settings.notice_claim_seconds)
    report = await sender.run_once()
    assert report.uncertain == 1 and report.sent == report.failed == 0
    assert len(sms.requests) == len(sms.messages) == 1  # the phone got it once
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "uncertain" and notice["next_attempt_at"] is None
    assert attempts == [("sms", "uncertain", "interrupted", INTERRUPTED)]
    [(kind, message)] = alerts(db)
    assert kind == "notice_uncertain" and KIND_LABELS[kind] == "通知送达状态不明"
    assert ticket_no in message and "处理期限延长" in message and "核实" in message
    clock.advance(hours=1)
    assert (await sender.run_once()).claimed == 0 and len(sms.requests) == 1


async def test_an_sms_answer_that_times_out_after_the_service_accepted_is_not_sent_again(db, tmp_path, sms, clock):
    settings = sms_settings(tmp_path, sms.url, ALIBABA_SMS_TIMEOUT_SECONDS="1")
    _, notice_id = ticket_with_notice(db, settings, channel="desk")
    sms.answer_delay = 2.0  # accepted (and sent), answered after the route gave up waiting
    sender = sms_sender(db, settings, clock)
    assert (await sender.run_once()).uncertain == 1
    notice, [(route, outcome, code, detail)] = notice_row(db, notice_id)
    assert (route, outcome, code) == ("sms", "uncertain", "sms_network") and "不再经此渠道发送" in detail
    assert notice["status"] == "uncertain"
    clock.advance(hours=1)
    assert (await sender.run_once()).claimed == 0
    assert len(sms.requests) == len(sms.messages) == 1


async def test_an_sms_service_that_cannot_be_reached_is_still_retried(db, tmp_path, clock):
    settings = sms_settings(tmp_path, f"http://127.0.0.1:{free_port()}")  # nothing listens: nothing was sent
    _, notice_id = ticket_with_notice(db, settings, channel="desk")
    assert (await sms_sender(db, settings, clock).run_once()).retrying == 1
    notice, [(route, outcome, code, _)] = notice_row(db, notice_id)
    assert (route, outcome, code) == ("sms", "failed", "sms_network") and notice["status"] == "pending"


async def test_a_wechat_sender_that_dies_after_the_call_moves_on_to_the_template_message(
    db, tmp_path, wechat_api, clock, monkeypatch
):
    wechat_api.add_template(TEMPLATE_ID, "keyword1", "keyword2", "keyword3")
    user_wrote(db, hours_ago=1)  # the 48-hour window is open: a 客服消息
    _, notice_id = ticket_with_notice(db, make_settings(tmp_path), channel="wechat", conversation_id=CONVERSATION)
    died = dying(wechat_sender(db, tmp_path, wechat_api, clock), monkeypatch)
    with pytest.raises(SenderDied):
        await died.run_once_and_close()
    assert len(wechat_api.delivered(OPENID)) == 1

    clock.advance(seconds=died.settings.notice_claim_seconds)
    assert (await wechat_sender(db, tmp_path, wechat_api, clock).run_once_and_close()).sent == 1
    assert len(wechat_api.delivered(OPENID)) == len(wechat_api.sends) == 1  # the 客服消息 once
    [template] = wechat_api.template_sends  # then on another route
    assert template["errcode"] == 0 and template["body"]["touser"] == OPENID
    notice, attempts = notice_row(db, notice_id)
    assert notice["status"] == "sent" and notice["sent_via"] == "wechat_template"
    assert attempts == [("wechat", "uncertain", "interrupted", INTERRUPTED), ("wechat_template", "sent", None, None)]
    assert alerts(db) == []


async def test_a_wechat_call_that_times_out_after_wechat_accepted_moves_on_to_the_template_message(
    db, tmp_path, wechat_api, clock
):
    wechat_api.add_template(TEMPLATE_ID, "keyword1", "keyword2", "keyword3")
    user_wrote(db, hours_ago=1)
    _, notice_id = ticket_with_notice(db, make_settings(tmp_path), channel="wechat", conversation_id=CONVERSATION)
    wechat_api.send_delay = 1.0  # WeChat takes the message but answers after the route gave up waiting
    sender = wechat_sender(db, tmp_path, wechat_api, clock, timeout_seconds=0.5)
    assert (await sender.run_once_and_close()).sent == 1
    assert wechat_api.wait_for(lambda: len(wechat_api.delivered(OPENID)) == 1, timeout=5)
    notice, attempts = notice_row(db, notice_id)
    assert [(route, outcome, code) for route, outcome, code, _ in attempts] == [
        ("wechat", "uncertain", "wechat_network"),
        ("wechat_template", "sent", None),
    ]
    clock.advance(hours=1)
    assert (await wechat_sender(db, tmp_path, wechat_api, clock).run_once_and_close()).claimed == 0
    assert len(wechat_api.sends) == 1 and len(wechat_api.template_sends) == 1


async def test_a_wechat_token_fetch_that_times_out_sent_nothing_and_is_retried_not_uncertain(
    db, tmp_path, wechat_api, clock
):
    user_wrote(db, hours_ago=1)
    _, notice_id = ticket_with_notice(db, make_settings(tmp_path), channel="wechat", conversation_id=CONVERSATION)
    wechat_api.token_delay = 1.0  # the access_token answer comes after the route gave up waiting
    sender = wechat_sender(db, tmp_path, wechat_api, clock, timeout_seconds=0.5)
    assert (await sender.run_once_and_close()).uncertain == 0
    notice, attempts = notice_row(db, notice_id)
    assert [(route, outcome, code) for route, outcome, code, _ in attempts][0] == ("wechat", "failed", "wechat_network")
    assert notice["status"] != "uncertain" and wechat_api.sends == [] and alerts(db) == []
