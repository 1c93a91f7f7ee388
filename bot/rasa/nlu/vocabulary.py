"""Canonical values of the categorical entities and the words that name them.

DIET plus the synonyms in data/nlu map most surface forms; this table is the
safety net that keeps every emitted value inside the contract.
"""

from __future__ import annotations

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


def complaint_category(value: str) -> Optional[str]:
    return canonical(value, COMPLAINT_CATEGORIES, CATEGORY_WORDS)
