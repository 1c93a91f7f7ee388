from datetime import datetime, timezone

import pytest

from actions import services as services_module
from actions.handoff import (
    ActionCancelCallback,
    ActionHandleFallback,
    ActionRequestHandoff,
    ActionRestart,
    ActionSessionStart,
    ActionSubmitCallback,
    ValidateCallbackForm,
)
from bot.agents import AgentService, Role
from bot.handoff import HandoffReason
from tests.actions.trackers import slot_events, texts, tracker, user

# Monday 10:00 and Saturday 10:00 in Asia/Shanghai.
MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
SATURDAY_MORNING = datetime(2026, 11, 28, 2, 0, tzinfo=timezone.utc)

MESSAGE = "理赔款一直没到账，想请工作人员回电说明一下"


def event_names(events):
    return [e["event"] for e in events]


def at(services, moment):
    """Fixes the handoff service's clock (its constructor's clock parameter) so that
    service hours and agent presence do not depend on when the test runs."""
    services.handoffs.clock = lambda: moment


def agent_online(services):
    agents = AgentService(services.handoffs.db, services.handoffs.clock)
    account = agents.add("wang", "王小明", "a-long-password", Role.AGENT)
    agents.seen(account.id)


@pytest.fixture
def desk_open(svc):
    """Inside service hours with one agent at the desk."""
    at(svc, MONDAY_MORNING)
    agent_online(svc)
    return svc


@pytest.fixture
def nobody_online(svc):
    """Inside service hours, but no agent at the desk."""
    at(svc, MONDAY_MORNING)
    return svc


@pytest.fixture
def weekday_hours(svc, monkeypatch):
    """A settings override: humans answer Monday to Friday, 08:30-17:30."""
    monkeypatch.setenv("SERVICE_HOURS", "08:30-17:30")
    monkeypatch.setenv("SERVICE_DAYS", "1-5")
    services_module.services.cache_clear()
    return services_module.services()


# -- a human is available: queue and pause ----------------------------------------


async def test_threat_mid_form_queues_first_deactivates_the_form_and_pauses(desk_open, dispatcher, domain):
    t = tracker(
        "再不处理我就打12378投诉你们",
        "escalation_threat",
        active_loop="complaint_form",
        slots={"complainant_name": "张三", "phone_number": "13812345678", "requested_slot": "phone_number"},
    )
    events = await ActionRequestHandoff().run(dispatcher, t, domain)
    assert event_names(events) == ["active_loop", "slot", "pause"]
    assert events[0]["name"] is None
    [request] = desk_open.handoffs.list()
    assert request["reason"] == "escalation_threat" and request["priority"] == 100
    assert request["slots"] == {"complainant_name": "张三", "phone_number": "13812345678"}
    assert dispatcher.messages[0]["response"] == "utter_empathize"
    assert "人工客服" in texts(dispatcher)[1]


async def test_plain_request_tells_the_queue_position(desk_open, dispatcher, domain):
    await ActionRequestHandoff().run(dispatcher, tracker("转人工", "request_human", sender="a"), domain)
    await ActionRequestHandoff().run(dispatcher, tracker("人工客服", "request_human", sender="b"), domain)
    assert "您是下一位" in texts(dispatcher)[0] and "前面还有1位" in texts(dispatcher)[1]


async def test_repeated_validation_failure_is_the_recorded_reason(desk_open, dispatcher, domain):
    t = tracker(
        "转人工", "request_human", active_loop="complaint_form", slots={"validation_failures": {"phone_number": 2}}
    )
    await ActionRequestHandoff().run(dispatcher, t, domain)
    assert desk_open.handoffs.list()[0]["reason"] == "validation_failure"


async def test_second_fallback_in_a_row_hands_off(desk_open, dispatcher, domain):
    first = await ActionHandleFallback().run(dispatcher, tracker("啊吧啊吧", "nlu_fallback"), domain)
    assert first == [] and dispatcher.messages[0]["response"] == "utter_default"
    t = tracker("嗯呐哈", "nlu_fallback", events=[user("啊吧啊吧", "nlu_fallback")])
    second = await ActionHandleFallback().run(dispatcher, t, domain)
    assert event_names(second)[-1] == "pause"
    assert desk_open.handoffs.list()[0]["reason"] == "fallback"


