import pytest

from bot import given_fields
from bot.settings import Settings

PATTERN = Settings.from_env({}).policy_number_pattern


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("保单号PL202300123456，我叫李建国", {"policy_number": "PL202300123456", "complainant_name": "李建国"}),
        (
            "我叫王秀兰，电话139 1234 5678，我要投诉你们理赔拖了三个月不赔，我要求尽快赔付！",
            {"complainant_name": "王秀兰", "phone_number": "13912345678", "customer_request": "尽快赔付"},
        ),
        ("姓名：赵桂芬 手机 １３８１２３４５６７８", {"complainant_name": "赵桂芬", "phone_number": "13812345678"}),
        ("我是来投诉的，你们业务员骗人", {}),
        ("我是客户，不是骗子", {}),
        ("我是李建国的女儿，替我爸投诉", {}),
        ("查一下 TS20261129000001 的进度", {}),
        ("电话打了十几次12345都没用", {}),
    ],
)
def test_fields_stated_unasked_are_found(text, fields):
    assert given_fields.volunteered(text, PATTERN) == fields


@pytest.mark.parametrize(
    ("text", "back", "rest"),
    [
        ("刚不是说了吗 李建国", True, "李建国"),
        ("我刚才说过了！", True, ""),
        ("上面写了啊", True, ""),
        ("李建国", False, "李建国"),
        ("理赔拖了两个月，业务员说了会处理", False, None),
    ],
)
def test_answers_that_point_back_are_recognised(text, back, rest):
    assert given_fields.looking_back(text) is back
    if rest is not None:
        assert given_fields.without_look_back(text) == rest


def test_a_value_is_recalled_from_the_latest_message_that_stated_it():
    earlier = ["你好，我是李建国", "我要投诉", "其实我叫李建业"]
    assert given_fields.recalled("complainant_name", earlier, PATTERN) == "李建业"
    assert given_fields.recalled("phone_number", earlier, PATTERN) is None


def test_the_answer_is_found_among_other_fields():
    candidates = given_fields.answer_candidates("complainant_name", "李建国，电话138 1234 5678", PATTERN)
    assert "李建国" in candidates


def test_a_request_is_kept_as_typed():
    assert given_fields.request_in("我要求：月底前赔付，并书面道歉。") == "月底前赔付，并书面道歉"
