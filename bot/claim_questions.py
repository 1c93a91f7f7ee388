"""Telling a question about how to claim from a complaint about a claim.

A sick or bereaved policyholder asking "保险怎么赔" wants the claim-material
answer, not the complaint form; a complaint about a claim ("理赔拖了两个月")
names a grievance. Only a question without a grievance is routed to materials.
"""

from __future__ import annotations

import re
from typing import Optional

MATERIALS_INTENT = "ask_claim_materials"
# Intents a claim question is mistaken for; others (status, human, cancel…) stay as they are.
REROUTABLE_INTENTS = frozenset({"complain", "inform", "out_of_scope", "nlu_fallback"})
# A bereaved person's "我老公上个礼拜走了" is also read as leaving (走了 = goodbye) or as a greeting.
BEREAVEMENT_REROUTABLE_INTENTS = REROUTABLE_INTENTS | {"goodbye", "greet"}

# How do I claim / what do I need / can it be paid.
_ASKING = re.compile(
    r"怎么(?:赔|理赔|报销|申请|办|弄|操作)|如何(?:赔|理赔|报销|申请|办理)|怎样(?:赔|理赔|申请)"
    r"|(?:要|需要|得|该)(?:准备|交|提交|带|提供)?(?:什么|啥|哪些)(?:材料|资料|东西|证明|文件|手续|单据|证件)"
    r"|(?:能|可以)(?:赔|理赔|报销)(?:吗|么|不)|能不能(?:赔|理赔|报销)|赔不赔|该怎么办|怎么办"
    r"|理赔(?:流程|手续|步骤)|去哪(?:里|儿)?(?:申请|办|报案)"
)
# What the question is about: insurance money, not any "怎么办".
_CLAIM_CONTEXT = re.compile(r"保险|理赔|赔|报销|材料|资料")
# A grievance: the user complains about something that happened (or didn't).
_GRIEVANCE = re.compile(
    r"投诉|举报|拖|不赔|拒赔|拒绝|没赔|没有赔|不给|还没|一直|至今|过分|太慢|骗|忽悠|误导|态度|监管|12378|曝光|退保|扣"
)
# "我不是要投诉" / "不投诉" / "先不投诉": the word names what the user does NOT want.
_NEGATED_COMPLAINT = re.compile(r"(?:不是|并不是|没有|没|不|先不|不想|不用)(?:要|想|打算)?投诉")


def has_grievance(text: str) -> bool:
    """Whether the text complains about something that happened (a negated 投诉 does not count)."""
    return _GRIEVANCE.search(_NEGATED_COMPLAINT.sub("", text)) is not None


def is_claim_question(text: str) -> bool:
    """A question about how to claim or what to prepare, with no grievance in it."""
    return bool(_ASKING.search(text) and _CLAIM_CONTEXT.search(text)) and not has_grievance(text)


def declines_complaint(text: str) -> bool:
    """ "我不是要投诉": the user says a complaint is not what they want."""
    return _NEGATED_COMPLAINT.search(text) is not None


def routed_intent(text: str, intent: Optional[str], bereaved: bool = False) -> Optional[str]:
    """The materials intent for a claim question the classifier took for something else.

    `bereaved`: the text says a relative died (the caller's vocabulary decides); without a grievance
    that is answered with the death claim's materials and condolence, never with a goodbye.
    """
    if text.startswith("/"):
        return None
    if intent in REROUTABLE_INTENTS and is_claim_question(text):
        return MATERIALS_INTENT
    if bereaved and intent in BEREAVEMENT_REROUTABLE_INTENTS and not has_grievance(text):
        return MATERIALS_INTENT
    return None
