"""Whole conversations through the REST channel against the real servers."""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import update

from bot import materials
from bot.handoff import HandoffService
from bot.models import Agent, StatusLookup
from bot.tickets import ComplaintDraft, TicketService


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def joined(texts) -> str:
    return "\n".join(texts)


@pytest.fixture
def nobody_online(assistant):
    with assistant.db.transaction() as session:
        session.execute(update(Agent).values(last_seen_at=None))


def file_complaint(assistant, sender: str) -> str:
    """Complains, answers every question and confirms; returns the bot's last reply."""
    replies = assistant.texts(sender, "我要投诉，理赔申请交上去两个月了一直没有结果，太过分了！！")
    assert "理解您" in replies[0]  # empathy before any question
    answers = {
        "类": "理赔",
        "保单号": "PL202300123456",
        "姓名": "张三",
        "手机号": "138-1234-5678",
        "发生了什么": "理赔申请交了两个月没有结果",
        "怎么处理": "希望尽快赔付",
    }
    for _ in range(8):
        question = replies[-1]
        if "请核对" in question:
            break
        answer = next(value for key, value in answers.items() if key in question)
        replies = assistant.texts(sender, answer)
    summary = replies[-1]
    assert "138****5678" in summary and "13812345678" not in summary
    return joined(assistant.texts(sender, "确认"))


def test_complaint_from_greeting_to_ticket(assistant):
    sender = new_sender()
    assert "投诉" in joined(assistant.texts(sender, "你好"))
    done = file_complaint(assistant, sender)
    [ticket] = [t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender]
    assert ticket["ticket_no"] in done and "自然日" in done
    assert ticket["phone_number"] == "13812345678" and ticket["category"] == "claims"
    assert ticket["description"] == "我要投诉，理赔申请交上去两个月了一直没有结果，太过分了！！"
    assert ticket["policy_number"] == "PL202300123456" and ticket["complainant_name"] == "张三"

    # Resending the confirmation never files a second ticket.
    assistant.texts(sender, "确认")
    assert (
        len([t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender]) == 1
    )


def test_side_questions_mid_form_are_answered_and_the_form_resumes(assistant):
    sender = new_sender()
    assistant.texts(sender, "我要投诉")
    assistant.texts(sender, "销售误导")
    question = assistant.texts(sender, "跳过")[-1]
    assert "姓名" in question
    script = materials.load(assistant.settings.materials_file)
    replies = assistant.texts(sender, "重疾险理赔需要准备什么材料")
    assert replies[0] == script.summary("critical_illness")
    assert "姓名" in replies[-1]
    replies = assistant.texts(sender, "你是机器人吗")
    assert "智能助手" in replies[0] and "姓名" in replies[-1]
    assert "手机号" in assistant.texts(sender, "李秀英")[-1]


def test_cancel_stops_the_form_and_writes_nothing(assistant):
    sender = new_sender()
    assistant.texts(sender, "我要投诉")
    assistant.texts(sender, "退保的问题")
    assert "已取消" in joined(assistant.texts(sender, "算了，不投诉了"))
    assert [t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender] == []


def test_status_lookup_verifies_the_phone(assistant):
    owner = new_sender()
    file_complaint(assistant, owner)
    [ticket] = [t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == owner]
    visitor = new_sender()
    assert "手机号" in joined(assistant.texts(visitor, f"帮我查一下投诉进度 {ticket['ticket_no']}"))
    wrong = joined(assistant.texts(visitor, "13900001111"))
    assert "没有查询到" in wrong and "受理" not in wrong
    assistant.texts(visitor, f"查询投诉进度 {ticket['ticket_no']}")
    right = joined(assistant.texts(visitor, "13812345678"))
    assert ticket["ticket_no"] in right and "受理" in right


def ticket_with_phone(assistant, phone: str) -> str:
    """A ticket of its own for a test that locks look-ups (the servers' database is shared)."""
    draft = ComplaintDraft(
        conversation_id=new_sender(),
        channel="rest",
        category="claims",
        complainant_name="张三",
        phone_number=phone,
        description="理赔申请交了两个月没有结果",
        customer_request="尽快赔付",
    )
    return TicketService(assistant.db, assistant.settings).submit(draft, uuid.uuid4().hex).ticket_no


def look_up_from_a_fresh_sender(assistant, ticket_no: str, phone: str) -> str:
    sender = new_sender()
    assert "手机号" in assistant.texts(sender, f"查询投诉进度 {ticket_no}")[-1]
    return joined(assistant.texts(sender, phone))


