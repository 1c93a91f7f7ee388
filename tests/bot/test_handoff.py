from bot.handoff import HandoffReason, HandoffService
from bot.tickets import TicketService
from tests.bot.test_tickets import draft


def test_request_records_everything_the_desk_needs(db, settings):
    ticket_no = TicketService(db, settings).submit(draft(), "k").ticket_no
    service = HandoffService(db)
    queued = service.request("conv-1", "rest", HandoffReason.USER_REQUEST,
                             {"complainant_name": "张三"}, ticket_no)
    [row] = service.list()
    assert queued.created and queued.position == 1
    assert row["conversation_id"] == "conv-1" and row["channel"] == "rest"
    assert row["reason"] == "user_request" and row["status"] == "waiting"
    assert row["slots"] == {"complainant_name": "张三"} and row["ticket_no"] == ticket_no


def test_threats_jump_the_queue(db):
    service = HandoffService(db)
    service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    service.request("b", "rest", HandoffReason.FALLBACK, {})
    threat = service.request("c", "rest", HandoffReason.THREAT, {})
    assert threat.position == 1
    assert [row["conversation_id"] for row in service.list(active_only=True)] == ["c", "b", "a"]


def test_asking_twice_keeps_one_request_and_raises_priority(db):
    service = HandoffService(db)
    service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    second = service.request("a", "rest", HandoffReason.THREAT, {})
    assert not second.created
    [row] = service.list()
    assert row["priority"] == HandoffReason.THREAT.priority


def test_release_ends_the_handoff(db):
    service = HandoffService(db)
    service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    assert service.is_active("a")
    assert service.release("a", "agent:li")
    assert not service.is_active("a") and not service.release("a", "agent:li")
