"""Telling a request for a person from a message that only sounds like one.

The classifier reads "钱赶紧给我" (the answer to "您希望我们怎么处理？") as a request for a
person, and is unsure of "…字看不清 你给我找个真人说话". Both are decided here by the words.
"""

from __future__ import annotations

import re

_PERSON = r"(?:真人|人工|活人|客服|工作人员|坐席|经理|领导|主管|负责人|管事的|上级|老板)"
_MENTIONS = re.compile(_PERSON)
# Asking for one: "找个真人", "跟真人说", "叫你们经理来", "转人工", "人工呢".
_WANTS = re.compile(
    rf"(?:找|要|转|叫|换|接|跟|和|让|请|喊)[^，。,.!！?？\s]{{0,6}}?{_PERSON}|{_PERSON}(?:呢|在哪|出来|来)"
)


def mentions_a_person(text: str) -> bool:
    """Whether the text names a person to talk to at all (真人, 人工, 经理 …)."""
    return _MENTIONS.search(text) is not None


def wants_a_person(text: str) -> bool:
    """Whether the text asks for a person to talk to."""
    return _WANTS.search(text) is not None
