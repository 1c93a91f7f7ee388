"""Checking what the browser sends: bounded text, choices and whole numbers, each with a Chinese error."""

from __future__ import annotations

import re
from typing import Any, Collection, Optional

# Lone surrogates (JSON allows "\ud800") and NUL cannot be stored in PostgreSQL
# or encoded as UTF-8 on the way to Rasa.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
INTEGER = re.compile(r"^-?[0-9]{1,9}$")


class InvalidInput(ValueError):
    """A field the agent must correct; the message is shown as it is."""


def _value(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


def text(body: Any, name: str, limit: int, required: bool = True, label: str = "内容") -> str:
    """A stripped string of at most `limit` characters; empty only when not required."""
    value = _value(body, name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"提交的{label}格式不正确")
    if UNSTORABLE.search(value):
        raise InvalidInput(f"{label}包含无法识别的字符")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{label}不能为空")
    if len(value) > limit:
        raise InvalidInput(f"{label}过长，请控制在{limit}字以内")
    return value


def choice(body: Any, name: str, allowed: Collection[str], label: str, required: bool = True) -> Optional[str]:
    """One of `allowed`, or None when absent and not required."""
    value = text(body, name, 64, required=required, label=label)
    if not value:
        return None
    if value not in allowed:
        raise InvalidInput(f"{label}无效")
    return value


def integer(body: Any, name: str, low: int, high: int, label: str, default: Optional[int] = None) -> Optional[int]:
    """A whole number within [low, high]; JSON numbers and decimal strings (query strings) are accepted."""
    value = _value(body, name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInput(f"{label}必须是整数")
    if isinstance(value, str) and INTEGER.match(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise InvalidInput(f"{label}必须是整数")
    if not low <= value <= high:
        raise InvalidInput(f"{label}应在{low}到{high}之间")
    return value
