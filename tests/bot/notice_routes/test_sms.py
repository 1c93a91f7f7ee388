"""The SMS route through the official Alibaba Cloud SDK against a loopback fake of the SMS endpoint
(sms_fake.py, a test double: Alibaba Cloud cannot be reached from here), which checks the request's
ACS3-HMAC-SHA256 signature as the real service computes it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Optional

import pytest

from bot import crypto as field_keys
from bot.launch.ports import free_port
from bot.notice_links import NoticeLinks
from bot.notice_routes.route import DeliveryError, OutgoingNotice
from bot.notice_routes.sms import NOT_CONFIGURED, SmsRoute
from tests.bot.notice_routes.sms_account import KEY_SECRET, PHONE, SIGN, TEMPLATE, sms_settings


def route(tmp_path, endpoint: str, **env: str) -> SmsRoute:
    return SmsRoute(sms_settings(tmp_path, endpoint, **env))


def notice(phone: Optional[str] = PHONE, kind_label: str = "处理结果") -> OutgoingNotice:
    return OutgoingNotice(
        key="TS20261206000123:result:1",
        kind="result",
        ticket_no="TS20261206000123",
        conversation_id="9f1c2d3e",
        channel="rest",
        text="您的投诉已有处理结果……",
        fields={"ticket_no": "TS20261206000123", "kind_label": kind_label, "deadline": "2026年12月21日"},
        phone=phone,
    )


async def test_a_notice_is_sent_through_the_sdk_and_accepted_by_the_signature_check(tmp_path, sms, caplog):
    sms_route = route(tmp_path, sms.url)
    assert sms_route.name == "sms" and sms_route.unavailable() is None
    # Spaces, + & = and a long value: the query encoding and the 35-character limit of a variable.
    kind = "处理结果 A+B&C=D，以及对您申请核查、调解、仲裁或诉讼途径的详细说明和联系方式"
    with caplog.at_level(logging.INFO, logger="bot.notice_routes.sms"):
        await sms_route.deliver(notice(phone="138 1234 5678", kind_label=kind))
    [message] = sms.messages
    assert message["PhoneNumbers"] == PHONE
    assert message["SignName"] == SIGN and message["TemplateCode"] == TEMPLATE
    assert message["OutId"] == "TS20261206000123:result:1"
    values = message["TemplateParam"]
    assert values["ticket_no"] == "TS20261206000123" and values["deadline"] == "2026年12月21日"
    assert len(values["kind"]) == 35 and values["kind"].startswith("处理结果 A+B&C=D，") and values["kind"][-1] == "…"
    assert PHONE not in caplog.text and "138****5678" in caplog.text
    assert KEY_SECRET not in caplog.text


async def test_throttling_is_retryable(tmp_path, sms):
    sms.answer_next("isv.BUSINESS_LIMIT_CONTROL")
    with pytest.raises(DeliveryError) as info:
        await route(tmp_path, sms.url).deliver(notice())
    assert info.value.retryable and info.value.code == "sms_isv.BUSINESS_LIMIT_CONTROL"
    assert "频率超限" in info.value.message
    assert sms.messages == []


async def test_an_illegal_number_is_final(tmp_path, sms, caplog):
    sms.answer_next("isv.MOBILE_NUMBER_ILLEGAL")
    with caplog.at_level(logging.INFO, logger="bot.notice_routes.sms"), pytest.raises(DeliveryError) as info:
        await route(tmp_path, sms.url).deliver(notice())
    assert not info.value.retryable and info.value.code == "sms_isv.MOBILE_NUMBER_ILLEGAL"
    assert PHONE not in caplog.text


async def test_a_template_the_service_does_not_know_is_final(tmp_path, sms):
    with pytest.raises(DeliveryError) as info:
        await route(tmp_path, sms.url, ALIBABA_SMS_TEMPLATE_CODE="SMS_000000000").deliver(notice())
    assert not info.value.retryable and info.value.code == "sms_isv.SMS_TEMPLATE_ILLEGAL"


async def test_a_wrong_secret_is_refused_by_the_signature_check(tmp_path, sms):
    with pytest.raises(DeliveryError) as info:
        await route(tmp_path, sms.url, ALIBABA_CLOUD_ACCESS_KEY_SECRET="not-the-secret").deliver(notice())
    assert info.value.code == "sms_SignatureDoesNotMatch" and not info.value.retryable
    assert [r["outcome"] for r in sms.requests] == ["SignatureDoesNotMatch"]
    assert sms.messages == []


async def test_an_unreachable_service_is_retryable(tmp_path):
    with pytest.raises(DeliveryError) as info:
        await route(tmp_path, f"http://127.0.0.1:{free_port()}").deliver(notice())
    assert info.value.code == "sms_network" and info.value.retryable


async def test_a_ticket_without_a_valid_phone_is_not_sent(tmp_path, sms):
    for phone in (None, "12345"):
        with pytest.raises(DeliveryError) as info:
            await route(tmp_path, sms.url).deliver(notice(phone=phone))
        assert info.value.code == "no_phone" and not info.value.retryable
    assert sms.requests == []


@pytest.mark.parametrize(
    "missing",
    [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_SMS_SIGN_NAME",
        "ALIBABA_SMS_TEMPLATE_CODE",
    ],
)
async def test_sms_is_disabled_and_says_so_when_unconfigured(tmp_path, sms, missing):
    sms_route = route(tmp_path, sms.url, **{missing: ""})
    assert sms_route.unavailable() == NOT_CONFIGURED == "未配置短信服务（阿里云短信）"
    with pytest.raises(DeliveryError) as info:
        await sms_route.deliver(notice())
    assert info.value.code == "unavailable" and not info.value.retryable
    assert sms.requests == []


def test_a_malformed_field_mapping_or_endpoint_disables_sms(tmp_path, sms):
    assert "ALIBABA_SMS_TEMPLATE_FIELDS" in (
        route(tmp_path, sms.url, ALIBABA_SMS_TEMPLATE_FIELDS="kind").unavailable() or ""
    )
    assert route(tmp_path, "ftp://example.com").unavailable() is not None


LINKED_FIELDS = "ticket_no=ticket_no,kind=kind_label,deadline=deadline,link=chat_token"


async def test_the_sms_carries_a_signed_link_token_naming_the_notice(tmp_path, sms):
    sms.add_template(TEMPLATE, "ticket_no", "kind", "deadline", "link")
    sms_route = route(
        tmp_path,
        sms.url,
        CHAT_PAGE_URL="https://kf.example.com/webhooks/web/",
        ALIBABA_SMS_TEMPLATE_FIELDS=LINKED_FIELDS,
    )
    assert sms_route.without_link() is None
    await sms_route.deliver(replace(notice(), notice_id=4321))
    [message] = sms.messages  # the fake accepted it: every variable within 35 characters
    token = message["TemplateParam"]["link"]
    assert len(token) <= 35 and "TS20261206000123" not in token
    # Signed with the key the chat page checks it with (the deployment's field hash key).
    checker = NoticeLinks(field_keys.load(tmp_path).hash_key, 30)
    assert checker.check(token, datetime.now(timezone.utc).date()).notice_id == 4321


async def test_without_a_chat_page_address_the_sms_has_no_link_and_says_so(tmp_path, sms):
    sms_route = route(tmp_path, sms.url, ALIBABA_SMS_TEMPLATE_FIELDS=LINKED_FIELDS)
    assert "CHAT_PAGE_URL" in (sms_route.without_link() or "")
    sms.add_template(TEMPLATE, "ticket_no", "kind", "deadline", "link")
    await sms_route.deliver(replace(notice(), notice_id=4321))
    assert sms.messages[0]["TemplateParam"]["link"] == "-"
    # A template without the link variable: said too; an unconfigured SMS says only that it is off.
    plain = route(tmp_path, sms.url, CHAT_PAGE_URL="https://kf.example.com/webhooks/web/")
    assert "chat_token" in (plain.without_link() or "")
    assert route(tmp_path, sms.url, ALIBABA_SMS_SIGN_NAME="").without_link() is None
    assert "CHAT_PAGE_URL" in (route(tmp_path, sms.url, CHAT_PAGE_URL="kf.example.com").without_link() or "")