async def test_fallback_after_an_understood_message_does_not_hand_off(svc, dispatcher, domain):
    t = tracker("嗯呐哈", "nlu_fallback", events=[user("啊吧", "nlu_fallback"), user("你好", "greet")])
    assert await ActionHandleFallback().run(dispatcher, t, domain) == []


async def test_new_session_and_restart_keep_the_pause_while_a_human_holds_it(svc, dispatcher, domain):
    assert "pause" not in event_names(await ActionSessionStart().run(dispatcher, tracker(sender="x"), domain))
    svc.handoffs.request("x", "rest", HandoffReason.USER_REQUEST, {})
    assert event_names(await ActionSessionStart().run(dispatcher, tracker(sender="x"), domain)) == [
        "session_started",
        "action",
        "pause",
    ]
    assert event_names(await ActionRestart().run(dispatcher, tracker(sender="x"), domain)) == ["restart", "pause"]
    svc.handoffs.release("x", "agent:li")
    assert event_names(await ActionRestart().run(dispatcher, tracker(sender="x"), domain)) == ["restart"]


async def test_asking_for_a_human_mid_message_once_one_is_online_queues_and_drops_the_message(
    desk_open, dispatcher, domain
):
    t = tracker(
        "转人工",
        "request_human",
        active_loop="callback_form",
        slots={"callback_wanted": True, "requested_slot": "callback_message"},
    )
    events = await ActionRequestHandoff().run(dispatcher, t, domain)
    assert event_names(events)[-1] == "pause"
    assert slot_events(events)["callback_wanted"] is None
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert len(desk_open.handoffs.list(active_only=True)) == 1


# -- no human available: offer a message (留言) -------------------------------------


async def test_no_agent_online_offers_a_message_instead_of_queueing(nobody_online, dispatcher, domain):
    events = await ActionRequestHandoff().run(dispatcher, tracker("转人工", "request_human"), domain)
    assert "pause" not in event_names(events)
    assert events[-1]["event"] == "active_loop" and events[-1]["name"] == "callback_form"
    assert slot_events(events)["requested_slot"] is None
    assert nobody_online.handoffs.list() == []  # nobody would ever pick it up
    assert "全忙或暂时离线" in texts(dispatcher)[0]


async def test_outside_hours_tells_the_configured_hours_even_with_an_agent_online(weekday_hours, dispatcher, domain):
    at(weekday_hours, SATURDAY_MORNING)
    agent_online(weekday_hours)
    events = await ActionRequestHandoff().run(dispatcher, tracker("转人工", "request_human"), domain)
    assert events[-1]["name"] == "callback_form" and "pause" not in event_names(events)
    assert "人工服务时间为周一至周五 08:30-17:30" in texts(dispatcher)[0]
    assert weekday_hours.handoffs.list() == []


async def test_threat_mid_complaint_with_nobody_online_keeps_what_was_collected(nobody_online, dispatcher, domain):
    t = tracker(
        "再不处理我就去12378投诉",
        "escalation_threat",
        active_loop="complaint_form",
        slots={"complainant_name": "张三", "complaint_description": "理赔拖了两个月", "requested_slot": "phone_number"},
    )
    events = await ActionRequestHandoff().run(dispatcher, t, domain)
    assert dispatcher.messages[0]["response"] == "utter_empathize"
    assert events[-1]["name"] == "callback_form"
    slots = slot_events(events)
    assert "complainant_name" not in slots and "complaint_description" not in slots
    assert slots["callback_wanted"] is None and slots["requested_slot"] is None


async def test_second_fallback_with_nobody_online_offers_a_message(nobody_online, dispatcher, domain):
    t = tracker("嗯呐哈", "nlu_fallback", events=[user("啊吧啊吧", "nlu_fallback")])
    events = await ActionHandleFallback().run(dispatcher, t, domain)
    assert events[-1]["name"] == "callback_form" and nobody_online.handoffs.list() == []


async def test_asking_again_mid_message_keeps_the_answers(nobody_online, dispatcher, domain):
    t = tracker(
        "还是要人工",
        "request_human",
        active_loop="callback_form",
        slots={"callback_wanted": True, "phone_number": "13812345678", "requested_slot": "callback_message"},
    )
    events = await ActionRequestHandoff().run(dispatcher, t, domain)
    assert events[-1]["name"] == "callback_form"
    assert slot_events(events) == {"requested_slot": None}


