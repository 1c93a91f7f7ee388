"""Complaint fields a policyholder states unasked in free text ("保单号P…，我叫李建国，电话138…").

A form takes these before asking, and answers such as "刚不是说了吗" are read by
looking back at what the user wrote earlier.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Dict, Iterable, List, Optional

from bot import validators

_PHONE = re.compile(r"(?<![\d])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![\d])")
_POLICY = re.compile(r"(?<![A-Z])[A-Z]{1,4}[\s-]?\d(?:[\s-]?\d){7,19}(?!\d)")
_NAME = re.compile(
    r"(?:我叫|我的名字[是叫]|名字[是叫]|姓名[是为:：]?|投诉人[是:：]?|本人|我是)\s*"
    r"([\u4e00-\u9fff·]{2,4})(?=$|[\s，,。.!！;；、]|电话|手机|保单|联系)"
)
_REQUEST = re.compile(
    r"(?:我的诉求是|诉求是|诉求[:：]|我要求|要求[:：]|我希望|希望你们|希望贵公司|我想要|我只想|我就想)\s*"
    r"([^。！!？?\n]{2,200})"
)
# Characters of replies and of ordinary words, never of a name read after "我是…".
_NOT_IN_NAMES = set("我你您他她它的了吗呢吧啊哦嗯呀不没是谢好行对嘛说诉赔")
_NOT_NAMES = {"客户", "本人", "投保人", "被保险人", "受益人", "消费者", "机器人", "业务员"}
# "刚不是说了吗", "我刚才说过了", "上面写了": the answer was given before.
_LOOK_BACK = re.compile(
    r"我?(?:刚才?|刚刚|之前|前面|上面|已经|早就?)?(?:不是)?都?(?:说|讲|告诉|给|发|填|写|提供)(?:过|了)+"
    r"(?:你|您)?[了吗呀啊嘛呢的么吧]*"
)
_LOOK_BACK_LEAD = re.compile(r"刚|之前|前面|上面|已经|早|不是|过")
_EDGES = " \t\n，,。.;；:：、!！?？~～"


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def phone_in(text: str) -> Optional[str]:
    """The first valid mainland mobile number in `text`, normalised."""
    for match in _PHONE.finditer(_plain(text)):
        check = validators.phone_number(match.group(0))
        if check.ok:
            return check.value
    return None


def policy_in(text: str, pattern: str) -> Optional[str]:
    """The first policy number in `text` (a ticket number TS… is not one)."""
    for match in _POLICY.finditer(_plain(text).upper()):
        candidate = re.sub(r"[\s-]", "", match.group(0))
        if validators.TICKET_NUMBER.fullmatch(candidate):
            continue
        check = validators.policy_number(candidate, pattern)
        if check.ok:
            return check.value
    return None


def bare_name(text: str) -> Optional[str]:
    """`text` itself when it can only be a name ("刘洋"), not a reply such as "好的" or "我不知道"."""
    name = (text or "").strip()
    if name in _NOT_NAMES or _NOT_IN_NAMES & set(name) or not validators.complainant_name(name).ok:
        return None
    return name


def name_in(text: str) -> Optional[str]:
    """A name the user introduced ("我叫李建国", "姓名：王秀兰")."""
    for match in _NAME.finditer(_plain(text)):
        name = bare_name(match.group(1))
        if name:
            return name
    return None


def request_in(text: str) -> Optional[str]:
    """What the user asks for, when said in their own words ("我要求尽快赔付")."""
    match = _REQUEST.search(text or "")  # kept as typed, like any free text
    if match is None:
        return None
    request = match.group(1).strip(_EDGES)
    return request if validators.free_text(request, "诉求", minimum=2).ok else None


def volunteered(text: str, policy_pattern: str) -> Dict[str, str]:
    """Every complaint field stated in `text`, by slot name."""
    found = {
        "policy_number": policy_in(text, policy_pattern),
        "complainant_name": name_in(text),
        "phone_number": phone_in(text),
        "customer_request": request_in(text),
    }
    return {field: value for field, value in found.items() if value}


def looking_back(text: str) -> bool:
    """True when the user says they already gave the answer ("刚不是说了吗")."""
    match = _LOOK_BACK.search(_plain(text))
    return match is not None and _LOOK_BACK_LEAD.search(match.group(0)) is not None


def without_look_back(text: str) -> str:
    """The answer left once "刚不是说了吗" and its punctuation are taken out."""
    return _LOOK_BACK.sub(" ", _plain(text)).strip(_EDGES)


def answer_candidates(field: str, text: str, policy_pattern: str) -> List[str]:
    """Readings of an answer to `field`'s question, most literal first."""
    candidates = [without_look_back(text)]
    given = volunteered(text, policy_pattern)
    if field in given:
        candidates.append(given[field])
    rest = re.sub(_POLICY.pattern, " ", _PHONE.sub(" ", _plain(text)), flags=re.IGNORECASE)
    rest = re.sub(r"电话|手机号?|保单号?|号码", " ", rest)  # the labels of the numbers just taken out
    candidates.append(without_look_back(rest))
    return [c for c in candidates if c]


def recalled(field: str, earlier_texts: Iterable[str], policy_pattern: str) -> Optional[str]:
    """The latest value of `field` the user stated in `earlier_texts` (oldest first)."""
    for text in reversed(list(earlier_texts)):
        value = volunteered(text, policy_pattern).get(field)
        if value:
            return value
    return None
