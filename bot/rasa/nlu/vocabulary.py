"""Canonical values of the categorical entities and the words that name them.

DIET plus the synonyms in data/nlu map most surface forms; this table is the
safety net that keeps every emitted value inside the contract.
"""

from __future__ import annotations

import re
from typing import Optional, Sequence, Tuple

from bot.tickets import CATEGORY_LABELS

CLAIM_TYPES = ("medical", "critical_illness", "death", "disability", "accident_medical", "premium_waiver")
COMPLAINT_CATEGORIES = tuple(CATEGORY_LABELS)

# Ordered: more specific words first (意外医疗 before 医疗).
CLAIM_TYPE_WORDS: Sequence[Tuple[str, str]] = (
    ("豁免", "premium_waiver"),
    ("意外医疗", "accident_medical"),
    ("意外险报销", "accident_medical"),
    ("意外报销", "accident_medical"),
    ("重疾", "critical_illness"),
    ("重大疾病", "critical_illness"),
    ("轻症", "critical_illness"),
    ("中症", "critical_illness"),
    ("癌", "critical_illness"),
    ("伤残", "disability"),
    ("残疾", "disability"),
    ("全残", "disability"),
    ("身故", "death"),
    ("死亡", "death"),
    ("去世", "death"),
    ("过世", "death"),
    ("寿险", "death"),
    ("医疗", "medical"),
    ("住院", "medical"),
    ("门诊", "medical"),
    ("报销", "medical"),
)

CATEGORY_WORDS: Sequence[Tuple[str, str]] = (
    ("退保", "surrender"),
    ("销售", "sales"),
    ("误导", "sales"),
    ("夸大", "sales"),
    ("忽悠", "sales"),
    ("存单变保单", "sales"),
    ("业务员", "sales"),
    ("理赔", "claims"),
    ("拒赔", "claims"),
    ("赔付", "claims"),
    ("理陪", "claims"),
    ("核保", "underwriting"),
    ("承保", "underwriting"),
    ("拒保", "underwriting"),
    ("加费", "underwriting"),
    ("保全", "policy_service"),
    ("受益人", "policy_service"),
    ("复效", "policy_service"),
    ("扣款", "policy_service"),
    ("续期", "policy_service"),
    ("借款", "policy_service"),
    ("柜面", "counter_service"),
    ("柜台", "counter_service"),
    ("态度", "counter_service"),
    ("客服", "counter_service"),
    ("电话", "counter_service"),
    ("其他", "other"),
    ("其它", "other"),
)


def canonical(value: str, allowed: Sequence[str], words: Sequence[Tuple[str, str]]) -> Optional[str]:
    if value in allowed:
        return value
    for word, canonical_value in words:
        if word in value:
            return canonical_value
    return None


def claim_type(value: str) -> Optional[str]:
    return canonical(value, CLAIM_TYPES, CLAIM_TYPE_WORDS)


# Situations that imply a claim type without naming it, besides CLAIM_TYPE_WORDS (住院, 门诊, 去世 …).
SITUATION_WORDS: Sequence[Tuple[str, str]] = (
    ("离世", "death"),
    ("病逝", "death"),
    ("病故", "death"),
    ("身亡", "death"),
    ("逝世", "death"),
    ("辞世", "death"),
    ("过身", "death"),
    ("急诊", "medical"),
)
# "家里老人走了", "我爸不在了": a relative, then a euphemism for dying, in one clause ("我爸的保单没了" is not).
_RELATIVES = (
    "老人家|老人|父亲|母亲|爸爸|妈妈|老爸|老妈|爸|妈|爷爷|奶奶|外公|外婆|姥姥|姥爷|老伴|老公|老婆|丈夫|妻子|爱人"
    "|儿子|女儿|孩子|哥哥|姐姐|弟弟|妹妹|家人|亲人|公公|婆婆|岳父|岳母"
)
PASSED_AWAY = re.compile(rf"(?:{_RELATIVES})[^\s，。,.!！?？;；的]{{0,8}}?(走了|没了|不在了)")
# An accident behind the treatment: 门诊 or 住院 after one is accident medical, not medical.
ACCIDENT_WORDS = (
    "意外",
    "车祸",
    "摔",
    "撞",
    "砸",
    "受伤",
    "骨折",
    "扭伤",
    "烫伤",
    "烧伤",
    "咬伤",
    "划伤",
    "割伤",
    "事故",
    "工伤",
)


