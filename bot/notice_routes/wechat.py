"""Notices to a WeChat follower: 客服消息 while the 48-hour window is open, a template message (模板消息) after.

Two routes sharing one account and one access_token cache. The sender tries ``wechat`` first; it raises
DeliveryError(code="window_closed", retryable=False) when the window is shut (by our inbox, or by WeChat's
45015/45047 answer), and the sender then tries ``wechat_template``, which links to the chat page.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlparse

from sqlalchemy import func, select

from bot.channels.wechat.api import (
    NETWORK_ERROR,
    SYSTEM_BUSY,
    TOKEN_ERRORS,
    CustomerServiceApi,
    WeChatApiError,
    customer_service_api,
)
from bot.channels.wechat.credentials import WeChatCredentials, load_credentials_file
from bot.channels.wechat.messages import merge_texts, text_with_buttons
from bot.db import Database
from bot.models import WeChatInboxMessage
from bot.notice_routes.route import DeliveryError, OutgoingNotice
from bot.notice_routes.template_fields import fill, parse_field_mapping
from bot.satisfaction import rating_question
from bot.settings import Settings

logger = logging.getLogger(__name__)

# WeChat counts the window from when it received the user's message; ours is recorded a moment later,
# and a notice queued just before the end must not race it.
WINDOW = timedelta(hours=48)
WINDOW_MARGIN = timedelta(minutes=10)
WINDOW_CLOSED = "window_closed"
# Why a template message carries no link to the chat page (the sender's log, the ticket page of a WeChat complaint).
NO_LINK = "未配置聊天页面地址（CHAT_PAGE_URL 或 WECHAT_TEMPLATE_URL），微信模板消息不含链接"
BAD_LINK = "聊天页面地址（WECHAT_TEMPLATE_URL / CHAT_PAGE_URL）不是完整的 http(s) 网址，微信模板消息不含链接"
# 45015: no message from the user for 48 hours (or unfollowed); 45047: the 客服 quota of the window is used up.
_WINDOW_ERRORS = frozenset({"45015", "45047"})
# Worth another attempt later: WeChat busy or unreachable, the token still refused after a refresh,
# the daily quota, the server's IP not yet whitelisted (an operator can fix it).
_RETRYABLE = frozenset({SYSTEM_BUSY, NETWORK_ERROR, "bad_response", "45009", "40164"}) | TOKEN_ERRORS
# A network failure other than these (a timeout, a dropped connection) may come after WeChat accepted the
# message; so may an answer that is not WeChat's JSON. aiohttp's errors for a connection never made:
_NOT_CONNECTED = frozenset(
    {"ClientConnectorError", "ClientConnectorSSLError", "ClientConnectorCertificateError", "ClientProxyConnectionError"}
)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def delivery_error(error: WeChatApiError, sent_before: bool = False) -> DeliveryError:
    """WeChat's answer as the sender needs it: window closed, worth retrying, or final; uncertain when WeChat
    may have accepted the message (or, `sent_before`, an earlier part of the notice)."""
    if error.code in _WINDOW_ERRORS and not sent_before:
        return DeliveryError(WINDOW_CLOSED, error.explanation, retryable=False)
    retryable = error.code in _RETRYABLE or error.code.startswith("http_5")
    maybe_accepted = not error.unsent and (
        error.code == "bad_response" or (error.code == NETWORK_ERROR and error.message not in _NOT_CONNECTED)
    )
    return DeliveryError(
        f"wechat_{error.code}"[:32], error.explanation, retryable=retryable, uncertain=maybe_accepted or sent_before
    )


def last_user_message_at(db: Database, openid: str) -> Optional[datetime]:
    """When the follower last wrote (or tapped the menu, or followed), from the inbox; None if not in it."""
    with db.transaction() as session:
        last = session.execute(
            select(func.max(WeChatInboxMessage.received_at)).where(WeChatInboxMessage.openid == openid)
        ).scalar()
    if last is not None and last.tzinfo is None:  # SQLite drops the zone; stored in UTC
        last = last.replace(tzinfo=timezone.utc)
    return last


@dataclass
class WeChatAccount:
    """The account both routes send from, or why there is none."""

    credentials: Optional[WeChatCredentials]
    api: Optional[CustomerServiceApi]
    problem: Optional[str] = None  # Chinese, for the desk

    def openid(self, notice: OutgoingNotice) -> Tuple[WeChatCredentials, CustomerServiceApi, str]:
        if self.credentials is None or self.api is None:
            raise DeliveryError("unavailable", self.problem or "未配置微信公众号", retryable=False)
        openid = self.credentials.openid(notice.conversation_id)
        if openid is None:
            raise DeliveryError("not_wechat", "该投诉不是通过微信公众号提交的，无法发送微信消息", retryable=False)
        return self.credentials, self.api, openid

    async def close(self) -> None:
        if self.api is not None:
            await self.api.close()


class WeChatRoute:
    """客服消息 within the 48-hour window since the follower's last message."""

    name = "wechat"
    deduplicates = False  # WeChat delivers every message it accepts

    def __init__(self, account: WeChatAccount, db: Database, clock: Callable[[], datetime] = _utcnow) -> None:
        self.account = account
        self.db = db
        self.clock = clock

    def unavailable(self) -> Optional[str]:
        return self.account.problem

    async def deliver(self, notice: OutgoingNotice) -> None:
        credentials, api, openid = self.account.openid(notice)
        last = await asyncio.to_thread(last_user_message_at, self.db, openid)
        if last is None or self.clock() - last > WINDOW - WINDOW_MARGIN:
            raise DeliveryError(WINDOW_CLOSED, "用户超过48小时未与公众号互动，改用模板消息", retryable=False)
        texts = [notice.text]
        if notice.asks_rating:  # answered with the numbers or titles it lists
            question, buttons = rating_question()
            texts.append(text_with_buttons(question, buttons))
        # A long notice takes several messages; each counts against the window's quota of 5.
        for sent, message in enumerate(merge_texts(texts, credentials.max_reply_bytes)):
            try:
                await api.send_text(openid, message)
            except WeChatApiError as error:
                logger.warning("WeChat notice %s failed: %s %s", notice.key, error.code, error.message)
                raise delivery_error(error, sent_before=sent > 0) from error

    async def close(self) -> None:
        await self.account.close()


