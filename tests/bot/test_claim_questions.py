import pytest

from bot.claim_questions import MATERIALS_INTENT, declines_complaint, is_claim_question, routed_intent

QUESTIONS = [
    "我妈查出癌症了 保险怎么赔",
    "我不是要投诉，就问问理赔要什么材料",
    "我爸上个月走了，他生前买了保险，我们家属现在该怎么办，要准备什么东西去申请",
    "我爸上个月去世了 保险怎么赔",
    "老公出车祸住院了，意外险能赔吗",
    "孩子住院花了两万，医疗险怎么报销啊",
]
COMPLAINTS = [
    "我要投诉，住院理赔交上去两个月了还没赔",
    "理赔拖了两个月怎么办",
    "你们拒赔了我该怎么办",
    "业务员忽悠我买的保险，现在怎么退",
    "保单丢了怎么办",
    "你们客服态度太差了",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_question_about_claiming_goes_to_materials(text):
    assert is_claim_question(text)
    assert routed_intent(text, "complain") == MATERIALS_INTENT


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_grievance_stays_a_complaint(text):
    assert not is_claim_question(text)
    assert routed_intent(text, "complain") is None


def test_other_intents_and_button_payloads_are_left_alone():
    assert routed_intent("转人工 保险怎么赔", "request_human") is None
    assert routed_intent('/complain{"x":"怎么赔"}', "complain") is None


def test_declining_a_complaint():
    assert declines_complaint("我不是要投诉，就问问要什么材料")
    assert declines_complaint("先不投诉，我想知道怎么理赔")
    assert not declines_complaint("我要投诉你们理赔太慢")


@pytest.mark.parametrize("intent", ["goodbye", "greet", "inform", "nlu_fallback"])
def test_a_bereavement_read_as_leaving_goes_to_materials(intent):
    assert routed_intent("我老公上个礼拜走了", intent, bereaved=True) == MATERIALS_INTENT
    assert routed_intent("我先走了", intent, bereaved=False) is None


def test_a_bereavement_with_a_grievance_or_another_request_is_left_alone():
    assert routed_intent("我爸走了半年了你们还拖着不赔", "complain", bereaved=True) is None
    assert routed_intent("我妈走了 转人工", "request_human", bereaved=True) is None
