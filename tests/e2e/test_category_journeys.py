"""A complaint's category from its substance, on the real servers."""

from __future__ import annotations

import uuid

from bot.tickets import TicketService


def new_sender() -> str:
    return f"e2e-cat-{uuid.uuid4().hex[:10]}"


ANSWERS = {
    "是否同意": "同意",
    "保单号": "跳过",
    "姓名": "王秀兰",
    "手机号": "13912345678",
    "怎么处理": "尽快赔付，给个说法",
}


def read_back(assistant, sender: str, first: str) -> str:
    replies = assistant.texts(sender, first)
    for _ in range(8):
        if "请核对" in replies[-1]:
            return replies[-1]
        if "哪一类" in replies[-1]:
            return replies[-1]
        answer = next((value for key, value in ANSWERS.items() if key in replies[-1]), None)
        assert answer is not None, replies
        replies = assistant.texts(sender, answer)
    raise AssertionError(replies)


def test_a_hospital_claim_delay_that_mentions_the_hotline_is_filed_as_claims(assistant):
    sender = new_sender()
    text = read_back(
        assistant,
        sender,
        "我要投诉，我妈住院的医疗费报销材料交上去快两个月了，打了好几次客服热线都说在审核，到底还要拖多久",
    )
    assert text.splitlines()[1] == "· 投诉类别：理赔纠纷", text
    assistant.texts(sender, "确认")
    [ticket] = [t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender]
    assert ticket["category"] == "claims"


def test_weak_evidence_asks_the_user_to_choose(assistant):
    sender = new_sender()
    question = read_back(assistant, sender, "我要投诉，你们电话一直打不通，气死我了")
    assert "哪一类" in question
