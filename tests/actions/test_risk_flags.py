"""Threats heard in a conversation flag the ticket or 留言 it leaves, top priority, with a supervisor alert."""

from datetime import datetime, timezone

from actions.complaint import ActionSubmitComplaint
from actions.handoff import ActionRequestHandoff, ActionSubmitCallback
from bot.alerts import Alerts
from bot.workspace import TicketFilter, Workspace
from tests.actions.trackers import texts, tracker, user
from tests.bot.sample_tickets import SUPERVISOR

# 23:30 on a Monday in Asia/Shanghai: outside the default service hours (09:00-21:00).
MONDAY_NIGHT = datetime(2026, 11, 23, 15, 30, tzinfo=timezone.utc)
CALLBACK = {"callback_wanted": True, "phone_number": "13812345678", "callback_name": "张三"}
COMPLAINT = {
    "complaint_category": "claims",
    "complainant_name": "张三",
    "phone_number": "13812345678",
    "complaint_description": "理赔申请交了两个月没有结果",
    "customer_request": "尽快赔付",
}


def listed(svc, **filters):
    return Workspace(svc.tickets.db, svc.settings).list(SUPERVISOR, TicketFilter(**filters)).rows


async def test_a_threat_out_of_hours_leaves_a_flagged_top_priority_message_and_an_alert(svc, dispatcher, domain):
    svc.handoffs.clock = lambda: MONDAY_NIGHT
    threat = user("再不给我处理我就去12378投诉，还要找律师起诉你们", "escalation_threat")
    offered = await ActionRequestHandoff().run(dispatcher, tracker(threat["text"], "escalation_threat"), domain)
    assert offered[-1]["name"] == "callback_form"  # nobody answers at night: a 留言 is offered
    message = tracker(
        "张三",
        slots={**CALLBACK, "callback_message": "理赔拖了两个月，请回电"},
        events=[threat],
        active_loop="callback_form",
    )
    await ActionSubmitCallback().run(dispatcher, message, domain)
    [plain_first] = listed(svc)
    assert plain_first["kind"] == "callback" and plain_first["risk_flags"] == ["regulator", "lawsuit"]
    assert plain_first["priority"] == 100
    [alert] = Alerts(svc.tickets.db).list(SUPERVISOR)
    assert alert["kind"] == "risk" and alert["ticket_no"] == plain_first["ticket_no"]
    assert alert["message"] == f"风险留言 {plain_first['ticket_no']}：监管投诉、诉讼，请主管立即关注"
    assert "受理编号" in texts(dispatcher)[-1]


async def test_a_first_message_naming_a_tv_reporter_flags_the_complaint(svc, dispatcher, domain):
    first = user("我已经给电视台的记者打过电话了，理赔拖了两个月还不赔", "complain")
    done = tracker("确认", "affirm", slots=COMPLAINT, events=[first], active_loop="complaint_form")
    await ActionSubmitComplaint().run(dispatcher, done, domain)
    [ticket] = listed(svc, risk_flag="media")
    assert ticket["kind"] == "complaint" and ticket["priority"] == 100
    assert [a["kind"] for a in Alerts(svc.tickets.db).list(SUPERVISOR)] == ["risk"]


async def test_an_ordinary_complaint_is_not_flagged(svc, dispatcher, domain):
    ordinary = tracker("确认", "affirm", slots=COMPLAINT, events=[user("理赔拖了两个月", "complain")])
    await ActionSubmitComplaint().run(dispatcher, ordinary, domain)
    [ticket] = listed(svc)
    assert ticket["risk_flags"] == [] and ticket["priority"] == 0
    assert Alerts(svc.tickets.db).list(SUPERVISOR) == []
