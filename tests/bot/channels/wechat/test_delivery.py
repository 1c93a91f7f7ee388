"""Merging, pushing and recording failures, against the fake WeChat API
(a loopback test double: WeChat's servers are unreachable from here)."""

from __future__ import annotations

from functools import partial

import pytest

from bot.channels.wechat import recent_delivery_failures, record_delivery_failure
from bot.channels.wechat.delivery import Delivery, TurnReplies
from tests.bot.channels.wechat.customer_service import OPENID, make_api


@pytest.fixture
async def delivery(wechat_api, sqlite_db):
    api = make_api(wechat_api)
    yield Delivery(api, partial(record_delivery_failure, sqlite_db), "wechat", max_bytes=2048)
    await api.close()


async def test_texts_are_merged_into_one_message(delivery, wechat_api):
    assert await delivery.send("wx:o1", OPENID, ["您好", "请问有什么可以帮您？"])
    assert wechat_api.delivered(OPENID) == ["您好\n\n请问有什么可以帮您？"]


async def test_long_texts_are_split_at_the_size_limit(delivery, wechat_api):
    assert await delivery.send("wx:o1", OPENID, ["长" * 1000])
    assert [len(text) for text in wechat_api.delivered(OPENID)] == [682, 318]


async def test_quota_errors_are_recorded_not_raised(delivery, wechat_api, sqlite_db):
    wechat_api.fail_next_sends((45047, "out of response count limit"))
    assert not await delivery.send("wx:o1", OPENID, ["长" * 1000])
    assert len(wechat_api.sends) == 1  # the second half is not tried against a spent quota
    [failure] = recent_delivery_failures(sqlite_db)
    assert failure["conversation_id"] == "wx:o1" and failure["channel"] == "wechat"
    assert failure["code"] == "45047" and "上限" in failure["message"]


async def test_a_broken_failure_log_does_not_crash_the_sender(wechat_api):
    def broken(*_):
        raise RuntimeError("database down")

    api = make_api(wechat_api)
    try:
        wechat_api.fail_next_sends((45015, "response out of time limit"))
        assert not await Delivery(api, broken, "wechat").send("wx:o1", OPENID, ["您好"])
    finally:
        await api.close()


def test_recent_failures_newest_first_and_filtered(sqlite_db):
    record_delivery_failure(sqlite_db, "wx:a", "wechat", "45015", "窗口已过")
    record_delivery_failure(sqlite_db, "wx:b", "wechat", "45047", "额度已满")
    assert [f["conversation_id"] for f in recent_delivery_failures(sqlite_db)] == ["wx:b", "wx:a"]
    assert [f["code"] for f in recent_delivery_failures(sqlite_db, conversation_id="wx:a")] == ["45015"]
    assert recent_delivery_failures(sqlite_db, channel="web") == []


async def test_turn_texts_in_time_go_to_the_passive_reply(delivery, wechat_api):
    replies = TurnReplies(delivery, "wx:o1", OPENID)
    await replies.add("您好")
    await replies.add("请问有什么可以帮您？")
    await replies.turn_finished()
    assert replies.take() == ["您好", "请问有什么可以帮您？"]
    await replies.add("稍后的提醒")  # e.g. a reminder after the reply went out
    assert wechat_api.delivered(OPENID) == ["稍后的提醒"]


async def test_a_late_turn_is_pushed_once_merged(delivery, wechat_api):
    replies = TurnReplies(delivery, "wx:o1", OPENID)
    await replies.add("第一段")
    replies.hand_over()
    await replies.add("第二段")
    assert wechat_api.sends == []
    await replies.turn_finished()
    assert wechat_api.delivered(OPENID) == ["第一段\n\n第二段"]
