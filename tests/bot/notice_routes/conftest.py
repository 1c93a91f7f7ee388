from __future__ import annotations

from typing import Iterator

import pytest

from tests.bot.channels.wechat.callbacks import APP_ID, APP_SECRET
from tests.bot.channels.wechat.fake_api import FakeWeChatApi
from tests.bot.notice_routes.sms_account import KEY_ID, KEY_SECRET, SIGN, TEMPLATE
from tests.bot.notice_routes.sms_fake import FakeAlibabaSms


@pytest.fixture(scope="module")
def fake_wechat_server() -> Iterator[FakeWeChatApi]:
    server = FakeWeChatApi(APP_ID, APP_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def wechat_api(fake_wechat_server: FakeWeChatApi) -> FakeWeChatApi:
    """The fake WeChat API (a test double: WeChat's servers cannot be reached from here), emptied for each test."""
    fake_wechat_server.reset()
    return fake_wechat_server


@pytest.fixture(scope="module")
def sms_server() -> Iterator[FakeAlibabaSms]:
    server = FakeAlibabaSms(KEY_ID, KEY_SECRET, SIGN).start()
    yield server
    server.stop()


@pytest.fixture
def sms(sms_server: FakeAlibabaSms) -> FakeAlibabaSms:
    """The fake Alibaba Cloud SMS endpoint (a test double), emptied, with the approved template."""
    sms_server.reset()
    sms_server.add_template(TEMPLATE, "ticket_no", "kind", "deadline")
    return sms_server
