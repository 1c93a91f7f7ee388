"""Notices by SMS to the ticket's phone number, through Alibaba Cloud SMS (SendSms, the official SDK).

The SMS carries a reviewed template (sign name and template code approved in the Alibaba Cloud console)
filled from the notice's fields; the full text stays in the conversation. Disabled, and saying so, until
the keys, sign name and template code are all configured.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import urlparse

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_tea_openapi import models as openapi_models
from Tea.exceptions import TeaException

from bot import crypto as field_keys
from bot.clock import utc_now
from bot.notice_links import NoticeLinks, chat_page_url
from bot.notice_routes.route import DeliveryError, OutgoingNotice
from bot.notice_routes.template_fields import fill, parse_field_mapping
from bot.privacy import mask_phone, mask_text
from bot.settings import Settings
from bot.validators import phone_number

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "未配置短信服务（阿里云短信）"
# Alibaba Cloud refuses a variable longer than 35 characters in a notification template.
VALUE_CHARS = 35
_OUT_ID_CHARS = 64
# The template field holding the notice link's token: Alibaba Cloud accepts a link in a notification
# template only as fixed text, optionally ended by a variable (``https://kf.example.com/chat/?n=${link}``).
LINK_FIELD = "chat_token"

# Worth another attempt later: rate limits, Alibaba's own faults, an account to top up.
_RETRYABLE = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.DAY_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "isp.SYSTEM_ERROR",
        "isp.RAM_PERMISSION_DENY",
        "SignatureNonceUsed",
        "ServiceUnavailable",
        "InternalError",
        "unknown",  # an answer without a Code: something between us and the service
    }
)
# Shown on the ticket page next to a failed attempt.
_EXPLANATIONS: Dict[str, str] = {
    "isv.BUSINESS_LIMIT_CONTROL": "短信发送频率超限（同一号码每分钟/每小时/每天的条数有限），稍后重试",
    "isv.DAY_LIMIT_CONTROL": "短信发送已达当日上限，稍后重试",
    "isv.AMOUNT_NOT_ENOUGH": "阿里云账户余额不足",
    "isv.MOBILE_NUMBER_ILLEGAL": "手机号码格式不正确",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过上限",
    "isv.TEMPLATE_MISSING_PARAMETERS": "短信模板缺少变量（检查 ALIBABA_SMS_TEMPLATE_FIELDS）",
    "isv.INVALID_PARAMETERS": "短信参数不正确",
    "isv.INVALID_JSON_PARAM": "短信模板变量不是有效的JSON",
    "isv.PARAM_LENGTH_LIMIT": "短信模板变量超过长度限制",
    "isv.SMS_TEMPLATE_ILLEGAL": "短信模板不存在或未通过审核（检查 ALIBABA_SMS_TEMPLATE_CODE）",
    "isv.SMS_SIGNATURE_ILLEGAL": "短信签名不存在或未通过审核（检查 ALIBABA_SMS_SIGN_NAME）",
    "isv.BLACK_KEY_CONTROL_LIMIT": "该号码已退订或在黑名单中",
    "isv.ACCOUNT_ABNORMAL": "阿里云短信账户异常",
    "SignatureDoesNotMatch": "阿里云AccessKey Secret不正确，签名校验失败",
    "InvalidAccessKeyId.NotFound": "阿里云AccessKey ID不存在",
    "network": "无法连接阿里云短信服务",
}


def sms_delivery_error(code: str, message: str, uncertain: bool = False) -> DeliveryError:
    """Alibaba Cloud's answer as the sender needs it: worth retrying (throttled, busy) or final; `uncertain`
    when the request may have been accepted before the failure (a timeout waiting for the answer)."""
    retryable = code in _RETRYABLE or code.startswith(("Throttling", "isp.", "network"))
    hint = _EXPLANATIONS.get(code, "阿里云短信服务返回错误")
    # Alibaba's messages may quote the request; no phone number reaches the ticket page or the log.
    detail = f"{hint}（{code}: {mask_text(message[:200])}）"
    return DeliveryError(f"sms_{code}"[:32], detail, retryable=retryable, uncertain=uncertain)


def _not_connected(error: Exception) -> bool:
    """Whether a failure without an answer came before the request left: the SDK wraps aiohttp's
    "Cannot connect to host …" (ClientConnectorError) in an UnretryableException, keeping only its text."""
    return "Cannot connect to host" in str(error)


def _endpoint(url: str) -> Tuple[str, str]:
    """``https://dysmsapi.aliyuncs.com`` → (``https``, ``dysmsapi.aliyuncs.com``); ValueError if not a URL."""
    parsed = urlparse(url if "://" in url else f"https://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise ValueError(f"not an http(s) endpoint: {url!r}")
    return parsed.scheme, parsed.netloc


def _notice_links(settings: Settings) -> Tuple[Optional[NoticeLinks], Optional[str]]:
    """The link signer, or why SMS notices carry no link (CHAT_PAGE_URL unset or invalid, no keys)."""
    if not settings.chat_page_url:
        return None, "未配置聊天页地址（CHAT_PAGE_URL），短信中没有查看和评价通知的链接"
    try:
        chat_page_url(settings.chat_page_url)
        hash_key = field_keys.load(settings.var_dir).hash_key
    except (ValueError, field_keys.FieldKeyError) as exc:
        logger.error("SMS notices carry no link: %s", exc)
        return None, "聊天页地址（CHAT_PAGE_URL）或密钥配置有误，短信中没有查看和评价通知的链接，请查看日志"
    return NoticeLinks(hash_key, settings.notice_link_days), None


class SmsRoute:
    """SendSms to ``notice.phone`` with the configured sign name and template."""

    name = "sms"
    deduplicates = False  # Alibaba Cloud sends every SendSms it accepts

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.sign_name = settings.sms_sign_name
        self.template_code = settings.sms_template_code
        self.problem: Optional[str] = None
        self.mapping: Dict[str, str] = {}
        self._client: Optional[SmsClient] = None
        self.clock = clock
        self.links, self.link_problem = _notice_links(settings)
        configured = (
            settings.sms_access_key_id,
            settings.sms_access_key_secret,
            settings.sms_sign_name,
            settings.sms_template_code,
        )
        if not all(configured):
            self.problem = NOT_CONFIGURED
            return
        try:
            self.mapping = parse_field_mapping(settings.sms_template_fields)
            protocol, host = _endpoint(settings.sms_endpoint)
        except ValueError as exc:
            logger.error("SMS notices disabled: %s", exc)
            self.problem = "短信服务配置有误（ALIBABA_SMS_TEMPLATE_FIELDS 或 ALIBABA_SMS_ENDPOINT），请查看日志"
            return
        timeout_ms = settings.sms_timeout_seconds * 1000
        self._client = SmsClient(
            openapi_models.Config(
                access_key_id=settings.sms_access_key_id,
                access_key_secret=settings.sms_access_key_secret,
                endpoint=host,
                protocol=protocol,
                connect_timeout=timeout_ms,
                read_timeout=timeout_ms,
            )
        )

    def unavailable(self) -> Optional[str]:
        return self.problem

    def without_link(self) -> Optional[str]:
        """Why this deployment's SMS carries no link to the notice (shown on the ticket page), or None."""
        if self.problem is not None:
            return None  # no SMS at all, said by unavailable()
        if self.link_problem is not None:
            return self.link_problem
        if LINK_FIELD not in self.mapping.values():
            return f"短信模板变量（ALIBABA_SMS_TEMPLATE_FIELDS）未包含 {LINK_FIELD}，短信中没有查看和评价通知的链接"
        return None

    def _with_link(self, notice: OutgoingNotice) -> OutgoingNotice:
        """The notice with its link token among the template fields, when links are configured."""
        if self.links is None or notice.notice_id is None or LINK_FIELD not in self.mapping.values():
            return notice
        token = self.links.issue(notice.notice_id, self.clock().date())
        return replace(notice, fields={**notice.fields, LINK_FIELD: token}) if token else notice

    async def deliver(self, notice: OutgoingNotice) -> None:
        if self._client is None:
            raise DeliveryError("unavailable", self.problem or NOT_CONFIGURED, retryable=False)
        phone = phone_number(notice.phone or "").value
        if phone is None:
            raise DeliveryError("no_phone", "投诉没有有效的手机号，无法发送短信", retryable=False)
        request = sms_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self.sign_name,
            template_code=self.template_code,
            template_param=json.dumps(fill(self.mapping, self._with_link(notice), VALUE_CHARS), ensure_ascii=False),
            out_id=notice.key[:_OUT_ID_CHARS],
        )
        try:
            response = await self._client.send_sms_async(request)
        except TeaException as error:
            # An HTTP error (signature, keys, throttling at the gateway) has a code; a network failure has none.
            if error.code:
                raise self._failed(notice, phone, str(error.code), str(error.message or "")) from error
            uncertain = not _not_connected(error)
            raise self._failed(notice, phone, "network", str(error.message or ""), uncertain) from error
        except Exception as error:  # never let an SDK surprise escape the sender (a read timeout comes here)
            logger.exception("SMS notice %s: unexpected SDK failure", notice.key)
            raise self._failed(notice, phone, "network", type(error).__name__, uncertain=True) from error
        body: Any = response.body
        code = str(getattr(body, "code", None) or "unknown")
        if code != "OK":
            raise self._failed(notice, phone, code, str(getattr(body, "message", None) or ""))
        logger.info("SMS notice %s sent to %s (BizId %s)", notice.key, mask_phone(phone), body.biz_id)

    @staticmethod
    def _failed(notice: OutgoingNotice, phone: str, code: str, message: str, uncertain: bool = False) -> DeliveryError:
        logger.warning(
            "SMS notice %s to %s failed: %s %s", notice.key, mask_phone(phone), code, mask_text(message[:200])
        )
        return sms_delivery_error(code, message, uncertain)
