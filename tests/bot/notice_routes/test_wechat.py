"""The WeChat notice routes against the fake WeChat API (a loopback test double: WeChat's servers cannot be
reached from here), with the 48-hour window read from the real inbox table."""

from __future__ import annotations

import logging
from dataclasses import replace
from types import SimpleNamespace
from typing import AsyncIterator, Tuple

import pytest

from bot.launch.ports import free_port
from bot.notice_routes.route import DeliveryError, OutgoingNotice
from bot.notice_routes.wechat import BAD_LINK, NO_LINK, WeChatRoute, WeChatTemplateRoute, wechat_routes
from bot.notice_sender import NoticeSender
from tests.bot.channels.wechat.callbacks import APP_SECRET
from tests.bot.notice_routes.wechat_account import (
    CONVERSATION,
    OPENID,
    SECRET_VARIABLE,
    notice_fields,
    user_wrote,
    write_credentials,
)
from tests.databases import make_settings

TEMPLATE_ID = "TPL-result-0001"
CHAT_PAGE = "https://kefu.insurer.example/webhooks/web/"
ENV = {SECRET_VARIABLE: APP_SECRET}

Routes = Tuple[WeChatRoute, WeChatTemplateRoute]


def notice(conversation_id: str = CONVERSATION, **fields: str) -> OutgoingNotice:
    return OutgoingNotice(
        key="notice-result-1",
        kind="result",
        ticket_no="TS20261206000123",
        conversation_id=conversation_id,
        channel="wechat",
        text="您的投诉TS20261206000123已有处理结果：……",
        fields=notice_fields(**fields),
    )


def build(tmp_path, db, wechat_api, **env: str) -> Routes:
    path = write_credentials(tmp_path, wechat_api.url)
    values = {
        "WECHAT_CREDENTIALS_FILE": str(path),
        "WECHAT_TEMPLATE_ID": TEMPLATE_ID,
        "WECHAT_TEMPLATE_URL": CHAT_PAGE,
        **env,
    }
    return wechat_routes(make_settings(tmp_path, **values), db, env=ENV)


@pytest.fixture
async def routes(tmp_path, db, wechat_api) -> AsyncIterator[Routes]:
    wechat_api.add_template(TEMPLATE_ID, "keyword1", "keyword2", "keyword3")
    made = build(tmp_path, db, wechat_api)
    yield made
    await made[0].close()


async def test_inside_the_window_the_notice_is_a_customer_service_message(routes, db, wechat_api):
    wechat, template = routes
    assert wechat.name == "wechat" and wechat.unavailable() is None
    user_wrote(db, hours_ago=47)
    await wechat.deliver(notice())
    assert wechat_api.delivered(OPENID) == [notice().text]
    assert wechat_api.template_sends == []


async def test_a_result_notice_asks_for_the_rating_in_plain_text_the_follower_can_answer(routes, db, wechat_api):
    wechat, _ = routes
    user_wrote(db, hours_ago=1)
    await wechat.deliver(replace(notice(), asks_rating=True))
    [sent] = wechat_api.delivered(OPENID)  # one message: the notice and the question fit in one
    assert sent.startswith(notice().text)
    assert "回复“1”满意，“2”基本满意，“3”不满意" in sent and sent.endswith("可回复：满意｜基本满意｜不满意")


@pytest.mark.parametrize("hours_ago", [49, None])
async def test_outside_the_window_the_wechat_route_refuses_and_the_template_is_sent(routes, db, wechat_api, hours_ago):
    wechat, template = routes
    if hours_ago is not None:
        user_wrote(db, hours_ago=hours_ago)
    with pytest.raises(DeliveryError) as info:
        await wechat.deliver(notice())
    assert info.value.code == "window_closed" and not info.value.retryable
    assert wechat_api.sends == []

    await template.deliver(notice())
    [send] = wechat_api.template_sends
    assert send["errcode"] == 0  # the fake accepted the template id and keys
    assert send["body"] == {
        "touser": OPENID,
        "template_id": TEMPLATE_ID,
        "url": CHAT_PAGE,
        "data": {
            "keyword1": {"value": "TS20261206000123"},
            "keyword2": {"value": "处理结果"},
            "keyword3": {"value": "2026年12月21日"},
        },
    }


