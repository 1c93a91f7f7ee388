"""The forms as upset policyholders use them (issue 15, journeys 1, 3 and 5; issue 17's status without the
number), on the real servers."""

from __future__ import annotations

import uuid
from typing import Dict, List

from bot.tickets import TicketService
from tests.assistant import Assistant
from tests.bot.complaints import draft


def new_sender() -> str:
    return f"e2e-forms-{uuid.uuid4().hex[:10]}"


def joined(texts: List[str]) -> str:
    return "\n".join(texts)


def ticket_with_phone(assistant: Assistant, phone: str) -> str:
    """A ticket of its own (the servers' database and look-up limits are shared by the session)."""
    filed = draft(conversation_id=new_sender(), phone_number=phone)
    return TicketService(assistant.db, assistant.settings).submit(filed, uuid.uuid4().hex).ticket_no


def tickets_of(assistant: Assistant, sender: str) -> List[Dict]:
    return [t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender]


def answer_until_read_back(assistant: Assistant, sender: str, replies: List[str], answers: Dict[str, str]) -> str:
    """Answers each question from `answers` (by a word of the question) until the read-back; returns it."""
    for _ in range(8):
        if "请核对" in replies[-1]:
            return replies[-1]
        question = replies[-1]
        answer = next((value for key, value in answers.items() if key in question), None)
        assert answer is not None, f"asked something already said: {question}"
        replies = assistant.texts(sender, answer)
    raise AssertionError(f"no read-back: {replies}")


# -- journey 1: status after a typo, by a forgotten number --------------------


def test_a_mistyped_phone_is_forgiven_and_the_retyped_one_answers(assistant):
    phone = "13655551201"
    ticket_no = ticket_with_phone(assistant, phone)
    sender = new_sender()
    assert "手机号" in assistant.texts(sender, f"我要查投诉进度，编号{ticket_no}")[-1]
    wrong = joined(assistant.texts(sender, "13655551210"))
    assert "没有查询到" in wrong and "还可尝试" in wrong
    assert "手机号" in wrong.splitlines()[-1]  # asked again, not a goodbye
    answer = joined(assistant.texts(sender, f"不好意思输错了 是{phone[:3]} {phone[3:7]} {phone[7:]}"))
    assert ticket_no in answer and "当前状态" in answer


def test_a_mistyped_ticket_number_can_be_sent_again_at_the_phone_question(assistant):
    phone = "13655551202"
    ticket_no = ticket_with_phone(assistant, phone)
    typo = ticket_no[:-1] + ("1" if ticket_no[-1] != "1" else "2")
    sender = new_sender()
    assistant.texts(sender, "查询投诉进度")
    assistant.texts(sender, typo)
    assert "投诉编号输错了" in joined(assistant.texts(sender, phone))
    assert "手机号" in assistant.texts(sender, ticket_no)[-1]
    answer = joined(assistant.texts(sender, phone))
    assert ticket_no in answer and "当前状态" in answer


def test_too_many_failures_end_with_a_way_on_not_a_goodbye(assistant):
    ticket_no = ticket_with_phone(assistant, "13655551203")
    sender = new_sender()
    assistant.texts(sender, f"查进度 {ticket_no}")
    for phone in ("13655551230", "13655551231"):
        assert "还可尝试" in joined(assistant.texts(sender, phone))
    locked = assistant.say(sender, "13655551232")
    assert "暂停" in locked[0]["text"] and "转人工" in locked[0]["text"]
    assert [b["title"] for b in locked[0].get("buttons", [])] == ["转人工客服"]


def test_a_forgotten_number_is_recalled_from_the_complaint_filed_in_this_conversation(assistant):
    sender = new_sender()
    first = assistant.texts(sender, "我叫周玉兰，手机13655551204，理赔拖了一个多月没人管，我要求尽快赔付")
    answer_until_read_back(assistant, sender, first, {"保单号": "跳过"})
    assistant.texts(sender, "确认")
    [ticket] = tickets_of(assistant, sender)
    recalled = joined(assistant.texts(sender, "刚才那个投诉编号我忘了，怎么查进度"))
    assert ticket["ticket_no"] in recalled and "手机号" in recalled
    answer = joined(assistant.texts(sender, "13655551204"))
    assert "当前状态" in answer