def claim_type_in_situation(text: str) -> Optional[Tuple[str, int, int]]:
    """The claim type the situation in `text` implies, and where its word is; whatever the wording."""
    passed_away = PASSED_AWAY.search(text)
    if passed_away:  # a death claim, whatever else the text names
        return "death", passed_away.start(1), passed_away.end(1)
    for word, value in (*CLAIM_TYPE_WORDS, *SITUATION_WORDS):
        start = text.find(word)
        if start >= 0:
            return with_accident(value, text), start, start + len(word)
    for word in ACCIDENT_WORDS:
        start = text.find(word)
        if start >= 0:
            return "accident_medical", start, start + len(word)
    return None


def with_accident(value: str, text: str) -> str:
    """Medical treatment after an accident is accident medical (the accident may be named anywhere in `text`)."""
    if value == "medical" and any(word in text for word in ACCIDENT_WORDS):
        return "accident_medical"
    return value


def complaint_category(value: str) -> Optional[str]:
    return canonical(value, COMPLAINT_CATEGORIES, CATEGORY_WORDS)


# Evidence for a complaint's category in its description: (word, category, weight).
# Weight 2 names the substance of the complaint; weight 1 only hints at it. How the
# user got in touch (客服, 电话, 热线) is a channel, not the substance: a claim delay
# "打了好几次客服电话" is still a claims complaint.
CATEGORY_EVIDENCE: Sequence[Tuple[str, str, int]] = (
    ("退保", "surrender", 2),
    ("解约", "surrender", 2),
    ("现金价值", "surrender", 1),
    ("销售", "sales", 2),
    ("推销", "sales", 2),
    ("虚假宣传", "sales", 2),
    ("误导", "sales", 2),
    ("夸大", "sales", 2),
    ("忽悠", "sales", 2),
    ("存单变保单", "sales", 2),
    ("业务员", "sales", 1),
    ("理赔", "claims", 2),
    ("理陪", "claims", 2),
    ("拒赔", "claims", 2),
    ("赔付", "claims", 2),
    ("报销", "claims", 2),
    ("保险金", "claims", 2),
    ("不赔", "claims", 2),
    ("没赔", "claims", 2),
    ("少赔", "claims", 2),
    ("赔款", "claims", 2),
    ("赔太少", "claims", 2),
    ("住院", "claims", 1),
    ("医院", "claims", 1),
    ("发票", "claims", 1),
    ("核保", "underwriting", 2),
    ("承保", "underwriting", 2),
    ("拒保", "underwriting", 2),
    ("加费", "underwriting", 2),
    ("保全", "policy_service", 2),
    ("受益人", "policy_service", 2),
    ("复效", "policy_service", 2),
    ("扣款", "policy_service", 2),
    ("续期", "policy_service", 2),
    ("借款", "policy_service", 2),
    ("柜面", "counter_service", 2),
    ("柜台", "counter_service", 2),
    ("营业厅", "counter_service", 2),
    ("态度", "counter_service", 2),
    ("客服", "counter_service", 1),
    ("热线", "counter_service", 1),
    ("电话", "counter_service", 1),
)
STRONG_EVIDENCE = 2


def category_from_description(text: str) -> Optional[str]:
    """The category the description's substance points to, or None when the evidence is weak or split."""
    scores: dict[str, int] = {}
    for word, category, weight in CATEGORY_EVIDENCE:
        if word in text:
            scores[category] = scores.get(category, 0) + weight
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < STRONG_EVIDENCE:
        return None
    if len(ranked) > 1 and ranked[1][1] >= ranked[0][1]:
        return None  # a tie: let the user choose
    return ranked[0][0]


def category_in_description(text: str) -> Optional[Tuple[str, int, int]]:
    """The category the substance of `text` points to (category_from_description) and where its first strong word is."""
    category = category_from_description(text)
    if category is None:
        return None
    for word, named, weight in CATEGORY_EVIDENCE:
        start = text.find(word)
        if named == category and weight >= STRONG_EVIDENCE and start >= 0:
            return category, start, start + len(word)
    return None