# -- the callback form ---------------------------------------------------------------


async def validate(dispatcher, domain, text, new, intent="inform", known=None, confidence=0.9):
    """Runs the validation action as Rasa does after extracting `new` slot values this turn."""
    # These turns come after the privacy notice (tests/actions/test_consent.py).
    t = tracker(
        text, intent, slots={"privacy_notice_version": "1.0.0", **(known or {}), **new}, active_loop="callback_form"
    )
    t.latest_message["intent"]["confidence"] = confidence
    t.events.extend(
        {"event": "slot", "name": k, "value": v, "timestamp": 2.0}
        for k, v in new.items()
        if k not in ("requested_slot", "validation_failures")
    )
    return slot_events(await ValidateCallbackForm().run(dispatcher, t, domain))


async def test_form_start_carries_over_the_complaint_description_and_name(svc, dispatcher, domain):
    result = await validate(
        dispatcher,
        domain,
        "再不处理我就去12378投诉",
        {},
        "escalation_threat",
        known={"complaint_description": "理赔拖了两个月没有结果", "complainant_name": "张三"},
    )
    assert result == {"callback_message": "理赔拖了两个月没有结果", "callback_name": "张三"}


async def test_form_start_takes_the_name_and_phone_the_user_greeted_with(svc, dispatcher, domain):
    t = tracker(
        "没人的话我留言吧",
        "request_human",
        slots={"privacy_notice_version": "1.0.0"},
        active_loop="callback_form",
        events=[user("您好，我是李建国，手机13912345678", "greet", timestamp=0.1)],
    )
    result = slot_events(await ValidateCallbackForm().run(dispatcher, t, domain))
    assert result["callback_name"] == "李建国" and result["phone_number"] == "13912345678"


async def test_a_name_nlu_doubtfully_reads_as_yes_is_the_name(svc, dispatcher, domain):
    # The bench's 刘洋 was read as affirm (0.58): the rule said "好的，我们继续" and asked again, forever.
    asked = {"requested_slot": "callback_name", "callback_wanted": True, "callback_message": "理赔款一直没到账"}
    assert await validate(dispatcher, domain, "刘洋", {}, "affirm", known=asked, confidence=0.58) == {
        "callback_name": "刘洋"
    }
    assert await validate(dispatcher, domain, "好的", {}, "affirm", known=asked, confidence=0.99) == {}


async def test_an_answer_is_never_overwritten_by_the_complaint(svc, dispatcher, domain):
    result = await validate(
        dispatcher,
        domain,
        "13812345678",
        {"phone_number": "13812345678"},
        known={
            "requested_slot": "phone_number",
            "callback_wanted": True,
            "complaint_description": "理赔拖了两个月没有结果",
        },
    )
    assert result == {"phone_number": "13812345678"}


@pytest.mark.parametrize(
    "text, wanted", [("那我留个言吧", True), ("请回电给我", True), ("不用留言了", False), ("算了", False)]
)
async def test_typed_answers_to_the_offer(svc, dispatcher, domain, text, wanted):
    result = await validate(dispatcher, domain, text, {}, "out_of_scope", known={"requested_slot": "callback_wanted"})
    assert result["callback_wanted"] is wanted


async def test_unrelated_text_does_not_answer_the_offer(svc, dispatcher, domain):
    # Left unanswered, so that Rasa's form rejects and the rules handle the message.
    assert (
        await validate(
            dispatcher, domain, "你是机器人吗", {}, "bot_challenge", known={"requested_slot": "callback_wanted"}
        )
        == {}
    )


async def test_declining_ends_the_form(svc, dispatcher, domain):
    result = await validate(
        dispatcher, domain, "不用了", {"callback_wanted": False}, "deny", known={"requested_slot": "callback_wanted"}
    )
    assert result == {"callback_wanted": False, "requested_slot": None}


async def test_bad_phone_uses_the_complaint_checks_and_offers_no_human(svc, dispatcher, domain):
    first = await validate(
        dispatcher,
        domain,
        "1381234",
        {"phone_number": "1381234"},
        known={"requested_slot": "phone_number", "callback_wanted": True},
    )
    assert first["phone_number"] is None and "11位" in texts(dispatcher)[0]
    second = await validate(
        dispatcher,
        domain,
        "1381234",
        {"phone_number": "1381234"},
        known={
            "requested_slot": "phone_number",
            "callback_wanted": True,
            "validation_failures": first["validation_failures"],
        },
    )
    assert second["validation_failures"] == {"phone_number": 2}
    assert "回电" in texts(dispatcher)[1] and "取消" in texts(dispatcher)[1]
    payloads = [b["payload"] for b in dispatcher.messages[1]["buttons"]]
    assert payloads == ["/affirm", "/cancel"]


