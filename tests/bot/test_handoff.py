from bot.handoff import HandoffReason, HandoffService
from bot.tickets import TicketService
from tests.bot.complaints import draft


def test_request_records_everything_the_desk_needs(db, settings):
    ticket_no = TicketService(db, settings).submit(draft(), "k").ticket_no
    service = HandoffService(db, settings)
    queued = service.request("conv-1", "rest", HandoffReason.USER_REQUEST, {"complainant_name": "张三"}, ticket_no)
    [row] = service.list()
    assert queued.created and queued.position == 1
    assert row["conversation_id"] == "conv-1" and row["channel"] == "rest"
    assert row["reason"] == "user_request" and row["status"] == "waiting"
    assert row["slots"] == {"complainant_name": "张三"} and row["ticket_no"] == ticket_no


def test_threats_jump_the_queue(db, settings):
    service = HandoffService(db, settings)
    service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    service.request("b", "rest", HandoffReason.FALLBACK, {})
    threat = service.request("c", "rest", HandoffReason.THREAT, {})
    assert threat.position == 1
    assert [row["conversation_id"] for row in service.list(active_only=True)] == ["c", "b", "a"]


def test_asking_twice_keeps_one_request_and_raises_priority(db, settings):
    service = HandoffService(db, settings)
    service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    second = service.request("a", "rest", HandoffReason.THREAT, {})
    assert not second.created
    [row] = service.list()
    assert row["priority"] == HandoffReason.THREAT.priority


def test_release_ends_the_handoff(db, settings):
    service = HandoffService(db, settings)
    service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    assert service.is_active("a")
    assert service.release("a", "agent:li")
    assert not service.is_active("a") and not service.release("a", "agent:li")


# -- the desk side ------------------------------------------------------------------

from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import timedelta  # noqa: E402

import pytest  # noqa: E402

from bot.agents import AgentService, Role  # noqa: E402
from bot.handoff import Availability, ClaimError, ServiceHours  # noqa: E402
from tests.bot.clocks import Clock  # noqa: E402
from tests.databases import make_settings  # noqa: E402


@pytest.fixture
def agents(db):
    service = AgentService(db)
    return {
        name: service.add(name, name.title(), "a-long-password", role)
        for name, role in [("li", Role.AGENT), ("wang", Role.AGENT), ("boss", Role.SUPERVISOR)]
    }


def test_two_agents_claiming_at_once_exactly_one_wins(db, settings, agents):
    service = HandoffService(db, settings)
    request_id = service.request("a", "rest", HandoffReason.USER_REQUEST, {}).id

    def claim(agent):
        try:
            service.claim(request_id, agent)
            return agent.username
        except ClaimError as exc:
            return exc.message

    for _ in range(3):  # a race is only a race if it is repeated
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(claim, [agents["li"], agents["wang"]]))
        winners = [r for r in results if r in ("li", "wang")]
        assert len(winners) == 1
        [loser] = [r for r in results if r not in ("li", "wang")]
        assert loser == f"该会话已被 {winners[0].title()} 接入"  # the display name
        assert service.get(request_id)["assigned_to"] == winners[0]
        service.finish(request_id, agents[winners[0]], "released")
        request_id = service.request("a", "rest", HandoffReason.USER_REQUEST, {}).id


def test_only_the_holder_or_a_supervisor_works_the_conversation(db, settings, agents):
    service = HandoffService(db, settings)
    request_id = service.request("a", "rest", HandoffReason.USER_REQUEST, {}).id
    service.claim(request_id, agents["li"])
    with pytest.raises(ClaimError, match="由 Li 处理"):
        service.touch(request_id, agents["wang"])
    assert service.touch(request_id, agents["boss"])["assigned_to"] == "li"
    service.finish(request_id, agents["li"], "closed")
    assert service.get(request_id)["status"] == "closed"
    with pytest.raises(ClaimError, match="已结束"):
        service.claim(request_id, agents["wang"])
    with pytest.raises(ClaimError, match="未被接入或已结束"):
        service.finish(request_id, agents["li"], "released")


def test_an_idle_conversation_goes_back_to_the_queue(db, agents, tmp_path):
    clock = Clock()
    service = HandoffService(db, make_settings(tmp_path, AGENT_IDLE_MINUTES="10"), clock)
    request_id = service.request("a", "rest", HandoffReason.USER_REQUEST, {}).id
    service.claim(request_id, agents["li"])
    clock.now += timedelta(minutes=9)
    service.touch(request_id, agents["li"])  # a reply restarts the timer
    clock.now += timedelta(minutes=9)
    assert service.requeue_idle() == []
    clock.now += timedelta(minutes=2)
    [requeued] = service.requeue_idle()
    assert requeued["id"] == request_id and requeued["status"] == "waiting"
    assert requeued["assigned_to"] is None
    assert [row["id"] for row in service.queue()] == [request_id]


def test_waiting_users_are_told_only_when_their_place_improves(db, settings, agents):
    service = HandoffService(db, settings)
    first = service.request("a", "rest", HandoffReason.USER_REQUEST, {})
    second = service.request("b", "rest", HandoffReason.USER_REQUEST, {})
    assert (first.position, second.position) == (1, 2)
    assert service.position_updates() == []  # both were told at request time
    service.claim(first.id, agents["li"])
    [update] = service.position_updates()
    assert (update.conversation_id, update.position) == ("b", 1)
    assert service.position_updates() == []


def test_availability_needs_service_hours_and_an_agent_online(db, agents, tmp_path):
    clock = Clock()  # Monday 12:00 in Shanghai
    settings = make_settings(tmp_path, SERVICE_HOURS="09:00-18:00", SERVICE_DAYS="1-5")
    service = HandoffService(db, settings, clock)
    assert service.availability() is Availability.NO_AGENT_ONLINE
    AgentService(db, clock).seen(agents["li"].id)
    assert service.availability() is Availability.OPEN
    clock.now += timedelta(seconds=settings.agent_presence_seconds + 1)
    assert service.availability() is Availability.NO_AGENT_ONLINE
    clock.now += timedelta(hours=7)  # 19:00
    assert service.availability() is Availability.OUTSIDE_HOURS


@pytest.mark.parametrize(
    "hours, days, text",
    [
        ("09:00-21:00", "1-7", "每天 09:00-21:00"),
        ("8:30-17:30", "1-5", "周一至周五 08:30-17:30"),
        ("00:00-24:00", "1,3,5", "周一、周三、周五 00:00-24:00"),
    ],
)
def test_service_hours_are_described_in_chinese(hours, days, text):
    assert ServiceHours.parse(hours, days, "Asia/Shanghai").describe() == text


@pytest.mark.parametrize(
    "hours, days", [("9-21", "1-7"), ("21:00-09:00", "1-7"), ("09:00-21:00", "0-8"), ("09:00-21:00", "mon")]
)
def test_bad_service_hours_are_refused_with_the_setting_named(hours, days):
    with pytest.raises(ValueError, match="SERVICE_"):
        ServiceHours.parse(hours, days, "Asia/Shanghai")