def test_a_forgotten_number_is_looked_up_by_phone_and_name_and_picked_from_the_list(assistant):
    phone, service = "13655551205", TicketService(assistant.db, assistant.settings)
    filed = [
        draft(conversation_id=new_sender(), phone_number=phone, complainant_name="王建国", category=c)
        for c in ("claims", "sales", "surrender")
    ]
    claims, sales, closed = (service.submit(d, uuid.uuid4().hex).ticket_no for d in filed)
    service.withdraw(closed, "bot:e2e")
    stranger = service.submit(
        draft(conversation_id=new_sender(), phone_number="13655551206"), uuid.uuid4().hex
    ).ticket_no
    sender = new_sender()
    started = joined(assistant.texts(sender, "投诉编号找不到了，能用手机号查吗"))
    assert "手机号和投诉人姓名" in started and started.splitlines()[-1].endswith("进行核验。")
    assert "姓名" in assistant.texts(sender, phone)[-1]
    [listing] = [m for m in assistant.say(sender, "王建国") if m.get("buttons")]
    assert sales in listing["text"] and claims in listing["text"] and closed not in listing["text"]
    assert "理赔纠纷" in listing["text"] and "当前状态：受理" in listing["text"]
    tapped = joined(assistant.texts(sender, next(b["payload"] for b in listing["buttons"] if claims in b["payload"])))
    assert f"投诉编号 {claims} 当前状态" in tapped and "手机号" not in tapped
    # A payload naming a ticket that was not listed is verified like any number, never answered.
    forged = joined(assistant.texts(sender, '/check_ticket_status{"ticket_id":"%s"}' % stranger))
    assert "当前状态" not in forged and ("手机号" in forged or "投诉编号" in forged)


# -- journey 3: corrections typed at the read-back ----------------------------


def test_corrections_typed_at_the_read_back_are_applied_directly(assistant):
    sender = new_sender()
    first = assistant.texts(sender, "我要投诉，理赔申请交上去两个月了一直没有结果")
    answers = {"保单号": "PL202300123456", "姓名": "张三", "手机号": "13655551301", "怎么处理": "希望尽快赔付"}
    answer_until_read_back(assistant, sender, first, answers)

    request = joined(assistant.texts(sender, "诉求改一下：希望尽快赔付并书面道歉"))
    assert "已为您修改诉求" in request and "您的诉求：希望尽快赔付并书面道歉" in request and "请核对" in request
    phone = joined(assistant.texts(sender, "电话写错了，应该是13655551310"))
    assert "136****1310" in phone and "请核对" in phone and "修改哪一项" not in phone
    name = joined(assistant.texts(sender, "名字也写错了 应该是张珊"))
    assert "投诉人姓名：张珊" in name

    assert "已受理" in joined(assistant.texts(sender, "确认"))
    [ticket] = tickets_of(assistant, sender)
    assert ticket["customer_request"] == "希望尽快赔付并书面道歉"
    assert ticket["phone_number"] == "13655551310" and ticket["complainant_name"] == "张珊"


def test_a_category_correction_typed_at_the_read_back_is_applied_and_filed(assistant):
    sender = new_sender()
    first = assistant.texts(sender, "我要投诉 你们客服电话打了二十几次都没人接 接了态度还很差")
    answers = {"保单号": "跳过", "姓名": "周建华", "手机号": "13655551303", "怎么处理": "给我道歉"}
    assert "· 投诉类别：柜面及客服服务" in answer_until_read_back(assistant, sender, first, answers)
    corrected = joined(assistant.texts(sender, "把类别改成理赔"))
    assert "已为您修改投诉类别" in corrected and "· 投诉类别：理赔纠纷" in corrected and "修改哪一项" not in corrected
    assert "已受理" in joined(assistant.texts(sender, "确认"))
    [ticket] = tickets_of(assistant, sender)
    assert ticket["category"] == "claims"


def test_naming_a_field_without_its_value_still_asks_for_it(assistant):
    sender = new_sender()
    first = assistant.texts(sender, "我要投诉，退保扣了一大半的钱，当初业务员根本没说")
    answers = {"保单号": "跳过", "姓名": "李秀英", "手机号": "13655551302", "怎么处理": "全额退保"}
    answer_until_read_back(assistant, sender, first, answers)
    assert "手机号" in assistant.texts(sender, "手机号不对")[-1]
    assert "136****1320" in joined(assistant.texts(sender, "13655551320"))


# -- journey 5: every field already given is taken, "刚说了" looks back -------


def test_fields_given_together_are_not_asked_again(assistant):
    sender = new_sender()
    assistant.texts(sender, "我要投诉，理赔拖了两个月还没结果")
    after = assistant.texts(sender, "保单号PL202300123456，我叫李建国")
    assert "手机号" in after[-1] and "称呼" not in joined(after)


def test_a_name_given_with_the_greeting_is_greeted_and_not_asked_again(assistant):
    sender = new_sender()
    assert "我可以帮您" in joined(assistant.texts(sender, "你好，我是李建国"))  # the greeting is answered
    first = assistant.texts(sender, "我要投诉，理赔拖了两个月还没结果")
    answers = {"保单号": "跳过", "手机号": "13655551701", "怎么处理": "尽快赔付"}  # no name: it was given
    read_back = answer_until_read_back(assistant, sender, first, answers)
    assert "投诉人姓名：李建国" in read_back


def test_a_name_given_with_the_greeting_is_kept_through_the_menu_button(assistant):
    sender = new_sender()
    assert "我可以帮您" in joined(assistant.texts(sender, "您好，我叫王德明"))
    assert "哪一类" in assistant.texts(sender, "/complain")[-1]  # the welcome's 我要投诉 button
    first = assistant.texts(sender, "理赔的问题")
    read_back = answer_until_read_back(
        assistant,
        sender,
        first,
        {
            "保单号": "跳过",
            "手机号": "13655551702",
            "发生了什么": "理赔材料交齐一个月了没人处理",
            "怎么处理": "尽快赔付",
        },
    )
    assert "投诉人姓名：王德明" in read_back


