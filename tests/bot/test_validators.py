from datetime import date

import pytest

from bot import validators


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138-1234-5678",
        "138 1234 5678",
        "+86 138 1234 5678",
        "0086-13812345678",
        "8613812345678",
        "１３８１２３４５６７８",
        "我的手机号是138 1234 5678",
    ],
)
def test_mainland_mobiles_normalise_to_eleven_digits(raw):
    assert validators.phone_number(raw).value == "13812345678"


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "请提供"),
        ("1381234567", "11位"),
        ("23812345678", "11位"),
        ("138abc45678", "只能包含数字"),
        ("我电话是138 1234 567", "11位"),  # a digit short among words: say so, not "digits only"
        ("+1 415 555 2671", "中国大陆"),
        ("14412345678", "号段"),
    ],
)
def test_bad_phone_numbers_say_what_is_wrong(raw, fragment):
    check = validators.phone_number(raw)
    assert check.value is None and fragment in check.error


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002X", "11010519491231002x", "360426199101010071", "440524188001010014", "810000199408230021"],
)
def test_valid_id_numbers_pass_checksum(raw):
    assert validators.id_number(raw).value == raw.upper()


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("15000019970319128X", "校验位"),
        ("310108198403300083", "校验位"),
        ("1101051949123100", "18位"),
        ("110105194913310021", "出生日期"),
    ],
)
def test_invalid_id_numbers_are_rejected(raw, fragment):
    check = validators.id_number(raw, today=date(2026, 11, 22))
    assert check.value is None and fragment in check.error


def test_id_with_birth_date_in_the_future_is_rejected():
    # 2030-01-01 with a correct check digit computed for the first 17 characters.
    from stdnum.cn import ric

    body = "11010520300101001"
    check = validators.id_number(body + ric.calc_check_digit(body + "0"), today=date(2026, 11, 22))
    assert "出生日期" in check.error


def test_policy_number_follows_configured_pattern():
    assert validators.policy_number("pl 2023 0012 3456", r"[A-Z]{1,4}\d{8,20}").value == "PL202300123456"
    assert "格式不正确" in validators.policy_number("12345", r"[A-Z]{1,4}\d{8,20}").error
    assert validators.policy_number("2023-0001", r"\d{4}-?\d{4}").value == "20230001"


@pytest.mark.parametrize(
    "raw, name",
    [
        ("张三", "张三"),
        ("我叫李秀英", "李秀英"),
        ("姓名：王建国。", "王建国"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("John Smith", "John Smith"),
        ("我姓孙，叫孙桂芝", "孙桂芝"),
        ("我姓黄 黄志强", "黄志强"),
        ("我姓欧阳，欧阳娜娜", "欧阳娜娜"),
    ],
)
def test_names_are_extracted(raw, name):
    assert validators.complainant_name(raw).value == name


@pytest.mark.parametrize("raw", ["我姓孙，叫李桂芝", "", "   ", "张3", "😡😡", "<script>alert(1)</script>"])
def test_implausible_names_are_rejected(raw):
    assert validators.complainant_name(raw).error


def test_free_text_is_kept_exactly_and_bounded():
    text = "  <b>业务员</b> 说'保证返本'; DROP TABLE tickets; -- 😡  "
    assert validators.free_text(text, "投诉事项").value == text
    assert validators.free_text("字" * 5000, "投诉事项").ok
    assert "太长" in validators.free_text("字" * 5001, "投诉事项").error
    assert "不能为空" in validators.free_text(" \n\t", "投诉事项").error
    assert "太少" in validators.free_text("😡😡😡🙏🙏🙏", "投诉事项").error
