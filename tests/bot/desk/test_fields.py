"""The desk's input checks: every refusal is a Chinese sentence naming the field."""

import pytest

from bot.desk import fields
from bot.desk.fields import InvalidInput


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "原因不能为空"),
        ({"reason": "   "}, "原因不能为空"),
        ({"reason": 7}, "提交的原因格式不正确"),
        ({"reason": "x\ud800"}, "原因包含无法识别的字符"),
        ({"reason": "长" * 11}, "原因过长，请控制在10字以内"),
        ([], "原因不能为空"),
    ],
)
def test_text_is_bounded_and_storable(body, message):
    with pytest.raises(InvalidInput, match=f"^{message}$"):
        fields.text(body, "reason", 10, label="原因")


def test_text_is_stripped_and_may_be_optional():
    assert fields.text({"reason": "  客户来电 "}, "reason", 10, label="原因") == "客户来电"
    assert fields.text({}, "reason", 10, required=False, label="原因") == ""


def test_choices_and_whole_numbers():
    assert fields.choice({"kind": "callback"}, "kind", {"callback", "complaint"}, "类型") == "callback"
    assert fields.choice({}, "kind", {"callback"}, "类型", required=False) is None
    with pytest.raises(InvalidInput, match="^类型无效$"):
        fields.choice({"kind": "other"}, "kind", {"callback"}, "类型")
    assert fields.integer({"days": "12"}, "days", 1, 30, "天数") == 12
    assert fields.integer({}, "days", 1, 30, "天数", default=5) == 5
    for wrong, message in (
        (True, "天数必须是整数"),
        (1.5, "天数必须是整数"),
        ("1e3", "天数必须是整数"),
        (31, "天数应在1到30之间"),
    ):
        with pytest.raises(InvalidInput, match=f"^{message}$"):
            fields.integer({"days": wrong}, "days", 1, 30, "天数")
