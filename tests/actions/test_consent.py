"""The personal-information notice and the separate consent to health details."""

from actions.complaint import ActionSubmitComplaint, ValidateComplaintForm
from actions.consent import ActionAskHealthConsent
from actions.handoff import ValidateCallbackForm
from actions.status import ValidateStatusForm
from tests.actions.trackers import slot_events, texts, tracker

NOTICE_MARK = "个人信息处理告知"
HEALTHY = "我妈查出癌症住院了，理赔申请交了两个月没有结果"


async def run_form(
    form, dispatcher, domain, text, new, intent="inform", known=None, loop="complaint_form", events=None
):
    """Runs a form's validation action as Rasa does after extracting `new` slot values this turn."""
    t = tracker(text, intent, slots={**(known or {}), **new}, active_loop=loop, events=events)
    t.events.extend(
        {"event": "slot", "name": k, "value": v, "timestamp": 2.0} for k, v in new.items() if k != "requested_slot"
    )
    return slot_events(await form.run(dispatcher, t, domain))


async def test_the_notice_comes_before_the_first_personal_question(svc, dispatcher, domain):
    result = await run_form(
        ValidateComplaintForm(),
        dispatcher,
        domain,
        "理赔",
        {"requested_slot": "complaint_category", "complaint_category": "理赔"},
    )
    assert result["complaint_category"] == "claims"
    assert result["privacy_notice_version"] == "1.0.0"
    notice = texts(dispatcher)[-1]
    assert NOTICE_MARK in notice and "/webhooks/web/privacy" in notice
    assert "对话记录保存180天" in notice and "结案后按监管要求保存5年" in notice  # the RETENTION_* defaults


async def test_no_notice_while_only_the_category_is_asked(svc, dispatcher, domain):
    result = await run_form(ValidateComplaintForm(), dispatcher, domain, "我要投诉", {}, intent="complain")
    assert "privacy_notice_version" not in result
    assert not any(NOTICE_MARK in (t or "") for t in texts(dispatcher))


async def test_the_notice_is_shown_once_per_conversation(svc, dispatcher, domain):
    earlier = [
        {"event": "slot", "name": "privacy_notice_version", "value": "1.0.0", "timestamp": 0.1},
        {"event": "session_started", "timestamp": 0.2},
    ]
    result = await run_form(
        ValidateComplaintForm(),
        dispatcher,
        domain,
        "理赔",
        {"requested_slot": "complaint_category", "complaint_category": "理赔"},
        events=earlier,
    )
    assert "privacy_notice_version" not in result
    assert not any(NOTICE_MARK in (t or "") for t in texts(dispatcher))


async def test_status_and_callback_forms_show_the_notice_too(svc, dispatcher, domain):
    status = await run_form(
        ValidateStatusForm(),
        dispatcher,
        domain,
        "TS20261122000001",
        {"requested_slot": "lookup_ticket_id", "lookup_ticket_id": "TS20261122000001"},
        loop="status_form",
    )
    assert status["privacy_notice_version"] == "1.0.0"
    callback = await run_form(
        ValidateCallbackForm(),
        dispatcher,
        domain,
        "留言",
        {"requested_slot": "callback_wanted", "callback_wanted": True},
        loop="callback_form",
    )
    assert callback["privacy_notice_version"] == "1.0.0"


async def test_health_details_in_the_description_ask_for_separate_consent(svc, dispatcher, domain):
    known = {
        "privacy_notice_version": "1.0.0",
        "complaint_category": "claims",
        "policy_number": "skipped",
        "complainant_name": "张三",
        "phone_number": "13812345678",
    }
    result = await run_form(
        ValidateComplaintForm(),
        dispatcher,
        domain,
        HEALTHY,
        {"requested_slot": "complaint_description", "complaint_description": HEALTHY},
        known=known,
    )
    assert result["complaint_description"] == HEALTHY
    assert result["requested_slot"] == "health_consent"


async def test_no_consent_question_without_health_details(svc, dispatcher, domain):
    known = {
        "privacy_notice_version": "1.0.0",
        "complaint_category": "claims",
        "policy_number": "skipped",
        "complainant_name": "张三",
        "phone_number": "13812345678",
    }
    result = await run_form(
        ValidateComplaintForm(),
        dispatcher,
        domain,
        "理赔拖了两个月没有结果",
        {"requested_slot": "complaint_description", "complaint_description": "理赔拖了两个月没有结果"},
        known=known,
    )
    assert result.get("requested_slot") != "health_consent"


async def test_the_consent_question_uses_the_reviewed_words(svc, dispatcher, domain):
    await ActionAskHealthConsent().run(dispatcher, tracker("", active_loop="complaint_form"), domain)
    assert "敏感个人信息" in texts(dispatcher)[0]
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["同意", "不同意", "转人工客服"]


async def test_refusing_drops_health_details_and_keeps_the_complaint_going(svc, dispatcher, domain):
    known = {
        "privacy_notice_version": "1.0.0",
        "complaint_category": "claims",
        "policy_number": "skipped",
        "complainant_name": "张三",
        "phone_number": "13812345678",
        "complaint_description": HEALTHY,
    }
    refused = await run_form(
        ValidateComplaintForm(),
        dispatcher,
        domain,
        "不同意",
        {"requested_slot": "health_consent"},
        intent="deny",
        known=known,
    )
    assert refused["health_consent"] == "refused"
    assert refused["complaint_description"] is None
    assert "不会处理您的健康信息" in texts(dispatcher)[-1]
    assert "转人工客服" in [b["title"] for b in dispatcher.messages[-1]["buttons"]]

    # Describing it again with health details still in is not kept.
    again = await run_form(
        ValidateComplaintForm(),
        dispatcher,
        domain,
        HEALTHY,
        {"requested_slot": "complaint_description", "complaint_description": HEALTHY},
        known={**known, "complaint_description": None, "health_consent": "refused"},
    )
    assert again["complaint_description"] is None and again["requested_slot"] == "complaint_description"
    assert "仍包含健康信息" in texts(dispatcher)[-1]


async def test_typed_consent_is_understood(svc, dispatcher, domain):
    known = {"privacy_notice_version": "1.0.0", "complaint_description": HEALTHY}
    result = await run_form(
        ValidateComplaintForm(), dispatcher, domain, "不同意", {"requested_slot": "health_consent"}, known=known
    )
    assert result["health_consent"] == "refused"


async def test_the_notice_version_and_consent_are_recorded_on_the_ticket(svc, dispatcher, domain):
    slots = {
        "complaint_category": "claims",
        "policy_number": "skipped",
        "complainant_name": "张三",
        "phone_number": "13812345678",
        "complaint_description": HEALTHY,
        "customer_request": "尽快赔付",
        "privacy_notice_version": "1.0.0",
        "health_consent": "granted",
    }
    await ActionSubmitComplaint().run(
        dispatcher, tracker("确认", "affirm", slots=slots, active_loop="complaint_form"), domain
    )
    ticket = svc.tickets.list()[0]
    assert ticket["privacy_notice_version"] == "1.0.0" and ticket["health_consent"] == "granted"


def test_the_action_server_can_register_every_action():
    """rasa-sdk registers every Action subclass: the consent mixin must not be one."""
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    assert {"validate_complaint_form", "validate_status_form", "action_ask_health_consent"} <= set(executor.actions)
