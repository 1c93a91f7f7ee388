import pytest

from actions.complaint import (
    ActionAskComplaintConfirmed,
    ActionSubmitComplaint,
    ValidateComplaintForm,
    answered_name,
)
from tests.actions.trackers import slot_events, texts, tracker, user

FILLED = {
    "complaint_category": "claims",
    "policy_number": "PL202300123456",
    "complainant_name": "张三",
    "phone_number": "13812345678",
    "complaint_description": "理赔申请交了两个月没有结果",
    "customer_request": "尽快赔付",
}


async def validate(dispatcher, domain, text, new, intent="inform", known=None):
    """Runs the validation action as Rasa does after extracting `new` slot values this turn."""
    t = tracker(text, intent, slots={**(known or {}), **new}, active_loop="complaint_form")
    t.events.extend(
        {"event": "slot", "name": k, "value": v, "timestamp": 2.0}
        for k, v in new.items()
        if k not in ("requested_slot", "validation_failures")
    )
    return slot_events(await ValidateComplaintForm().run(dispatcher, t, domain))


async def test_bad_phone_is_reprompted_with_the_reason(svc, dispatcher, domain):
    result = await validate(
        dispatcher, domain, "1381234", {"requested_slot": "phone_number", "phone_number": "1381234"}
    )
    assert result["phone_number"] is None
    assert result["validation_failures"] == {"phone_number": 1}
    assert "11位" in texts(dispatcher)[0]


async def test_second_failure_explains_and_offers_a_human(svc, dispatcher, domain):
    result = await validate(
        dispatcher,
        domain,
        "abc",
        {"requested_slot": "phone_number", "phone_number": "abc", "validation_failures": {"phone_number": 1}},
    )
    assert result["validation_failures"] == {"phone_number": 2}
    message = dispatcher.messages[-1]
    assert "11位中国大陆手机号" in message["text"]
    assert [b["title"] for b in message["buttons"]] == ["继续填写", "转人工客服"]


