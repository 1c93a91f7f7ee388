from __future__ import annotations

from typing import Iterator

import pytest

from tests.bot.channels.wechat.callbacks import APP_ID, APP_SECRET
from tests.bot.channels.wechat.fake_api import FakeWeChatApi


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
