"""Masking of phone and ID numbers for displays and logs."""
from __future__ import annotations

import logging
import re
from typing import Any, Callable

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str) -> str:
    """First 6 and last 4 characters, as domain-facts §4.1 recommends."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_text(text: str) -> str:
    """Masks every ID and mobile number found in free text."""
    text = _ID_IN_TEXT.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def install_log_masking() -> None:
    """Masks PII in every log record of this process, whatever logger emits it.

    A record factory (rather than a handler filter) also covers loggers and
    handlers that third-party code, such as Rasa, configures later.
    """
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "_masks_pii", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # malformed log call: leave it to logging's own error path
            return record
        record.msg, record.args = mask_text(message), None
        return record

    factory._masks_pii = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
