"""A valid complaint as the form collects it, for tests that need a ticket."""

from __future__ import annotations

from typing import Any

from bot.tickets import ComplaintDraft


def draft(**overrides: Any) -> ComplaintDraft:
    """张三's claims complaint from a REST conversation, with `overrides`."""
    values = dict(
        conversation_id="conv-1",
        channel="rest",
        category="claims",
        complainant_name="张三",
        phone_number="13812345678",
        description="理赔申请交了两个月没有结果",
        customer_request="尽快赔付",
        policy_number="PL202300123456",
    )
    values.update(overrides)
    return ComplaintDraft(**values)
