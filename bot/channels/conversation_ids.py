"""Conversation ids chosen by clients: one safe alphabet, and the prefixes reserved to channels.

A conversation id travels in URLs (the desk, Rasa's HTTP API), in log lines and
in socket.io room names. Ids outside `A-Z a-z 0-9 _ -` were URL-quoted by some
callers and not unquoted by others, so agent replies went to phantom
conversations; they are refused where a client names its own id.

Every channel's conversations live in their own namespace: the web chat's are
`web-<UUID v4>`, WeChat's `<prefix ending in ':'>OpenID` (default `wx:`), which
the alphabet alone keeps away from REST. A REST client may name neither, so it
can neither read nor steer another channel's conversation.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

MAX_ID_LENGTH = 128
# What REST (any channel whose client picks the id) accepts.
SAFE_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_ID_LENGTH - 1}}}")

WEB_PREFIX = "web-"
# Channel prefixes made of alphabet characters must be listed here; prefixes
# with ':' (WeChat's) are outside the alphabet already.
RESERVED_PREFIXES = (WEB_PREFIX,)

BAD_ID_TEXT = (
    f"会话编号（sender）格式不正确：只能使用英文字母、数字、下划线“_”和连字符“-”（以字母或数字开头），"
    f"长度1–{MAX_ID_LENGTH}个字符。"
    "建议每个会话使用一个随机生成的UUID。"
)
RESERVED_ID_TEXT = "该会话编号属于其他渠道（如网页聊天、微信公众号），不能通过此接口使用。请换用一个新的随机会话编号。"


def is_safe_id(value: Any) -> TypeGuard[str]:
    """True for 1-128 characters of `A-Z a-z 0-9 _ -`, starting with a letter or digit."""
    return isinstance(value, str) and SAFE_ID.fullmatch(value) is not None


def is_reserved(conversation_id: str) -> bool:
    """True when the id belongs to another channel's namespace (compared without case)."""
    lowered = conversation_id.lower()
    return ":" in conversation_id or any(lowered.startswith(prefix) for prefix in RESERVED_PREFIXES)
