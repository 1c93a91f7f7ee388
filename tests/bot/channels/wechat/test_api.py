"""The access_token cache and customer-service client against the fake WeChat API
(a loopback test double: WeChat's servers are unreachable from here)."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

from bot.channels.wechat.api import CustomerServiceApi, WeChatApiError
from tests.bot.channels.wechat.callbacks import APP_ID, APP_SECRET
from tests.bot.channels.wechat.customer_service import OPENID, make_api


@pytest.fixture
async def api(wechat_api) -> AsyncIterator[CustomerServiceApi]:
    client = make_api(wechat_api)
    yield client
    await client.close()


async def test_many_concurrent_callers_cause_one_token_fetch(api, wechat_api):
    wechat_api.token_delay = 0.3  # long enough for every caller to arrive during the fetch
    tokens = await asyncio.gather(*(api.tokens.get() for _ in range(50)))
    assert len(set(tokens)) == 1
    assert len(wechat_api.token_fetches) == 1
    await asyncio.gather(*(api.send_text(OPENID, f"第{i}条") for i in range(20)))
    assert len(wechat_api.token_fetches) == 1
    assert sorted(wechat_api.delivered(OPENID)) == sorted(f"第{i}条" for i in range(20))


async def test_stable_token_request(api, wechat_api):
    await api.send_text(OPENID, "您好")
    [fetch] = wechat_api.token_fetches
    assert fetch == {
        "endpoint": "stable_token",
        "body": {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET, "force_refresh": False},
    }
    [send] = wechat_api.sends
    assert send["body"] == {"touser": OPENID, "msgtype": "text", "text": {"content": "您好"}}
    assert not send["raw_has_escapes"]  # real UTF-8, not \u escapes


async def test_classic_token_endpoint(wechat_api):
    api = make_api(wechat_api, endpoint="classic")
    try:
        await api.send_text(OPENID, "您好")
    finally:
        await api.close()
    [fetch] = wechat_api.token_fetches
    assert fetch["endpoint"] == "token" and fetch["params"]["appid"] == APP_ID
    assert wechat_api.delivered(OPENID) == ["您好"]


async def test_an_expired_token_is_refreshed_once_for_all_callers(api, wechat_api):
    await api.send_text(OPENID, "第一条")
    wechat_api.expire_tokens()
    await asyncio.gather(*(api.send_text(OPENID, f"重试{i}") for i in range(10)))
    assert len(wechat_api.token_fetches) == 2
    assert len(wechat_api.delivered(OPENID)) == 11
    assert sum(1 for send in wechat_api.sends if send["errcode"] == 42001) == 10


async def test_a_token_rejected_twice_is_an_error_not_a_loop(api, wechat_api):
    wechat_api.fail_next_sends((40001, "invalid credential"), (40001, "invalid credential"))
    with pytest.raises(WeChatApiError) as info:
        await api.send_text(OPENID, "您好")
    assert info.value.code == "40001"
    assert len(wechat_api.sends) == 2 and len(wechat_api.token_fetches) == 2


@pytest.mark.parametrize("errcode,hint", [(45015, "48小时"), (45047, "上限"), (48001, "权限"), (45002, "过长")])
async def test_quota_and_window_errors_are_raised_without_retry(api, wechat_api, errcode, hint):
    wechat_api.fail_next_sends((errcode, "some errmsg"))
    with pytest.raises(WeChatApiError) as info:
        await api.send_text(OPENID, "您好")
    assert info.value.code == str(errcode) and hint in info.value.explanation
    assert len(wechat_api.sends) == 1


async def test_system_busy_is_retried_once(api, wechat_api):
    wechat_api.fail_next_sends((-1, "system error"))
    await api.send_text(OPENID, "您好")
    assert [s["errcode"] for s in wechat_api.sends] == [-1, 0]


async def test_a_slow_api_times_out_as_a_network_error(wechat_api):
    wechat_api.send_delay = 1.0
    api = make_api(wechat_api, timeout=0.3)
    try:
        with pytest.raises(WeChatApiError) as info:
            await api.send_text(OPENID, "您好")
    finally:
        await api.close()
    assert info.value.code == "network"


async def test_a_wrong_secret_fails_at_the_token(wechat_api):
    api = make_api(wechat_api, secret="wrong")
    try:
        with pytest.raises(WeChatApiError) as info:
            await api.send_text(OPENID, "您好")
    finally:
        await api.close()
    assert info.value.code == "40125" and wechat_api.sends == []


async def test_waiting_for_a_token_does_not_block_the_event_loop(api, wechat_api):
    wechat_api.token_delay = 0.5
    fetch = asyncio.ensure_future(api.tokens.get())
    ticks_while_fetching = 0
    for _ in range(10):
        await asyncio.sleep(0.02)
        ticks_while_fetching += not fetch.done()
    assert ticks_while_fetching == 10
    assert await fetch
