"""WeChat's server API: access_token cache, the customer-service (客服消息) and template message (模板消息) sends.

Asynchronous (aiohttp, installed with Rasa) so that Rasa's event loop never
blocks on WeChat. The token is fetched by one caller at a time (single
flight): every fetch from ``/cgi-bin/token`` invalidates the previous token,
so a burst of callers must not each fetch one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Callable, Dict, Mapping, Optional

import aiohttp

logger = logging.getLogger(__name__)

# The token was revoked, replaced or expired: fetch a new one and try once more.
TOKEN_ERRORS = frozenset({"40001", "40014", "42001"})
SYSTEM_BUSY = "-1"
NETWORK_ERROR = "network"

# Shown on the agent desk next to a failed delivery.
_EXPLANATIONS: Mapping[str, str] = {
    "45015": "用户超过48小时未与公众号互动或已取消关注，客服消息无法送达",
    "45047": "客服消息下行条数已达上限（用户发消息后48小时内最多5条），请等待用户再次发消息",
    "45009": "接口调用已达每日上限",
    "45002": "消息内容过长",
    "48001": "公众号没有客服消息接口权限（需认证的服务号）",
    "40164": "服务器IP不在公众号IP白名单中",
    "40001": "access_token无效，刷新后仍失败",
    "40014": "access_token无效，刷新后仍失败",
    "42001": "access_token已过期，刷新后仍失败",
    "40013": "AppID无效",
    "40003": "OpenID无效（不是本公众号的用户）",
    "40037": "模板ID无效",
    "43004": "用户未关注公众号，无法接收模板消息",
    "43019": "用户已将公众号拉黑",
    "47003": "模板参数不正确",
    "40125": "AppSecret无效",
    "-1": "微信系统繁忙",
    NETWORK_ERROR: "无法连接微信服务器",
}


class WeChatApiError(Exception):
    """A failed API call; ``code`` is WeChat's errcode as text, or ``network``/``http_<status>``."""

    def __init__(self, code: str, message: str, *, unsent: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.unsent = unsent  # failed before the message itself went out (fetching the access_token)

    @property
    def explanation(self) -> str:
        """Chinese, for the agent desk."""
        hint = _EXPLANATIONS.get(self.code, "微信接口返回错误")
        return f"{hint}（{self.code}: {self.message}）"


class ApiTransport:
    """One aiohttp session per channel, created lazily inside the running loop."""

    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def call(
        self, method: str, path: str, params: Optional[Dict[str, str]] = None, body: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        """Returns the JSON answer; raises WeChatApiError unless ``errcode`` is absent or 0."""
        # WeChat wants real UTF-8, not \\u escapes, in message bodies.
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self._client().request(
                method, f"{self.base_url}{path}", params=params, data=data, headers=headers
            ) as response:
                if response.status != 200:
                    raise WeChatApiError(f"http_{response.status}", "unexpected HTTP status")
                answer = await response.json(content_type=None)
        except asyncio.TimeoutError as exc:
            raise WeChatApiError(NETWORK_ERROR, "timeout") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise WeChatApiError(NETWORK_ERROR, type(exc).__name__) from exc
        if not isinstance(answer, dict):
            raise WeChatApiError("bad_response", "answer is not a JSON object")
        code = str(answer.get("errcode", 0))
        if code != "0":
            raise WeChatApiError(code, str(answer.get("errmsg", ""))[:300])
        return answer

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class AccessTokens:
    """The cached access_token, refreshed by a single caller at a time."""

    def __init__(
        self,
        transport: ApiTransport,
        app_id: str,
        app_secret: str,
        endpoint: str = "stable",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._app_id = app_id
        self._app_secret = app_secret
        self._endpoint = endpoint
        self._clock = clock
        self._token: Optional[str] = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()

    def _valid(self) -> Optional[str]:
        return self._token if self._token and self._clock() < self._refresh_at else None

    async def get(self) -> str:
        token = self._valid()
        if token:
            return token
        async with self._lock:
            # Whoever waited here while another caller fetched reuses that token.
            token = self._valid()
            if token:
                return token
            return await self._fetch()

    def invalidate(self, token: str) -> None:
        """Drops ``token`` if it is still the cached one (not if a caller already replaced it)."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> str:
        if self._endpoint == "stable":
            answer = await self._transport.call(
                "POST",
                "/cgi-bin/stable_token",
                body={
                    "grant_type": "client_credential",
                    "appid": self._app_id,
                    "secret": self._app_secret,
                    "force_refresh": False,
                },
            )
        else:
            answer = await self._transport.call(
                "GET",
                "/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret},
            )
        token = answer.get("access_token")
        try:
            expires_in = int(answer.get("expires_in", 7200))
        except (TypeError, ValueError):
            expires_in = 7200
        if not isinstance(token, str) or not token:
            raise WeChatApiError("bad_response", "no access_token in the answer")
        # Refresh 5 minutes early (both endpoints overlap old and new tokens for 5 minutes).
        margin = min(300, expires_in // 2)
        self._token, self._refresh_at = token, self._clock() + expires_in - margin
        logger.info("WeChat access_token refreshed (valid %ss)", expires_in)
        return token


class CustomerServiceApi:
    """Sends 客服消息 and 模板消息 to one OpenID, with one retry after a token refresh or a busy answer."""

    def __init__(self, transport: ApiTransport, tokens: AccessTokens, busy_retry_seconds: float = 1.0) -> None:
        self._transport = transport
        self.tokens = tokens
        self._busy_retry_seconds = busy_retry_seconds

    async def send_text(self, openid: str, content: str) -> None:
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self._post("/cgi-bin/message/custom/send", body)

    async def send_template(
        self, openid: str, template_id: str, data: Mapping[str, str], url: Optional[str] = None
    ) -> Dict[str, Any]:
        """Sends a template message; ``data`` maps the template's keys to their values. Returns WeChat's answer."""
        body: Dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            body["url"] = url
        return await self._post("/cgi-bin/message/template/send", body)

    async def _post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        for attempt in (1, 2):
            try:
                token = await self.tokens.get()
            except WeChatApiError as error:
                raise WeChatApiError(error.code, error.message, unsent=True) from error
            try:
                return await self._transport.call("POST", path, params={"access_token": token}, body=body)
            except WeChatApiError as error:
                if attempt == 1 and error.code in TOKEN_ERRORS:
                    self.tokens.invalidate(token)
                    continue
                if attempt == 1 and error.code == SYSTEM_BUSY:
                    await asyncio.sleep(self._busy_retry_seconds)
                    continue
                raise
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def close(self) -> None:
        await self._transport.close()


def customer_service_api(
    base_url: str, app_id: str, app_secret: str, token_endpoint: str = "stable", timeout_seconds: float = 10.0
) -> CustomerServiceApi:
    transport = ApiTransport(base_url, timeout_seconds)
    return CustomerServiceApi(transport, AccessTokens(transport, app_id, app_secret, token_endpoint))