async def test_wechat_closing_the_window_early_is_reported_as_window_closed(routes, db, wechat_api):
    wechat, _ = routes
    user_wrote(db, hours_ago=1)
    wechat_api.fail_next_sends((45047, "out of response count limit"))
    with pytest.raises(DeliveryError) as info:
        await wechat.deliver(notice())
    assert info.value.code == "window_closed" and not info.value.retryable and not info.value.uncertain
    assert "上限" in info.value.message


async def test_a_long_notice_refused_after_its_first_part_went_out_is_uncertain(routes, db, wechat_api):
    wechat, _ = routes
    user_wrote(db, hours_ago=1)
    wechat_api.fail_next_sends((0, "ok"), (45047, "out of response count limit"))
    with pytest.raises(DeliveryError) as info:
        await wechat.deliver(replace(notice(), text="经核实，您的理赔材料已收齐，审核结论如下。" * 200))
    # Sending it again would repeat the first part: not "window closed" (which moves on as if nothing went out).
    assert info.value.uncertain and info.value.code == "wechat_45047"
    assert len(wechat_api.delivered(OPENID)) == 1


async def test_a_wechat_that_cannot_be_reached_sent_nothing(tmp_path, db):
    nothing_listens = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}")
    wechat, _ = build(tmp_path, db, nothing_listens)
    user_wrote(db, hours_ago=1)
    try:
        with pytest.raises(DeliveryError) as info:
            await wechat.deliver(notice())
    finally:
        await wechat.close()
    assert info.value.code == "wechat_network" and info.value.retryable and not info.value.uncertain


async def test_template_values_are_shortened_and_missing_fields_dashed(tmp_path, db, wechat_api):
    wechat_api.add_template(TEMPLATE_ID, "keyword1", "keyword2", "remark")
    wechat, template = build(
        tmp_path, db, wechat_api, WECHAT_TEMPLATE_FIELDS="keyword1=kind_label,keyword2=missing,remark=text"
    )
    try:
        await template.deliver(notice(kind_label="关于您的理赔投诉的\n处理结果及后续核查途径说明"))
    finally:
        await wechat.close()
    [send] = wechat_api.template_sends
    assert send["errcode"] == 0
    data = send["body"]["data"]
    assert data["keyword1"]["value"] == "关于您的理赔投诉的 处理结果及后续核查…"
    assert len(data["keyword1"]["value"]) == 20
    assert data["keyword2"]["value"] == "-"
    assert data["remark"]["value"] == "您的投诉TS2026120600012…"


@pytest.mark.parametrize(
    "errcode,code,retryable",
    [
        (43019, "wechat_43019", False),  # the user blocked the account
        (43004, "wechat_43004", False),  # unfollowed
        (47003, "wechat_47003", False),
        (45009, "wechat_45009", True),  # daily quota
        (40164, "wechat_40164", True),  # IP whitelist: an operator can fix it
    ],
)
async def test_template_errors_are_final_or_retryable(routes, wechat_api, errcode, code, retryable):
    _, template = routes
    wechat_api.fail_next_sends((errcode, "errmsg"))
    with pytest.raises(DeliveryError) as info:
        await template.deliver(notice())
    assert (info.value.code, info.value.retryable) == (code, retryable)
    assert info.value.message  # Chinese explanation for the ticket page
    assert len(wechat_api.template_sends) == 1


async def test_an_unknown_template_id_is_final(tmp_path, db, wechat_api):
    wechat, template = build(tmp_path, db, wechat_api)  # the account has no such template
    try:
        with pytest.raises(DeliveryError) as info:
            await template.deliver(notice())
    finally:
        await wechat.close()
    assert info.value.code == "wechat_40037" and not info.value.retryable
    assert "模板ID无效" in info.value.message


async def test_a_busy_wechat_is_retried_once_then_left_for_later(routes, db, wechat_api):
    wechat, _ = routes
    user_wrote(db, hours_ago=2)
    wechat_api.fail_next_sends((-1, "system error"), (-1, "system error"))
    with pytest.raises(DeliveryError) as info:
        await wechat.deliver(notice())
    assert info.value.retryable and info.value.code == "wechat_-1"
    assert [s["errcode"] for s in wechat_api.sends] == [-1, -1]


