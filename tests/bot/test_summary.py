"""The read-back of a complaint is phone-sized, with the category first."""

from bot import replies

LONG = "我父亲去年在医院住院治疗，" * 40


def slots(**changes):
    base = {
        "complaint_category": "claims",
        "policy_number": "PL202300123456",
        "complainant_name": "李建国",
        "phone_number": "13812345678",
        "complaint_description": LONG,
        "customer_request": "尽快赔付",
    }
    return {**base, **changes}


def test_the_category_comes_first():
    lines = replies.summary(slots()).splitlines()
    assert lines[1] == "· 投诉类别：理赔纠纷"


def test_a_long_description_is_shortened_and_says_it_is_kept_in_full():
    text = replies.summary(slots())
    assert LONG not in text
    assert f"…（共{len(LONG)}字，已完整记录）" in text
    assert len(text) < 400


def test_a_short_description_is_shown_as_typed():
    text = replies.summary(slots(complaint_description="理赔交了两个月没结果"))
    assert "· 投诉事项：理赔交了两个月没结果\n" in text
