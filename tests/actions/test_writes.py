"""Actions that write re-validate what they write, whatever called them.

The probe called the action server's webhook directly with a forged tracker and
got a ticket with category "not-a-category", phone "not-a-phone" and conversation
id `../<script>`. These tests send such calls through rasa-sdk's ActionExecutor,
the code behind the action server's /webhook.
"""

import logging

import pytest
from rasa_sdk.executor import ActionExecutor
from sqlalchemy import func, select

from actions.complaint import ActionSubmitComplaint
from actions.handoff import ActionRequestHandoff, ActionSubmitCallback
from actions.status import ActionCheckTicketStatus, ActionWithdrawComplaint
from bot.handoff import HandoffService
from bot.models import HandoffRequest, StatusLookup, Ticket
from tests.actions.trackers import user
from tests.bot.complaints import draft

GOOD = {
    "complaint_category": "claims",
    "policy_number": "PL202300123456",
    "complainant_name": "张三",
    "phone_number": "13812345678",
    "complaint_description": "理赔申请交了两个月没有结果",
    "customer_request": "尽快赔付",
    "complaint_confirmed": True,
}
CALLBACK = {
    "callback_wanted": True,
    "phone_number": "13812345678",
    "callback_message": "理赔款一直没到账，请回电",
    "callback_name": "张三",
}


@pytest.fixture
def executor():
    server = ActionExecutor()
    for action in (
        ActionSubmitComplaint,
        ActionSubmitCallback,
        ActionRequestHandoff,
        ActionCheckTicketStatus,
        ActionWithdrawComplaint,
    ):
        server.register_action(action)
    return server


def call(action, slots, sender="conv-1", channel="rest"):
    latest = user("确认", "affirm")
    latest["input_channel"] = channel
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.0",
        "domain": {},
        "tracker": {
            "sender_id": sender,
            "slots": slots,
            "latest_message": latest["parse_data"] | {"text": "确认"},
            "events": [{"event": "active_loop", "name": "complaint_form", "timestamp": 0.5}, latest],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def count(svc, model) -> int:
    with svc.tickets.db.transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def texts(response):
    return [m.get("text") or "" for m in response["responses"]]


FORGED = [
    pytest.param({"complaint_category": "not-a-category"}, "conv-1", "rest", id="category"),
    pytest.param({"phone_number": "not-a-phone"}, "conv-1", "rest", id="phone"),
    pytest.param({}, "../<script>", "rest", id="conversation-id"),
    pytest.param({"complainant_name": None}, "conv-1", "rest", id="missing-name"),
    pytest.param({"complaint_description": "长" * 5001}, "conv-1", "rest", id="description-too-long"),
    pytest.param({"customer_request": {"nested": "object"}}, "conv-1", "rest", id="request-not-text"),
    pytest.param({"policy_number": "<b>1</b>"}, "conv-1", "rest", id="policy"),
    pytest.param({"health_consent": "whatever"}, "conv-1", "rest", id="consent"),
    pytest.param({}, "conv-1", "../../etc", id="channel"),
]


@pytest.mark.parametrize("forged, sender, channel", FORGED)
async def test_complaint_submit_refuses_forged_slots(svc, executor, caplog, forged, sender, channel):
    with caplog.at_level(logging.WARNING, logger="actions"):
        response = await executor.run(call("action_submit_complaint", GOOD | forged, sender, channel))
    assert count(svc, Ticket) == 0
    assert "未能为您办理" in texts(response)[0]
    assert any("action_submit_complaint refused to write" in r.getMessage() for r in caplog.records)
    assert "<script>" not in caplog.text and "not-a-phone" not in caplog.text


async def test_complaint_submit_still_writes_a_valid_complaint(svc, executor):
    response = await executor.run(call("action_submit_complaint", GOOD))
    [ticket] = svc.tickets.list()
    assert ticket["ticket_no"] in texts(response)[0] and ticket["category"] == "claims"
    assert svc.tickets.get(ticket["ticket_no"])["events"][0]["actor"] == "bot:conv-1"


@pytest.mark.parametrize(
    "forged, sender",
    [
        ({"phone_number": "not-a-phone"}, "conv-1"),
        ({"callback_message": ""}, "conv-1"),
        ({"complaint_category": "not-a-category"}, "conv-1"),
        ({}, "../<script>"),
    ],
)
async def test_callback_ticket_refuses_forged_slots(svc, executor, forged, sender):
    response = await executor.run(call("action_submit_callback", CALLBACK | forged, sender))
    assert count(svc, Ticket) == 0 and "未能为您办理" in texts(response)[0]


async def test_callback_ticket_still_writes_a_valid_message(svc, executor):
    await executor.run(call("action_submit_callback", CALLBACK))
    assert [t["kind"] for t in svc.tickets.list()] == ["callback"]


@pytest.fixture
def desk_open(svc, monkeypatch):
    from bot.handoff import Availability

    monkeypatch.setattr(HandoffService, "availability", lambda self: Availability.OPEN)


@pytest.mark.parametrize(
    "forged, sender",
    [
        ({"phone_number": "not-a-phone"}, "conv-1"),
        ({"complaint_category": "not-a-category"}, "conv-1"),
        ({"last_ticket_no": "../../x"}, "conv-1"),
        ({}, "../<script>"),
        ({}, "x" * 500),
    ],
)
async def test_handoff_request_refuses_forged_slots(svc, executor, desk_open, forged, sender):
    response = await executor.run(call("action_request_handoff", {"phone_number": "13812345678"} | forged, sender))
    assert count(svc, HandoffRequest) == 0 and "未能为您办理" in texts(response)[-1]
    assert not [e for e in response["events"] if e["event"] == "pause"]


async def test_handoff_request_still_queues_a_valid_conversation(svc, executor, desk_open):
    response = await executor.run(call("action_request_handoff", {"phone_number": "13812345678"}))
    assert count(svc, HandoffRequest) == 1 and [e for e in response["events"] if e["event"] == "pause"]


def file_ticket(svc) -> str:
    return svc.tickets.submit(
        draft(conversation_id="c", description="理赔太慢了啊", policy_number=None), "c:1"
    ).ticket_no


@pytest.mark.parametrize("action", ["action_check_ticket_status", "action_withdraw_complaint"])
@pytest.mark.parametrize(
    "forged, sender",
    [
        ({"lookup_phone": "not-a-phone"}, "conv-1"),
        ({"lookup_ticket_id": "not-a-ticket"}, "conv-1"),
        ({}, "../<script>"),
    ],
)
async def test_lookup_and_withdrawal_refuse_forged_slots(svc, executor, action, forged, sender):
    ticket_no = file_ticket(svc)
    slots = {
        "lookup_ticket_id": ticket_no,
        "lookup_phone": "13812345678",
        "status_purpose": "withdraw",
        "withdraw_confirmed": True,
    } | forged
    response = await executor.run(call(action, slots, sender))
    assert count(svc, StatusLookup) == 0 and svc.tickets.get(ticket_no)["withdrawn_at"] is None
    assert "未能为您办理" in texts(response)[0]