async def test_an_expired_token_is_refreshed_and_the_template_sent(routes, wechat_api):
    _, template = routes
    await template.deliver(notice())
    wechat_api.expire_tokens()
    await template.deliver(notice())
    assert [s["errcode"] for s in wechat_api.template_sends] == [0, 42001, 0]
    assert len(wechat_api.token_fetches) == 2


async def test_a_conversation_from_another_channel_is_refused(routes):
    wechat, template = routes
    for route in (wechat, template):
        with pytest.raises(DeliveryError) as info:
            await route.deliver(notice(conversation_id="web-5f2c9a"))
        assert info.value.code == "not_wechat" and not info.value.retryable


async def test_without_a_wechat_block_both_routes_are_unavailable(tmp_path, db):
    path = tmp_path / "credentials.yml"
    path.write_text("rest:\n", encoding="utf-8")
    settings = make_settings(tmp_path, WECHAT_CREDENTIALS_FILE=str(path), WECHAT_TEMPLATE_ID=TEMPLATE_ID)
    wechat, template = wechat_routes(settings, db, env=ENV)
    assert "未配置微信公众号" in (wechat.unavailable() or "")
    assert template.unavailable() == wechat.unavailable()
    with pytest.raises(DeliveryError) as info:
        await wechat.deliver(notice())
    assert info.value.code == "unavailable" and not info.value.retryable


async def test_a_missing_secret_variable_disables_wechat(tmp_path, db, wechat_api):
    path = write_credentials(tmp_path, wechat_api.url)
    wechat, template = wechat_routes(make_settings(tmp_path, WECHAT_CREDENTIALS_FILE=str(path)), db, env={})
    assert "配置有误" in (wechat.unavailable() or "")
    assert template.unavailable() is not None


async def test_template_needs_its_id_and_a_valid_mapping(tmp_path, db, wechat_api):
    wechat, template = build(tmp_path, db, wechat_api, WECHAT_TEMPLATE_ID="")
    assert wechat.unavailable() is None
    assert template.unavailable() == "未配置微信模板消息（WECHAT_TEMPLATE_ID）"
    with pytest.raises(DeliveryError):
        await template.deliver(notice())
    _, bad = build(tmp_path, db, wechat_api, WECHAT_TEMPLATE_FIELDS="keyword1:ticket_no")
    assert "WECHAT_TEMPLATE_FIELDS" in (bad.unavailable() or "")
    await wechat.close()
    await bad.close()


async def test_the_template_links_to_the_public_chat_page_when_no_other_link_is_set(tmp_path, db, wechat_api):
    wechat_api.add_template(TEMPLATE_ID, "keyword1", "keyword2", "keyword3")
    wechat, template = build(tmp_path, db, wechat_api, WECHAT_TEMPLATE_URL="", CHAT_PAGE_URL=CHAT_PAGE)
    try:
        assert template.without_link() is None
        await template.deliver(notice())
    finally:
        await wechat.close()
    [send] = wechat_api.template_sends
    assert send["errcode"] == 0 and send["body"]["url"] == CHAT_PAGE


@pytest.mark.parametrize("address,reason", [("", NO_LINK), ("/webhooks/web/", BAD_LINK)])
async def test_without_a_chat_page_address_the_template_has_no_link_and_the_sender_says_so(
    tmp_path, db, wechat_api, caplog, address, reason
):
    wechat_api.add_template(TEMPLATE_ID, "keyword1", "keyword2", "keyword3")
    wechat, template = build(tmp_path, db, wechat_api, WECHAT_TEMPLATE_URL=address)
    try:
        assert template.without_link() == reason and "CHAT_PAGE_URL" in reason
        with caplog.at_level(logging.WARNING, logger="bot.notice_sender"):
            NoticeSender(db, make_settings(tmp_path), {"wechat": wechat, "wechat_template": template})
        assert f"notice route wechat_template: {reason}" in caplog.text  # at the sender's start
        await template.deliver(notice())
    finally:
        await wechat.close()
    [send] = wechat_api.template_sends
    assert send["errcode"] == 0 and "url" not in send["body"]
    # A template route that cannot be used at all says only that (the desk shows no link warning for it).
    _, unconfigured = build(tmp_path, db, wechat_api, WECHAT_TEMPLATE_URL=address, WECHAT_TEMPLATE_ID="")
    assert unconfigured.without_link() is None