def test_walking_ticket_numbers_from_fresh_senders_is_locked(assistant):
    """The probe: one known phone, every ticket number of the day, a new sender id per guess."""
    phone = "13655550123"
    ticket_no = ticket_with_phone(assistant, phone)
    day = ticket_no[:10]
    guesses = [look_up_from_a_fresh_sender(assistant, f"{day}{n:06d}", phone) for n in range(999990, 999995)]
    assert all("没有查询到" in answer for answer in guesses)
    right = look_up_from_a_fresh_sender(assistant, ticket_no, phone)
    unknown = look_up_from_a_fresh_sender(assistant, f"{day}999999", phone)
    assert right == unknown  # no hint that the right number exists
    assert "暂停" in right and "转人工" in right and "当前状态" not in right


def test_a_typed_intent_carrying_both_answers_does_not_look_up_in_one_request(assistant):
    phone = "13655550456"
    ticket_no = ticket_with_phone(assistant, phone)
    sender = new_sender()
    reply = joined(
        assistant.texts(sender, '/check_ticket_status{"ticket_id":"%s","phone_number":"%s"}' % (ticket_no, phone))
    )
    assert "当前状态" not in reply and ("手机号" in reply or "投诉编号" in reply)
    with assistant.db.transaction() as session:
        assert session.query(StatusLookup).filter(StatusLookup.conversation_id == sender).count() == 0


def test_withdrawal_is_confirmed_naming_the_ticket_and_no_keeps_it(assistant):
    phone = "13655550789"
    ticket_no = ticket_with_phone(assistant, phone)
    tickets = TicketService(assistant.db, assistant.settings)
    sender = new_sender()
    assert "投诉编号" in assistant.texts(sender, "撤回投诉")[-1]
    assert "手机号" in assistant.texts(sender, ticket_no)[-1]  # a bare number: still a withdrawal
    assert f"确认撤回投诉 {ticket_no} 吗？" in joined(assistant.texts(sender, phone))
    assert "不撤回" in joined(assistant.texts(sender, "不撤回"))
    assert tickets.get(ticket_no)["status"] == "accepted"

    # "撤回投诉" followed by the number, in one message: a withdrawal, not a status answer.
    asked = joined(assistant.texts(sender, f"撤回投诉 {ticket_no}"))
    assert "手机号" in asked and "当前状态" not in asked
    question = joined(assistant.texts(sender, phone))
    assert f"确认撤回投诉 {ticket_no} 吗？" in question and "当前状态" not in question
    assert "已为您撤回投诉" in joined(assistant.texts(sender, "确认"))
    ticket = tickets.get(ticket_no)
    assert ticket["status"] == "closed" and ticket["withdrawn_at"]
    assert ticket["events"][-1]["actor"] == f"bot:{sender}"


def test_category_buttons_work_and_rasa_logs_no_interpolation_error(assistant):
    sender = new_sender()
    buttons = [b for m in assistant.say(sender, "我要投诉") for b in m.get("buttons", [])]
    assert {"title": "销售纠纷", "payload": '/inform{"complaint_category":"sales"}'} in buttons
    assert "保单号" in assistant.texts(sender, buttons[0]["payload"])[-1]  # tapping the button
    assert "interpolat" not in (assistant.settings.var_dir / "rasa.log").read_text()


def test_handoff_pauses_the_bot_until_an_agent_hands_back(assistant, agent_online):
    sender = new_sender()
    assert "人工客服" in joined(assistant.texts(sender, "转人工"))
    [request] = [r for r in HandoffService(assistant.db, assistant.settings).list() if r["conversation_id"] == sender]
    assert request["status"] == "waiting" and request["channel"] == "rest"

    # The bot does not take part; it only tells the user where they stand (tests/e2e/test_queue_journeys.py).
    [standing] = assistant.texts(sender, "有人吗")
    assert "位" in standing and "留言" in standing
    assert assistant.tracker(sender)["paused"]
    # Neither /restart nor a new session lifts the pause.
    assistant.texts(sender, "/restart")
    assert assistant.tracker(sender)["paused"]
    assistant.api("POST", f"/conversations/{sender}/execute", json={"name": "action_session_start"})
    assert assistant.tracker(sender)["paused"]
    assert "位" in assistant.texts(sender, "还在吗")[0]
    messages = [e.get("text") for e in assistant.tracker(sender)["events"] if e["event"] == "user"]
    assert "有人吗" in messages and "还在吗" in messages  # logged for the agent

    # An agent hands the conversation back (what the desk will do).
    HandoffService(assistant.db, assistant.settings).release(sender, "agent:test")
    assistant.api("POST", f"/conversations/{sender}/tracker/events", json=[{"event": "resume"}])
    assert "投诉" in joined(assistant.texts(sender, "你好"))


def test_threat_is_queued_first(assistant, agent_online):
    calm, angry = new_sender(), new_sender()
    assistant.texts(calm, "我要人工客服")
    assistant.texts(angry, "再不处理我就去12378投诉你们，还要找媒体曝光！")
    queue = [r["conversation_id"] for r in HandoffService(assistant.db, assistant.settings).list(active_only=True)]
    assert queue.index(angry) < queue.index(calm)