def test_already_said_is_answered_by_looking_back(assistant):
    sender = new_sender()
    assistant.texts(sender, "我要投诉，理赔拖了两个月还没结果")
    assert "姓名" in assistant.texts(sender, "跳过")[-1]
    after = assistant.texts(sender, "我刚才不是说过了吗")
    assert "称呼" in joined(after) or "姓名" in joined(after)  # nothing said before: asked again


def test_already_said_recalls_the_name_given_for_an_earlier_complaint(assistant):
    sender = new_sender()
    first = assistant.texts(sender, "我叫李建国 我要投诉 理赔拖了两个月还没结果 电话13655551702")
    answer_until_read_back(assistant, sender, first, {"保单号": "跳过", "怎么处理": "尽快赔付"})
    assistant.texts(sender, "确认")
    # A second complaint starts afresh (who the user is does not carry over past a filed one) …
    second = assistant.say(sender, "还有个事 我还要投诉你们业务员 当初卖保险的时候隐瞒了免责条款")
    assistant.texts(sender, next(b["payload"] for b in second[-1]["buttons"] if b["title"] == "销售纠纷"))
    assert "姓名" in assistant.texts(sender, "跳过")[-1]
    # … so the name is asked, and "I said it already" finds it in the first complaint's message.
    after = assistant.texts(sender, "我刚才不是说过了吗")
    assert "手机号" in after[-1] and "姓名" not in joined(after), after
    read_back = answer_until_read_back(assistant, sender, after, {"手机号": "13655551702", "怎么处理": "退保退全款"})
    assert "投诉人姓名：李建国" in read_back


def test_already_said_with_the_name_again_is_taken(assistant):
    sender = new_sender()
    assistant.texts(sender, "我要投诉，理赔拖了两个月还没结果")
    assistant.texts(sender, "跳过")
    after = assistant.texts(sender, "刚不是说了吗 李建国")
    assert "手机号" in after[-1] and "没能识别姓名" not in joined(after)


def test_a_first_message_with_name_phone_and_request_asks_only_what_is_missing(assistant):
    sender = new_sender()
    first = assistant.texts(
        sender, "你们太欺负人了！我叫陈桂英，手机13655551501，我妈的重疾理赔拖了三个月不给赔，我要求马上赔钱"
    )
    read_back = answer_until_read_back(assistant, sender, first, {"保单号": "跳过", "是否同意": "同意"})
    assert "投诉人姓名：陈桂英" in read_back and "136****1501" in read_back and "您的诉求：马上赔钱" in read_back
    assert "已受理" in joined(assistant.texts(sender, "确认"))
    [ticket] = tickets_of(assistant, sender)
    assert ticket["complainant_name"] == "陈桂英" and ticket["customer_request"] == "马上赔钱"


def test_after_the_complaint_button_a_whole_account_fills_every_field_it_holds(assistant):
    sender = new_sender()
    assistant.texts(sender, "你好")
    assert "哪一类" in assistant.texts(sender, "/complain")[-1]  # the menu's button
    account = "就是理赔的事！！拖了两个月了一直说在审核，电话13655551601，我叫吴淑芬，我要求这周之内给我赔"
    read_back = answer_until_read_back(assistant, sender, assistant.texts(sender, account), {"保单号": "跳过"})
    assert "理赔纠纷" in read_back and "吴淑芬" in read_back and "136****1601" in read_back
    assert "您的诉求：这周之内给我赔" in read_back
    corrected = joined(assistant.texts(sender, "诉求改成：月底前赔付，并给我书面道歉"))
    assert "您的诉求：月底前赔付，并给我书面道歉" in corrected
    assert "已受理" in joined(assistant.texts(sender, "确认"))
    [ticket] = tickets_of(assistant, sender)
    assert ticket["description"] == account and ticket["category"] == "claims"


# -- "好的，我们继续。" only when a form resumes after an interruption --------------


def test_we_continue_is_said_only_when_something_interrupted_the_form(assistant):
    sender = new_sender()
    assistant.texts(sender, "我要投诉")
    again = assistant.texts(sender, "好的")  # a nod to the question itself: it is simply asked again
    assert "我们继续" not in joined(again) and "哪一类" in again[-1], again
    assistant.texts(sender, "理赔的问题")
    assistant.texts(sender, "跳过")
    assistant.texts(sender, "王秀兰")
    assistant.texts(sender, "我的手机是138123")
    helped = assistant.say(sender, "电话是1380013")  # the second failure explains the field, with 继续填写
    assert any(button["title"] == "继续填写" for message in helped for button in message.get("buttons", []))
    resumed = assistant.texts(sender, "/affirm")
    assert resumed[0] == "好的，我们继续。" and "手机号" in resumed[-1], resumed
