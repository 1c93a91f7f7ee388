from actions.handoff import (
    ActionHandleFallback,
    ActionRequestHandoff,
    ActionRestart,
    ActionSessionStart,
)
from bot.handoff import HandoffReason
from tests.actions.conftest import texts, tracker, user


def event_names(events):
    return [e["event"] for e in events]


async def test_threat_mid_form_queues_first_deactivates_the_form_and_pauses(svc, dispatcher, domain):
    t = tracker("再不处理我就打12378投诉你们", "escalation_threat", active_loop="complaint_form",
                slots={"complainant_name": "张三", "phone_number": "13812345678", "requested_slot": "phone_number"})
    events = await ActionRequestHandoff().run(dispatcher, t, domain)
    assert event_names(events) == ["active_loop", "slot", "pause"]
    assert events[0]["name"] is None
    [request] = svc.handoffs.list()
    assert request["reason"] == "escalation_threat" and request["priority"] == 100
    assert request["slots"] == {"complainant_name": "张三", "phone_number": "13812345678"}
    assert dispatcher.messages[0]["response"] == "utter_empathize"
    assert "人工客服" in texts(dispatcher)[1]


async def test_plain_request_tells_the_queue_position(svc, dispatcher, domain):
    await ActionRequestHandoff().run(dispatcher, tracker("转人工", "request_human", sender="a"), domain)
    await ActionRequestHandoff().run(dispatcher, tracker("人工客服", "request_human", sender="b"), domain)
    assert "您是下一位" in texts(dispatcher)[0] and "前面还有1位" in texts(dispatcher)[1]


async def test_repeated_validation_failure_is_the_recorded_reason(svc, dispatcher, domain):
    t = tracker("转人工", "request_human", active_loop="complaint_form",
                slots={"validation_failures": {"phone_number": 2}})
    await ActionRequestHandoff().run(dispatcher, t, domain)
    assert svc.handoffs.list()[0]["reason"] == "validation_failure"


async def test_second_fallback_in_a_row_hands_off(svc, dispatcher, domain):
    first = await ActionHandleFallback().run(dispatcher, tracker("啊吧啊吧", "nlu_fallback"), domain)
    assert first == [] and dispatcher.messages[0]["response"] == "utter_default"
    t = tracker("嗯呐哈", "nlu_fallback", events=[user("啊吧啊吧", "nlu_fallback")])
    second = await ActionHandleFallback().run(dispatcher, t, domain)
    assert event_names(second)[-1] == "pause"
    assert svc.handoffs.list()[0]["reason"] == "fallback"


async def test_fallback_after_an_understood_message_does_not_hand_off(svc, dispatcher, domain):
    t = tracker("嗯呐哈", "nlu_fallback", events=[user("啊吧", "nlu_fallback"), user("你好", "greet")])
    assert await ActionHandleFallback().run(dispatcher, t, domain) == []


async def test_new_session_and_restart_keep_the_pause_while_a_human_holds_it(svc, dispatcher, domain):
    assert "pause" not in event_names(await ActionSessionStart().run(dispatcher, tracker(sender="x"), domain))
    svc.handoffs.request("x", "rest", HandoffReason.USER_REQUEST, {})
    assert event_names(await ActionSessionStart().run(dispatcher, tracker(sender="x"), domain)) == [
        "session_started", "action", "pause"]
    assert event_names(await ActionRestart().run(dispatcher, tracker(sender="x"), domain)) == ["restart", "pause"]
    svc.handoffs.release("x", "agent:li")
    assert event_names(await ActionRestart().run(dispatcher, tracker(sender="x"), domain)) == ["restart"]
