from actions.status import ActionCheckTicketStatus, ValidateStatusForm
from bot.tickets import ComplaintDraft
from tests.actions.conftest import slot_events, texts, tracker


def file_ticket(svc) -> str:
    draft = ComplaintDraft(conversation_id="c", channel="rest", category="claims", complainant_name="张三",
                           phone_number="13812345678", description="理赔太慢了啊", customer_request="尽快赔付")
    return svc.tickets.submit(draft, "c:1").ticket_no


async def check(dispatcher, domain, ticket_no, phone, purpose="status", sender="visitor"):
    t = tracker("", slots={"lookup_ticket_id": ticket_no, "lookup_phone": phone, "status_purpose": purpose},
                sender=sender)
    return await ActionCheckTicketStatus().run(dispatcher, t, domain)


async def test_status_is_told_only_to_the_matching_phone(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    await check(dispatcher, domain, ticket_no, "13900000000")
    await check(dispatcher, domain, "TS20991231000001", "13812345678")
    wrong_phone, unknown = texts(dispatcher)
    assert wrong_phone.split("本次")[0] == unknown.split("本次")[0]  # same neutral wording
    assert ticket_no not in wrong_phone
    events = await check(dispatcher, domain, ticket_no, "13812345678")
    assert "受理" in texts(dispatcher)[-1] and ticket_no in texts(dispatcher)[-1]
    assert slot_events(events) == {"lookup_ticket_id": None, "lookup_phone": None, "status_purpose": None}


async def test_withdrawal_after_verification_closes_the_ticket(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    await check(dispatcher, domain, ticket_no, "13812345678", purpose="withdraw")
    assert svc.tickets.get(ticket_no)["withdrawn_at"] is not None
    assert "撤回" in texts(dispatcher)[0]


async def test_ticket_id_format_is_validated(svc, dispatcher, domain):
    form = ValidateStatusForm()
    assert form.validate_lookup_ticket_id("ts 20261122000001", dispatcher, tracker(), domain) == {
        "lookup_ticket_id": "TS20261122000001"}
    assert form.validate_lookup_ticket_id("12345", dispatcher, tracker(), domain) == {"lookup_ticket_id": None}
    assert "TS加14位数字" in texts(dispatcher)[0]
