"""Risk flags of a ticket: the threats the seeds escalate (media, regulator, lawsuit, violence).

Detection is by reviewed key phrases over everything the policyholder wrote in
the conversation, so a threat in the first message counts as much as one made
while leaving a 留言 out of hours. It errs towards flagging: a flag only puts a
ticket first in line and tells a supervisor.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Optional

# Stored as a comma list in tickets.risk_flags, in this order.
RISK_FLAG_LABELS = {
    "media": "媒体曝光",
    "regulator": "监管投诉",
    "lawsuit": "诉讼",
    "violence": "人身安全",
}
# A flagged ticket goes before every other (tickets.priority).
RISK_PRIORITY = 100

_PATTERNS = {
    "media": re.compile(r"曝光|媒体|记者|电视台|报社|报纸|新闻|热搜|抖音|微博|小红书|315晚会|3\.15|自媒体"),
    "regulator": re.compile(
        r"监管|银保监|保监|金融监督管理|金管局|12378|12315|12345|消协|消费者协会|市长热线|信访|上访"
    ),
    "lawsuit": re.compile(r"起诉|律师|法院|打官司|法律途径|诉讼|仲裁|告你们|告你|去告|报警|公安"),
    "violence": re.compile(
        r"砸了?你们|砸烂|拉横幅|闹事|去你们公司闹|杀了|弄死|同归于尽|跳楼|自杀|轻生|不想活|炸了|放火|动手打|打死"
    ),
}


# Thanks: a message that thanks and names no threat is not an escalation ("哦 那就等着吧 谢谢").
_THANKS = re.compile(r"谢谢|多谢|感谢|辛苦")


def thanks_without_threat(text: str) -> bool:
    """Whether `text` thanks and raises no flag: waiting patiently, whatever "等着" suggests."""
    return _THANKS.search(text) is not None and not detect([text])


def detect(texts: Iterable[Optional[str]]) -> List[str]:
    """The flags any of these messages raises, in canonical order."""
    joined = "\n".join(text for text in texts if isinstance(text, str))
    return [flag for flag, pattern in _PATTERNS.items() if pattern.search(joined)]


def flags_of(stored: Optional[str]) -> List[str]:
    """The flags of a tickets.risk_flags value, known ones only, in canonical order."""
    present = {part.strip() for part in (stored or "").split(",")}
    return [flag for flag in RISK_FLAG_LABELS if flag in present]


def stored_flags(flags: Iterable[str]) -> Optional[str]:
    """The tickets.risk_flags value for these flags (None when there are none)."""
    wanted = set(flags)
    unknown = wanted - set(RISK_FLAG_LABELS)
    if unknown:
        raise ValueError(f"unknown risk flags {sorted(unknown)}")
    return ",".join(flag for flag in RISK_FLAG_LABELS if flag in wanted) or None


def describe(flags: Iterable[str]) -> str:
    return "、".join(RISK_FLAG_LABELS[flag] for flag in flags if flag in RISK_FLAG_LABELS)
