"""The channel's customer-service client, talking to the fake WeChat API, and a follower to send to."""

from __future__ import annotations

from bot.channels.wechat.api import AccessTokens, ApiTransport, CustomerServiceApi
from tests.bot.channels.wechat.callbacks import APP_ID, APP_SECRET
from tests.bot.channels.wechat.fake_api import FakeWeChatApi

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"


def make_api(
    fake: FakeWeChatApi, endpoint: str = "stable", secret: str = APP_SECRET, timeout: float = 5.0
) -> CustomerServiceApi:
    """A client of `fake` fetching tokens from `endpoint` with `secret`; it retries a busy API at once."""
    transport = ApiTransport(fake.url, timeout)
    return CustomerServiceApi(transport, AccessTokens(transport, APP_ID, secret, endpoint), busy_retry_seconds=0.01)
