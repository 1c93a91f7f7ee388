"""The claim type a situation implies, whatever the wording."""

from __future__ import annotations

import pytest

from bot.rasa.nlu.vocabulary import claim_type_in_situation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我妈住院了，要准备什么", "medical"),
        ("看门诊的钱怎么报", "medical"),
        ("上周出了车祸，去门诊拍了片子，要交什么", "accident_medical"),
        ("孩子摔了一跤住院了，怎么弄", "accident_medical"),
        ("我爸上个月去世了，怎么办手续", "death"),
        ("家里老人病逝了要什么证明", "death"),
        ("出车祸去世了", "death"),
        ("家里老人走了，保险要怎么申请", "death"),
        ("我爸上个月不在了 他买过保险", "death"),
        ("老公住院一个月还是没了", "death"),
        ("外婆逝世了要办什么", "death"),
        ("我爸的保单没了怎么办", None),
        ("我先走了", None),
        ("保险怎么赔", None),
    ],
)
def test_situation_words_imply_the_claim_type(text, expected):
    found = claim_type_in_situation(text)
    assert (found[0] if found else None) == expected


def test_the_word_that_implied_it_is_located():
    value, start, end = claim_type_in_situation("我妈住院了")
    assert (value, start, end) == ("medical", 2, 4)
    assert claim_type_in_situation("家里老人走了") == ("death", 4, 6)