CALLBACK_MESSAGE = "理赔款一直没到账，想请工作人员回电说明一下"


def callback_tickets(assistant, sender: str):
    return [
        t
        for t in TicketService(assistant.db, assistant.settings).list()
        if t["conversation_id"] == sender and t["kind"] == "callback"
    ]


def test_no_agent_online_takes_a_message_that_becomes_a_callback_ticket(assistant, nobody_online):
    sender = new_sender()
    offer = joined(assistant.texts(sender, "转人工"))
    assert "全忙或暂时离线" in offer and "留言" in offer
    assert not assistant.tracker(sender)["paused"]
    assert [r for r in HandoffService(assistant.db, assistant.settings).list() if r["conversation_id"] == sender] == []

    assert "手机号" in assistant.texts(sender, "好的")[-1]
    assert "问题" in assistant.texts(sender, "138 1234 5678")[-1]
    assert "称呼" in assistant.texts(sender, CALLBACK_MESSAGE)[-1]
    done = joined(assistant.texts(sender, "张三"))
    [ticket] = callback_tickets(assistant, sender)
    assert f"受理编号：{ticket['ticket_no']}" in done
    assert assistant.settings.contact_promise in done and "138****5678" in done
    assert ticket["phone_number"] == "13812345678" and ticket["description"] == CALLBACK_MESSAGE
    assert ticket["complainant_name"] == "张三" and ticket["customer_request"] == "请回电"
    assert ticket["category"] == "other" and ticket["status"] == "accepted"
    # The bot carries on; nothing is queued for a human.
    assert "投诉" in joined(assistant.texts(sender, "你好"))
    assert not assistant.tracker(sender)["paused"]
    assert [r for r in HandoffService(assistant.db, assistant.settings).list() if r["conversation_id"] == sender] == []


def test_a_name_nlu_takes_for_yes_still_completes_the_message(assistant, nobody_online):
    # "刘洋" is read as affirm with low confidence; the form used to ask for the name again, forever.
    sender = new_sender()
    assistant.texts(sender, "转人工")
    assistant.texts(sender, "好的")
    assistant.texts(sender, "138 1234 5678")
    assistant.texts(sender, CALLBACK_MESSAGE)
    done = joined(assistant.texts(sender, "刘洋"))
    [ticket] = callback_tickets(assistant, sender)
    assert ticket["complainant_name"] == "刘洋" and f"受理编号：{ticket['ticket_no']}" in done


def test_a_complaint_interrupted_for_a_human_becomes_the_message(assistant, nobody_online):
    sender = new_sender()
    assistant.texts(sender, "我要投诉，理赔申请交上去两个月了一直没有结果")
    assistant.texts(sender, "跳过")
    assert "手机号" in assistant.texts(sender, "张三")[-1]
    assert "留言" in joined(assistant.texts(sender, "转人工"))
    assert "手机号" in assistant.texts(sender, "好的")[-1]
    # The description and the name are carried over: nothing more to ask.
    done = joined(assistant.texts(sender, "13812345678"))
    [ticket] = callback_tickets(assistant, sender)
    assert ticket["ticket_no"] in done and ticket["category"] == "claims"
    assert ticket["description"] == "我要投诉，理赔申请交上去两个月了一直没有结果"
    assert ticket["complainant_name"] == "张三"


def test_declining_the_message_says_where_else_to_turn(assistant, nobody_online):
    sender = new_sender()
    assistant.texts(sender, "我要人工客服")
    declined = joined(assistant.texts(sender, "不用了"))
    assert "保单上的客服电话" in declined and "00:00-24:00" in declined
    assert callback_tickets(assistant, sender) == [] and not assistant.tracker(sender)["paused"]


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😡😡😡", "投诉" * 2500, "<script>alert(1)</script>", "'; DROP TABLE tickets; --", "Hello 你好 123 ☎️"],
)
def test_bad_input_gets_an_answer_and_nothing_crashes(assistant, text):
    response = requests.post(
        f"{assistant.url}/webhooks/rest/webhook", json={"sender": new_sender(), "message": text}, timeout=60
    )
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_long_description_is_stored_exactly(assistant):
    sender = new_sender()
    long_text = "我在柜台办理退保时，" + "工作人员态度很差，" * 550 + "<b>请处理</b>"
    assert len(long_text) <= 5000
    assistant.texts(sender, "我要投诉柜面服务")
    replies = assistant.texts(sender, "跳过")
    replies = assistant.texts(sender, "王建国")
    replies = assistant.texts(sender, "13812345678")
    assert "发生了什么" in replies[-1]
    assistant.texts(sender, long_text)
    assistant.texts(sender, "要求道歉")
    assistant.texts(sender, "确认")
    [ticket] = [t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender]
    assert ticket["description"] == long_text and ticket["category"] == "counter_service"