async def test_message_and_name_are_checked(svc, dispatcher, domain):
    assert (
        await validate(
            dispatcher, domain, "嗯", {"callback_message": "嗯"}, known={"requested_slot": "callback_message"}
        )
    )["callback_message"] is None
    assert "留言内容" in texts(dispatcher)[0]
    named = await validate(
        dispatcher, domain, "我叫李秀英", {"callback_name": "我叫李秀英"}, known={"requested_slot": "callback_name"}
    )
    assert named["callback_name"] == "李秀英"


FILLED = {"callback_wanted": True, "phone_number": "13812345678", "callback_message": MESSAGE, "callback_name": "张三"}


async def test_submit_writes_one_callback_ticket_and_tells_its_number(svc, dispatcher, domain):
    t = tracker(
        "张三",
        slots={**FILLED, "complaint_category": "claims", "customer_request": "尽快赔付", "policy_number": "skipped"},
        active_loop="callback_form",
    )
    events = await ActionSubmitCallback().run(dispatcher, t, domain)
    await ActionSubmitCallback().run(dispatcher, t, domain)  # Rasa retrying the same call
    [ticket] = svc.tickets.list()
    assert ticket["kind"] == "callback" and ticket["category"] == "claims"
    assert ticket["description"] == MESSAGE and ticket["customer_request"] == "请回电；尽快赔付"
    assert ticket["complainant_name"] == "张三" and ticket["phone_number"] == "13812345678"
    assert ticket["policy_number"] is None
    reply = texts(dispatcher)[0]
    assert f"受理编号：{ticket['ticket_no']}" in reply and texts(dispatcher)[1] == reply
    assert svc.settings.contact_promise in reply and "138****5678" in reply and "13812345678" not in reply
    slots = slot_events(events)
    assert slots["last_ticket_no"] == ticket["ticket_no"]
    assert slots["callback_wanted"] is None and slots["complaint_category"] is None


async def test_a_message_without_a_complaint_is_filed_as_other(svc, dispatcher, domain):
    await ActionSubmitCallback().run(dispatcher, tracker("张三", slots=FILLED, active_loop="callback_form"), domain)
    [ticket] = svc.tickets.list()
    assert ticket["category"] == "other" and ticket["customer_request"] == "请回电"


async def test_declined_says_where_else_to_turn_and_writes_nothing(nobody_online, dispatcher, domain):
    events = await ActionSubmitCallback().run(
        dispatcher, tracker("不用了", "deny", slots={"callback_wanted": False}), domain
    )
    assert nobody_online.tickets.list() == []
    assert "保单上的客服电话" in texts(dispatcher)[0] and "每天 09:00-21:00" in texts(dispatcher)[0]
    assert slot_events(events)["callback_wanted"] is None


async def test_cancel_says_nothing_is_kept(svc, dispatcher, domain):
    events = await ActionCancelCallback().run(dispatcher, tracker("取消", "cancel"), domain)
    assert "已取消留言" in texts(dispatcher)[0] and svc.tickets.list() == []
    assert slot_events(events)["callback_message"] is None


async def test_submit_during_a_database_outage_keeps_the_message(svc, dispatcher, domain, monkeypatch):
    from bot.db import Database
    from bot.tickets import TicketService

    broken = services_module.Services(
        settings=svc.settings,
        tickets=TicketService(Database("postgresql://x@127.0.0.1:1/none"), svc.settings),
        handoffs=svc.handoffs,
        spool=svc.spool,
        materials=svc.materials,
    )
    monkeypatch.setattr("actions.handoff.services", lambda: broken)
    await ActionSubmitCallback().run(dispatcher, tracker("张三", slots=FILLED, active_loop="callback_form"), domain)
    assert "不会丢失" in texts(dispatcher)[0] and "暂存号" in texts(dispatcher)[0]
    [item] = svc.spool.pending()
    assert item.draft.kind == "callback" and item.draft.description == MESSAGE