async def test_optional_policy_number_can_be_skipped_after_failures(svc, dispatcher, domain):
    await validate(
        dispatcher,
        domain,
        "12",
        {"requested_slot": "policy_number", "policy_number": "12", "validation_failures": {"policy_number": 1}},
    )
    assert "跳过此项" in [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    skipped = await validate(
        dispatcher, domain, "跳过", {"requested_slot": "policy_number", "policy_number": "skipped"}, "skip"
    )
    assert skipped["policy_number"] == "skipped"


async def test_valid_phone_is_normalised_and_clears_the_failure_count(svc, dispatcher, domain):
    result = await validate(
        dispatcher,
        domain,
        "+86 139 8765 4321",
        {
            "requested_slot": "phone_number",
            "phone_number": "+86 139 8765 4321",
            "validation_failures": {"phone_number": 1},
        },
    )
    assert result["phone_number"] == "13987654321" and result["validation_failures"] == {}
    assert dispatcher.messages == []


async def test_angry_first_message_gets_empathy_and_becomes_the_description(svc, dispatcher, domain):
    text = "气死了！我妈住院花了三万块，你们理赔拖了两个月还不给钱！！"
    result = await validate(dispatcher, domain, text, {}, intent="complain")
    assert dispatcher.messages[0]["response"] == "utter_empathize"
    assert result["complaint_description"] == text


async def test_short_first_message_does_not_become_the_description(svc, dispatcher, domain):
    result = await validate(dispatcher, domain, "我要投诉", {}, intent="complain")
    assert "complaint_description" not in result and dispatcher.messages == []


async def test_summary_masks_the_phone(svc, dispatcher, domain):
    t = tracker("", slots=FILLED | {"requested_slot": "complaint_confirmed"}, active_loop="complaint_form")
    await ActionAskComplaintConfirmed().run(dispatcher, t, domain)
    summary = dispatcher.messages[0]["text"]
    assert "138****5678" in summary and "13812345678" not in summary
    assert "理赔纠纷" in summary and "确认" in summary


async def test_deny_asks_which_field_and_naming_it_clears_it(svc, dispatcher, domain):
    denied = await validate(
        dispatcher,
        domain,
        "不对",
        {"requested_slot": "complaint_confirmed", "complaint_confirmed": False},
        "deny",
        known=FILLED,
    )
    assert denied == {"complaint_confirmed": None, "awaiting_correction": True}
    named = await validate(
        dispatcher,
        domain,
        "手机号写错了",
        {"requested_slot": "complaint_confirmed", "complaint_confirmed": "手机号写错了"},
        known=FILLED | {"awaiting_correction": True},
    )
    assert named["phone_number"] is None and named["complaint_confirmed"] is None


async def test_submit_writes_one_ticket_even_when_retried(svc, dispatcher, domain):
    t = tracker("确认", "affirm", slots=FILLED, active_loop="complaint_form")
    first = await ActionSubmitComplaint().run(dispatcher, t, domain)
    await ActionSubmitComplaint().run(dispatcher, t, domain)  # Rasa retrying the same call
    tickets = svc.tickets.list()
    assert len(tickets) == 1
    ticket_no = tickets[0]["ticket_no"]
    assert ticket_no in texts(dispatcher)[0] and texts(dispatcher)[0] == texts(dispatcher)[1]
    assert "15个自然日" in texts(dispatcher)[0]
    assert slot_events(first)["last_ticket_no"] == ticket_no
    assert slot_events(first)["phone_number"] is None  # form slots are reset


async def test_submit_during_a_database_outage_keeps_the_complaint(svc, dispatcher, domain, monkeypatch, tmp_path):
    from actions import services as services_module
    from bot.db import Database
    from bot.tickets import TicketService

    broken = services_module.Services(
        settings=svc.settings,
        tickets=TicketService(Database("postgresql://x@127.0.0.1:1/none"), svc.settings),
        handoffs=svc.handoffs,
        spool=svc.spool,
        materials=svc.materials,
    )
    monkeypatch.setattr("actions.complaint.services", lambda: broken)
    await ActionSubmitComplaint().run(
        dispatcher, tracker("确认", "affirm", slots=FILLED, active_loop="complaint_form"), domain
    )
    assert "不会丢失" in texts(dispatcher)[0]
    assert [item.draft.phone_number for item in svc.spool.pending()] == ["13812345678"]


def test_the_form_fields_are_the_domain_s(domain):
    """The domain declares the complaint form's questions; the read-back and resets use the same list."""
    from actions.complaint import FIELDS

    assert domain["forms"]["complaint_form"]["required_slots"] == FIELDS + ["complaint_confirmed"]


@pytest.mark.parametrize(
    "text, intent, confidence, requested, taken",
    [
        ("刘洋", "affirm", 0.58, "complainant_name", True),  # a name NLU doubts is chit-chat
        ("刘洋", "thank", 0.7, "complainant_name", True),
        ("好的", "affirm", 0.99, "complainant_name", False),  # chit-chat it is sure of
        ("刘洋", "affirm", 0.58, "phone_number", False),  # a name only when the name was asked
        ("我不知道", "deny", 0.6, "complainant_name", False),  # not a valid name
        ("刘洋", "complain", 0.5, "complainant_name", False),  # other intents have their own rules
    ],
)
def test_a_valid_name_typed_when_asked_is_taken_even_if_nlu_doubts_it(text, intent, confidence, requested, taken):
    t = tracker(text, intent, slots={"requested_slot": requested}, active_loop="complaint_form")
    t.latest_message["intent"]["confidence"] = confidence
    assert answered_name(t, "complainant_name") == ({"complainant_name": text} if taken else {})


async def test_every_field_in_the_first_message_is_taken_before_asking(svc, dispatcher, domain):
    text = "我叫王秀兰，电话13912345678，我要投诉你们理赔拖了三个月不赔，我要求尽快赔付"
    result = await validate(dispatcher, domain, text, {}, "complain")
    assert result["complainant_name"] == "王秀兰" and result["phone_number"] == "13912345678"
    assert result["customer_request"] == "尽快赔付" and result["complaint_description"] == text


async def test_fields_given_with_another_answer_are_taken_in_any_order(svc, dispatcher, domain):
    text = "保单号PL202300123456，我叫李建国"
    result = await validate(
        dispatcher,
        domain,
        text,
        {"requested_slot": "policy_number", "policy_number": "PL202300123456"},
        known={"complaint_category": "claims"},
    )
    assert result["policy_number"] == "PL202300123456" and result["complainant_name"] == "李建国"


async def test_a_name_typed_with_the_phone_is_narrowed_to_the_name(svc, dispatcher, domain):
    text = "李建国，电话138 1234 5678"
    result = await validate(dispatcher, domain, text, {"requested_slot": "complainant_name", "complainant_name": text})
    assert result["complainant_name"] == "李建国" and result["phone_number"] == "13812345678"
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("earlier", "answer", "intent"),
    [([], "刚不是说了吗 李建国", "deny"), (["你好，我是李建国"], "我刚才说过了", "inform")],
)
async def test_already_said_is_answered_by_looking_back(svc, dispatcher, domain, earlier, answer, intent):
    history = [user(text, "greet", timestamp=0.1) for text in earlier]
    t = tracker(
        answer, intent, slots={"requested_slot": "complainant_name"}, active_loop="complaint_form", events=history
    )
    result = slot_events(await ValidateComplaintForm().run(dispatcher, t, domain))
    assert result["complainant_name"] == "李建国"


async def test_words_left_beside_a_look_back_do_not_hide_the_earlier_answer(svc, dispatcher, domain):
    history = [user("我叫李建国 电话139 1234 5678 理赔拖了两个月", "complain", timestamp=0.1)]
    t = tracker(
        "电话也一样 前面给过了",
        "inform",
        slots={"requested_slot": "phone_number"},
        active_loop="complaint_form",
        events=history,
    )
    result = slot_events(await ValidateComplaintForm().run(dispatcher, t, domain))
    assert result["phone_number"] == "13912345678"


async def starting(dispatcher, domain, text, intent, before):
    """The form's first run after `before` (user events and actions, oldest first)."""
    t = tracker(text, intent, active_loop="complaint_form", events=before)
    return slot_events(await ValidateComplaintForm().run(dispatcher, t, domain))


