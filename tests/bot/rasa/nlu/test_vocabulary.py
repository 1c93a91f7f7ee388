"""The claim type a situation implies and the category a complaint's substance names, whatever the wording."""

from __future__ import annotations

import pytest

from bot.rasa.nlu.vocabulary import category_from_description, claim_type_in_situation


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # What the person is unhappy with names the category, not only the word 理赔.
        ("骨折花了两万，最后就给了三千，少赔这么多", "claims"),
        ("赔款到账比说好的少一半", "claims"),
        ("你们赔太少了吧", "claims"),
        ("解约拿回来的钱还不到交的一半", "surrender"),
        ("电话推销的时候说是存款", "sales"),
        ("广告里虚假宣传收益", "sales"),
        ("去营业厅办事排了三个小时", "counter_service"),
        ("打了好几次热线", None),  # weak evidence: the user picks
        ("业务员说理赔和退保都行", None),  # split evidence
    ],
)
def test_the_substance_of_a_complaint_names_its_category(text, expected):
    assert category_from_description(text) == expected
