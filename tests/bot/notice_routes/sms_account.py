"""The Alibaba Cloud SMS account the tests send from (the fake's keys, sign name and template)."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from tests.databases import make_settings

KEY_ID = "LTAI5tFakeKeyIdForTests"
KEY_SECRET = "fake-secret-0123456789abcdef"
SIGN = "某某保险"
TEMPLATE = "SMS_480000001"
PHONE = "13812345678"


def sms_settings(directory: Path, endpoint: str, **env: str) -> Settings:
    """Settings with SMS configured against ``endpoint``; ``env`` overrides (e.g. a variable set empty)."""
    values = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": KEY_SECRET,
        "ALIBABA_SMS_SIGN_NAME": SIGN,
        "ALIBABA_SMS_TEMPLATE_CODE": TEMPLATE,
        "ALIBABA_SMS_ENDPOINT": endpoint,
        "ALIBABA_SMS_TIMEOUT_SECONDS": "5",
        **env,
    }
    return make_settings(directory, **values)