@pytest.mark.parametrize(("text", "intent"), [("我要投诉", "complain"), ("/complain", "complain")])
async def test_who_the_user_said_they_are_before_the_form_is_not_asked_again(svc, dispatcher, domain, text, intent):
    # "你好，我是李建国" was answered as a greeting; the complaint (typed or the welcome's button) came next.
    before = [user("你好，我是李建国，电话139 1234 5678", "greet", timestamp=0.1)]
    result = await starting(dispatcher, domain, text, intent, before)
    assert result["complainant_name"] == "李建国" and result["phone_number"] == "13912345678"


async def test_only_who_the_user_is_carries_over_and_never_from_an_earlier_request(svc, dispatcher, domain):
    before = [
        user("我叫张三", "inform", timestamp=0.1),
        {"event": "action", "name": "action_submit_complaint", "timestamp": 0.2},
        user("我希望了解一下理赔流程", "ask_claim_materials", timestamp=0.3),
    ]
    result = await starting(dispatcher, domain, "我要投诉", "complain", before)
    assert "complainant_name" not in result and "customer_request" not in result


async def test_a_name_given_with_a_greeting_when_asked_is_taken(svc, dispatcher, domain):
    t = tracker("你好，我是李建国", "greet", slots={"requested_slot": "complainant_name"}, active_loop="complaint_form")
    result = slot_events(await ValidateComplaintForm().run(dispatcher, t, domain))
    assert result["complainant_name"] == "李建国"


@pytest.mark.parametrize(
    ("text", "intent", "field", "value", "told"),
    [
        ("诉求改一下：希望尽快赔付并书面道歉", "inform", "customer_request", "希望尽快赔付并书面道歉", "修改诉求"),
        ("电话写错了，应该是139 8765 4321", "deny", "phone_number", "13987654321", "修改联系电话"),
        ("名字改成李建国", "inform", "complainant_name", "李建国", "修改投诉人姓名"),
    ],
)
async def test_a_correction_typed_at_the_read_back_is_applied_directly(
    svc, dispatcher, domain, text, intent, field, value, told
):
    result = await at_read_back(dispatcher, domain, text, intent)
    assert result[field] == value
    assert result["complaint_confirmed"] is None and result["awaiting_correction"] is None
    assert told in texts(dispatcher)[-1]


async def test_a_category_correction_typed_at_the_read_back_is_applied_directly(svc, dispatcher, domain):
    # Issue 15, journey 4: a hospital-claim delay filed under the hotline, put right by the user.
    result = await at_read_back(dispatcher, domain, "把类别改成理赔", filed={"complaint_category": "counter_service"})
    assert result["complaint_category"] == "claims"
    assert result["complaint_confirmed"] is None and result["awaiting_correction"] is None
    assert texts(dispatcher)[-1] == "好的，已为您修改投诉类别。"


async def test_an_invalid_correction_is_explained_and_the_field_asked_again(svc, dispatcher, domain):
    result = await at_read_back(dispatcher, domain, "电话改成1381234")
    assert result["phone_number"] is None and "11位" in texts(dispatcher)[-1]


async def test_a_field_named_at_the_read_back_is_asked_again_even_when_read_as_a_no(svc, dispatcher, domain):
    result = await at_read_back(dispatcher, domain, "手机号不对", "deny")
    assert result["phone_number"] is None and result["awaiting_correction"] is None


async def at_read_back(dispatcher, domain, text, intent="inform", filed=None):
    """The validation of `text` typed at the read-back, mapped as the domain maps it (a no, or the text)."""
    typed = {"complaint_confirmed": False if intent == "deny" else text}
    known = FILLED | (filed or {}) | {"privacy_notice_version": "1.0.0"}
    return await validate(dispatcher, domain, text, {"requested_slot": "complaint_confirmed", **typed}, intent, known)


async def test_a_whole_account_typed_at_the_category_question_is_taken_as_the_description(svc, dispatcher, domain):
    text = "理赔拖了两个月了，一直说在审核，我叫李建国，我要求尽快赔付"
    result = await validate(
        dispatcher, domain, text, {"requested_slot": "complaint_category", "complaint_category": text}
    )
    assert result["complaint_category"] == "claims" and result["complaint_description"] == text
    assert result["complainant_name"] == "李建国" and result["customer_request"] == "尽快赔付"
    short = await validate(dispatcher, domain, "理赔的", {"requested_slot": "complaint_category"})
    assert "complaint_description" not in short


async def test_a_blunt_request_read_as_asking_for_a_person_is_the_request(svc, dispatcher, domain):
    known = {k: v for k, v in FILLED.items() if k != "customer_request"}
    asked = {**known, "requested_slot": "customer_request"}
    result = await validate(
        dispatcher, domain, "钱赶紧给我", {"requested_slot": "customer_request"}, "request_human", asked
    )
    assert result["customer_request"] == "钱赶紧给我"
    result = await validate(
        dispatcher, domain, "叫你们经理来", {"requested_slot": "customer_request"}, "request_human", asked
    )
    assert "customer_request" not in result
