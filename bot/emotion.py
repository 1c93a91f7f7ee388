"""Detects angry or distressed messages, so the bot acknowledges the feeling first
(先处理情感，再处理事件)."""

from __future__ import annotations

import re

_DISTRESS_WORDS = (
    "气死",
    "生气",
    "愤怒",
    "火大",
    "恼火",
    "无语",
    "太过分",
    "过分",
    "欺负",
    "欺骗",
    "骗子",
    "骗人",
    "坑人",
    "坑爹",
    "垃圾",
    "恶心",
    "忍无可忍",
    "受够",
    "崩溃",
    "绝望",
    "着急",
    "急死",
    "焦虑",
    "难受",
    "伤心",
    "委屈",
    "心寒",
    "失望",
    "没良心",
    "黑心",
    "流氓",
    "无耻",
    "不要脸",
    "凭什么",
    "什么玩意",
    "搞什么",
    "耍我",
    "还在医院",
    "救命",
    "走投无路",
    "等了半年",
    "拖了",
    "一直拖",
)
_SHOUTING = re.compile(r"[!！]{2,}|[?？]{3,}")


def is_distressed(text: str) -> bool:
    if not text:
        return False
    return bool(_SHOUTING.search(text)) or any(word in text for word in _DISTRESS_WORDS)