class WeChatTemplateRoute:
    """A template message with the notice's fields and a link to the chat page, at any time."""

    name = "wechat_template"
    deduplicates = False

    def __init__(self, account: WeChatAccount, settings: Settings) -> None:
        self.account = account
        self.template_id = settings.wechat_template_id
        self.url: Optional[str] = settings.wechat_template_url or None
        self.no_link: Optional[str] = None if self.url else NO_LINK
        if self.url and not _absolute(self.url):  # WeChat would open nothing (or refuse the message)
            self.url, self.no_link = None, BAD_LINK
        self.value_chars = settings.wechat_template_value_chars
        self.mapping: Dict[str, str] = {}
        self.problem = account.problem
        if self.problem is None and not self.template_id:
            self.problem = "未配置微信模板消息（WECHAT_TEMPLATE_ID）"
        if self.problem is None:
            try:
                self.mapping = parse_field_mapping(settings.wechat_template_fields)
            except ValueError as exc:
                logger.error("WECHAT_TEMPLATE_FIELDS is invalid: %s", exc)
                self.problem = "微信模板消息的字段映射（WECHAT_TEMPLATE_FIELDS）格式不正确"

    def unavailable(self) -> Optional[str]:
        return self.problem

    def without_link(self) -> Optional[str]:
        """Why the template message cannot link to the chat page (its reader sees only the short fields), or None;
        None too when the route is unavailable anyway."""
        return None if self.problem is not None else self.no_link

    async def deliver(self, notice: OutgoingNotice) -> None:
        if self.problem is not None:
            raise DeliveryError("unavailable", self.problem, retryable=False)
        _, api, openid = self.account.openid(notice)
        data = fill(self.mapping, notice, self.value_chars)
        try:
            await api.send_template(openid, self.template_id, data, self.url)
        except WeChatApiError as error:
            logger.warning("WeChat template notice %s failed: %s %s", notice.key, error.code, error.message)
            raise delivery_error(error) from error

    async def close(self) -> None:
        await self.account.close()


def _absolute(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def wechat_account(settings: Settings, env: Optional[Mapping[str, str]] = None) -> WeChatAccount:
    """The account of the WeChatInput block in ``settings.wechat_credentials_file`` (``${VAR}`` from ``env``)."""
    # The file names its secrets as ${VAR}; they are expanded from the environment as Rasa does.
    env = os.environ if env is None else env
    try:
        credentials = load_credentials_file(settings.wechat_credentials_file, env)
    except ValueError as exc:
        logger.error("WeChat notices disabled: %s", exc)
        return WeChatAccount(None, None, f"微信公众号配置有误（{settings.wechat_credentials_file.name}），请查看日志")
    if credentials is None:
        return WeChatAccount(None, None, "未配置微信公众号（credentials 文件中没有 WeChatInput）")
    api = customer_service_api(
        credentials.api_base_url,
        credentials.app_id,
        credentials.app_secret,
        credentials.token_endpoint,
        credentials.api_timeout_seconds,
    )
    return WeChatAccount(credentials, api)


def wechat_routes(
    settings: Settings, db: Database, env: Optional[Mapping[str, str]] = None
) -> Tuple[WeChatRoute, WeChatTemplateRoute]:
    """The ``wechat`` and ``wechat_template`` routes, sharing one account and token cache."""
    account = wechat_account(settings, env)
    return WeChatRoute(account, db), WeChatTemplateRoute(account, settings)
