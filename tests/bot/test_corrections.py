import pytest

from bot import corrections, replies
from bot.corrections import Correction
from bot.settings import Settings

PATTERN = Settings.from_env({}).policy_number_pattern


@pytest.mark.parametrize(
    ("text", "correction"),
    [
        ("诉求改一下：希望尽快赔付并书面道歉", Correction("customer_request", "希望尽快赔付并书面道歉")),
        ("电话写错了，应该是139 1234 5678", Correction("phone_number", "13912345678")),
        ("名字写错了 应该是李建国", Correction("complainant_name", "李建国")),
        ("姓名改成李建国。", Correction("complainant_name", "李建国")),
        ("把类别改成理赔", Correction("complaint_category", "理赔")),
        ("保单号码应为PL202300654321", Correction("policy_number", "PL202300654321")),
        ("改成13912345678", Correction("phone_number", "13912345678")),
        # The field named first is the one corrected, whatever words the new value holds.
        ("诉求改成希望说明情况", Correction("customer_request", "希望说明情况")),
        ("修改姓名", Correction("complainant_name", None)),
        ("电话不对", Correction("phone_number", None)),
        ("确认", None),
        ("13912345678", None),
    ],
)
def test_a_typed_correction_names_the_field_and_its_new_value(text, correction):
    assert corrections.parse(text, replies.FIELD_WORDS, PATTERN) == correction


def test_a_new_free_text_value_is_kept_exactly_as_typed():
    correction = corrections.parse("诉求改成：月底前赔付，并给我书面道歉！", replies.FIELD_WORDS, PATTERN)
    assert correction == Correction("customer_request", "月底前赔付，并给我书面道歉")
