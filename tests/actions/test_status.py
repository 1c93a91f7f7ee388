from datetime import datetime, timezone

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select, update

from actions.status import ActionCheckTicketStatus, ActionWithdrawComplaint, ValidateStatusForm, ValidateWithdrawForm
from bot import replies
from bot.models import Notice, Ticket
from bot.settings import PROJECT_ROOT
from tests.actions.trackers import slot_events, texts, tracker
from tests.bot.complaints import draft


def file_ticket(svc) -> str:
    return svc.tickets.submit(
        draft(conversation_id="c", description="理赔太慢了啊", policy_number=None), "c:1"
    ).ticket_no


async def check(dispatcher, domain, ticket_no, phone, purpose="status", sender="visitor"):
    t = tracker(
        "", slots={"lookup_ticket_id": ticket_no, "lookup_phone": phone, "status_purpose": purpose}, sender=sender
    )
    return await ActionCheckTicketStatus().run(dispatcher, t, domain)


async def withdraw(dispatcher, domain, ticket_no, phone, confirmed, sender="visitor"):
    t = tracker(
        "确认" if confirmed else "不撤回",
        "affirm" if confirmed else "deny",
        sender=sender,
        slots={
            "lookup_ticket_id": ticket_no,
            "lookup_phone": phone,
            "status_purpose": "withdraw",
            "withdraw_confirmed": confirmed,
        },
    )
    return await ActionWithdrawComplaint().run(dispatcher, t, domain)


async def validate_status(dispatcher, domain, text, new, intent="inform", requested=None, entities=None):
    """Runs the status form's validation as Rasa does after extracting `new` slot values this turn."""
    t = tracker(
        text,
        intent,
        slots={"requested_slot": requested, **new},
        active_loop="status_form",
        entities=entities,
        events=[{"event": "slot", "name": "privacy_notice_version", "value": "1.0.0", "timestamp": 0.2}],
    )
    t.events.extend({"event": "slot", "name": k, "value": v, "timestamp": 2.0} for k, v in new.items())
    return slot_events(await ValidateStatusForm().run(dispatcher, t, domain))


async def test_status_is_told_only_to_the_matching_phone(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    await check(dispatcher, domain, ticket_no, "13900000000")
    await check(dispatcher, domain, "TS20991231000001", "13812345678")
    wrong_phone, unknown = texts(dispatcher)
    assert wrong_phone.split("还可")[0] == unknown.split("还可")[0]  # same neutral wording
    assert ticket_no not in wrong_phone
    events = await check(dispatcher, domain, ticket_no, "13812345678")
    assert "受理" in texts(dispatcher)[-1] and ticket_no in texts(dispatcher)[-1]
    assert slot_events(events) == {
        "lookup_ticket_id": None,
        "lookup_phone": None,
        "lookup_name": None,
        "status_purpose": None,
        "withdraw_confirmed": None,
    }


async def test_a_verified_withdrawal_asks_for_confirmation_naming_the_ticket_first(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    events = await check(dispatcher, domain, ticket_no, "13812345678", purpose="withdraw")
    assert svc.tickets.get(ticket_no)["withdrawn_at"] is None  # nothing happens before the answer
    assert {"event": "active_loop", "name": "withdraw_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert slot_events(events)["lookup_ticket_id"] == ticket_no
    question = TemplatedNaturalLanguageGenerator(Domain.load(str(PROJECT_ROOT / "domain.yml")).responses)
    rasa_tracker = DialogueStateTracker.from_dict("visitor", [], Domain.load(str(PROJECT_ROOT / "domain.yml")).slots)
    rasa_tracker.slots["lookup_ticket_id"].value = ticket_no
    asked = await question.generate("utter_ask_withdraw_confirmed", rasa_tracker, "rest")
    assert asked["text"].startswith(f"确认撤回投诉 {ticket_no} 吗？")
    assert [b["payload"] for b in asked["buttons"]] == ["/affirm", "/deny"]


async def test_confirmed_withdrawal_closes_the_ticket_and_audits_the_conversation(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    await withdraw(dispatcher, domain, ticket_no, "13812345678", True, sender="conv-42")
    ticket = svc.tickets.get(ticket_no)
    assert ticket["withdrawn_at"] is not None and ticket["status"] == "closed"
    assert ticket["events"][-1]["actor"] == "bot:conv-42"
    assert "已为您撤回投诉" in texts(dispatcher)[0] and ticket_no in texts(dispatcher)[0]


async def test_no_at_the_confirmation_keeps_the_ticket_open(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    events = await withdraw(dispatcher, domain, ticket_no, "13812345678", False)
    assert svc.tickets.get(ticket_no)["status"] == "accepted"
    assert "不撤回" in texts(dispatcher)[0] and ticket_no in texts(dispatcher)[0]
    assert slot_events(events)["withdraw_confirmed"] is None


async def test_withdrawal_is_verified_again_when_it_is_written(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    await withdraw(dispatcher, domain, ticket_no, "13900000000", True)
    assert svc.tickets.get(ticket_no)["withdrawn_at"] is None
    assert "没有查询到" in texts(dispatcher)[0]


async def test_typed_confirmations_are_understood(svc, dispatcher, domain):
    form = ValidateWithdrawForm()
    asked = {"requested_slot": "withdraw_confirmed"}
    assert await form.extract_withdraw_confirmed(dispatcher, tracker("不撤回了", slots=asked), domain) == {
        "withdraw_confirmed": False
    }
    assert await form.extract_withdraw_confirmed(dispatcher, tracker("确认撤回", slots=asked), domain) == {
        "withdraw_confirmed": True
    }
    assert form.validate_withdraw_confirmed("我再想想", dispatcher, tracker(), domain) == {"withdraw_confirmed": None}
    assert "确认撤回" in texts(dispatcher)[0]


async def test_a_payload_cannot_fill_the_lookup_in_one_request(svc, dispatcher, domain):
    """`/check_ticket_status{"ticket_id": …, "phone_number": …}` (a typed intent or button payload)."""
    text = '/check_ticket_status{"ticket_id":"TS20261122000001","phone_number":"13812345678"}'
    entities = [
        {"entity": "ticket_id", "value": "TS20261122000001", "extractor": "RegexMessageHandler"},
        {"entity": "phone_number", "value": "13812345678", "extractor": "RegexMessageHandler"},
    ]
    result = await validate_status(
        dispatcher,
        domain,
        text,
        {"lookup_ticket_id": "TS20261122000001", "lookup_phone": "13812345678"},
        intent="check_ticket_status",
        entities=entities,
    )
    assert result["lookup_ticket_id"] is None and result["lookup_phone"] is None
    assert result.get("requested_slot", "lookup_ticket_id") == "lookup_ticket_id"


async def test_the_phone_counts_only_as_the_answer_to_its_question(svc, dispatcher, domain):
    one_line = await validate_status(
        dispatcher,
        domain,
        "查进度 TS20261122000001 13812345678",
        {"lookup_ticket_id": "TS20261122000001", "lookup_phone": "13812345678"},
        intent="check_ticket_status",
    )
    assert one_line["lookup_ticket_id"] == "TS20261122000001" and one_line["lookup_phone"] is None
    answered = await validate_status(
        dispatcher, domain, "138 1234 5678", {"lookup_phone": "138 1234 5678"}, requested="lookup_phone"
    )
    assert answered["lookup_phone"] == "13812345678"
    # A ticket number remembered from elsewhere, not typed in this message, is asked for again.
    stale = await validate_status(
        dispatcher, domain, "查一下投诉进度", {"lookup_ticket_id": "TS20261122000001"}, intent="check_ticket_status"
    )
    assert stale["lookup_ticket_id"] is None


async def test_ticket_id_format_is_validated(svc, dispatcher, domain):
    form = ValidateStatusForm()
    assert form.validate_lookup_ticket_id("ts 20261122000001", dispatcher, tracker("ts 20261122000001"), domain) == {
        "lookup_ticket_id": "TS20261122000001"
    }
    assert form.validate_lookup_ticket_id("12345", dispatcher, tracker("12345"), domain) == {"lookup_ticket_id": None}
    assert "TS加14位数字" in texts(dispatcher)[0]


async def test_a_wrong_phone_within_the_limit_asks_again_instead_of_ending(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    events = await check(dispatcher, domain, ticket_no, "13900000000")
    assert {"event": "active_loop", "name": "status_form"} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot_events(events) == {"lookup_phone": None, "requested_slot": None}  # the ticket number is kept
    assert "还可尝试2次" in texts(dispatcher)[0] and "投诉编号输错了" in texts(dispatcher)[0]


async def test_the_last_failure_ends_the_look_up_with_the_way_on(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    for _ in range(3):
        events = await check(dispatcher, domain, ticket_no, "13900000000")
    assert slot_events(events)["lookup_ticket_id"] is None
    assert all(e.get("event") != "active_loop" for e in events)
    assert "转人工" in texts(dispatcher)[-1]
    assert dispatcher.messages[-1]["buttons"] == [replies.HUMAN_BUTTON]


@pytest.mark.parametrize("text", ["不好意思输错了 是138 1234 5678", "啊 打错了，应该是13812345678"])
async def test_a_retyped_phone_is_taken_from_the_sentence_around_it(svc, dispatcher, domain, text):
    result = await validate_status(
        dispatcher, domain, text, {"lookup_ticket_id": "TS20261122000001"}, intent="deny", requested="lookup_phone"
    )
    assert result["lookup_phone"] == "13812345678"


async def test_a_forgotten_number_is_recalled_from_this_conversation(svc, dispatcher, domain):
    filed = [{"event": "slot", "name": "last_ticket_no", "value": "TS20261122000007", "timestamp": 0.3}]
    t = tracker(
        "投诉编号忘了，能用手机号查吗",
        "check_ticket_status",
        active_loop="status_form",
        events=[{"event": "slot", "name": "privacy_notice_version", "value": "1.0.0", "timestamp": 0.2}, *filed],
    )
    result = slot_events(await ValidateStatusForm().run(dispatcher, t, domain))
    assert result["lookup_ticket_id"] == "TS20261122000007"
    assert "TS20261122000007" in texts(dispatcher)[0]


async def test_a_forgotten_number_withdrawal_is_explained_with_a_way_on(svc, dispatcher, domain):
    """A withdrawal names its ticket: without the number, where to find it (no look-up by phone and name)."""
    t = tracker(
        "编号不记得了",
        "withdraw_complaint",
        slots={"requested_slot": "lookup_ticket_id", "status_purpose": "withdraw"},
        active_loop="status_form",
        events=[{"event": "slot", "name": "privacy_notice_version", "value": "1.0.0", "timestamp": 0.2}],
    )
    result = slot_events(await ValidateStatusForm().run(dispatcher, t, domain))
    assert result["lookup_ticket_id"] is None
    assert "受理成功时的回复" in texts(dispatcher)[0]
    assert dispatcher.messages[0]["buttons"] == [replies.HUMAN_BUTTON]


@pytest.mark.parametrize(
    ("text", "slots", "asked"),
    [
        ("那个投诉我想撤回", {"last_ticket_no": "TS20261122000007"}, "TS20261122000007"),  # filed in this session
        ("那个投诉我想撤回", {}, None),  # nothing filed in this session: the number is asked for
    ],
)
async def test_a_withdrawal_without_a_number_is_of_the_ticket_this_session_filed(
    svc, dispatcher, domain, text, slots, asked
):
    t = tracker(
        text,
        "withdraw_complaint",
        slots={"status_purpose": "withdraw", **slots},
        active_loop="status_form",
        events=[{"event": "slot", "name": "privacy_notice_version", "value": "1.0.0", "timestamp": 0.2}],
    )
    result = slot_events(await ValidateStatusForm().run(dispatcher, t, domain))
    assert result.get("lookup_ticket_id") == asked
    assert texts(dispatcher) == ([replies.withdrawing_the_filed_ticket(asked)] if asked else [])


def _wechat(t):
    t.events[-1]["input_channel"] = "wechat"
    return t


def _notice(svc, ticket_no, key, body, sent_at, status="sent"):
    with svc.tickets.db.transaction() as session:
        ticket_id = session.execute(select(Ticket.id).where(Ticket.ticket_no == ticket_no)).scalar_one()
        session.add(
            Notice(
                ticket_id=ticket_id,
                kind="extension",
                idempotency_key=key,
                body=body,
                status=status,
                created_at=sent_at,
                sent_at=sent_at if status == "sent" else None,
            )
        )


async def test_status_reads_out_the_latest_sent_notice_and_the_extended_deadline(svc, dispatcher, domain):
    ticket_no = file_ticket(svc)
    with svc.tickets.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(extension_days=30))
    _notice(svc, ticket_no, "ack", "已受理您的投诉", datetime(2026, 6, 1, 2, tzinfo=timezone.utc))
    _notice(svc, ticket_no, "ext", "因案情复杂，处理期限延长30日", datetime(2026, 6, 9, 17, tzinfo=timezone.utc))
    _notice(svc, ticket_no, "later", "尚未发出的通知", datetime(2026, 6, 12, 2, tzinfo=timezone.utc), status="pending")
    await check(dispatcher, domain, ticket_no, "13812345678")
    told = texts(dispatcher)[-1]
    assert "已延长30日" in told
    # The newest notice actually sent, dated in Shanghai time (17:00 UTC on the 9th is the 10th there).
    assert "6月10日" in told and "处理期限延长30日" in told
    assert "已受理您的投诉" not in told and "尚未发出" not in told


async def test_a_wechat_user_hears_their_own_tickets_without_typing_a_number(svc, dispatcher, domain):
    openid = "wx:oWx_user-0001"
    mine = svc.tickets.submit(draft(conversation_id=openid, channel="wechat"), "w:1").ticket_no
    svc.tickets.submit(draft(conversation_id="someone", channel="wechat"), "w:2")
    start = _wechat(
        tracker("我的投诉怎么样了", "check_ticket_status", sender=openid, slots={"status_purpose": "status"})
    )
    assert (
        await ValidateStatusForm().required_slots(["lookup_ticket_id", "lookup_phone"], dispatcher, start, domain) == []
    )
    events = await ActionCheckTicketStatus().run(dispatcher, start, domain)
    [told] = texts(dispatcher)
    assert mine in told and "受理" in told
    assert slot_events(events)["lookup_ticket_id"] is None
    # Nobody else's tickets, and the same sender id on another channel proves nothing: the number is asked.
    rest = tracker("我的投诉怎么样了", "check_ticket_status", sender=openid, slots={"status_purpose": "status"})
    assert await ValidateStatusForm().required_slots(["lookup_ticket_id", "lookup_phone"], dispatcher, rest, domain)
    stranger = _wechat(
        tracker("查进度", "check_ticket_status", sender="wx:oWx_other", slots={"status_purpose": "status"})
    )
    assert await ValidateStatusForm().required_slots(["lookup_ticket_id", "lookup_phone"], dispatcher, stranger, domain)
    # A withdrawal is verified with the phone number, on WeChat too.
    withdrawal = _wechat(tracker("撤回投诉", "withdraw_complaint", sender=openid, slots={"status_purpose": "withdraw"}))
    assert await ValidateStatusForm().required_slots(
        ["lookup_ticket_id", "lookup_phone"], dispatcher, withdrawal, domain
    )


# -- status without the number: phone and complainant name (issue 17) ------------------------------

NOTICE_SHOWN = {"event": "slot", "name": "privacy_notice_version", "value": "1.0.0", "timestamp": 0.2}


def file_for(svc, key, **fields) -> str:
    return svc.tickets.submit(draft(conversation_id=f"earlier-{key}", **fields), key).ticket_no


async def by_person(dispatcher, domain, phone, name, sender="visitor"):
    """The action once the form has the phone and the name of a look-up without the number."""
    slots = {"lookup_ticket_id": "forgotten", "lookup_phone": phone, "lookup_name": name, "status_purpose": "status"}
    return await ActionCheckTicketStatus().run(dispatcher, tracker("张三", slots=slots, sender=sender), domain)


def pick(ticket_no, listed, text=None):
    """Tapping a listed ticket's button (or typing `text`) after the list."""
    typed = text is not None
    entities = [
        {
            "entity": "ticket_id",
            "value": ticket_no,
            "extractor": "RegexEntityExtractor" if typed else "RegexMessageHandler",
        }
    ]
    t = tracker(
        text if typed else '/check_ticket_status{"ticket_id":"%s"}' % ticket_no,
        "check_ticket_status",
        slots={"lookup_ticket_id": ticket_no, "lookup_choices": listed, "status_purpose": "status"},
        entities=entities,
        active_loop="status_form",
        events=[NOTICE_SHOWN],
    )
    t.events.append({"event": "slot", "name": "lookup_ticket_id", "value": ticket_no, "timestamp": 2.0})  # the mapping
    return t


@pytest.mark.parametrize("text", ["编号不记得了", "不知道啊", "編號不記得了"])
async def test_a_forgotten_number_goes_on_with_the_phone_and_the_name(svc, dispatcher, domain, text):
    result = await validate_status(dispatcher, domain, text, {}, intent="skip", requested="lookup_ticket_id")
    assert result["lookup_ticket_id"] == "forgotten"
    assert texts(dispatcher) == [replies.LOOKUP_BY_PERSON]
    form, slots = ValidateStatusForm(), ["lookup_ticket_id", "lookup_phone", "lookup_name"]
    forgotten = tracker(slots={"lookup_ticket_id": "forgotten", "requested_slot": "lookup_phone"})
    assert await form.required_slots(slots, dispatcher, forgotten, domain) == slots
    numbered = tracker(slots={"lookup_ticket_id": "TS20261122000001", "requested_slot": "lookup_phone"})
    assert await form.required_slots(slots, dispatcher, numbered, domain) == ["lookup_ticket_id", "lookup_phone"]


@pytest.mark.parametrize(
    "text, intent, name",
    [
        ("张三", "greet", "张三"),
        ("我叫張三", "inform", "張三"),
        ("转人工", "request_human", None),
        ("好的", "affirm", None),
    ],
)
async def test_the_name_is_taken_from_the_answer_to_its_question_only(svc, dispatcher, domain, text, intent, name):
    asked = {"requested_slot": "lookup_name", "lookup_ticket_id": "forgotten", "lookup_phone": "13812345678"}
    t = tracker(text, intent, slots=asked, active_loop="status_form", events=[NOTICE_SHOWN])
    assert await ValidateStatusForm().extract_lookup_name(dispatcher, t, domain) == (
        {"lookup_name": name} if name else {}
    )
    payload = tracker('/inform{"lookup_name":"张三"}', slots=asked)
    assert ValidateStatusForm().validate_lookup_name("张三", dispatcher, payload, domain) == {"lookup_name": None}


async def test_one_open_ticket_is_answered_like_a_status_check_by_number(svc, dispatcher, domain):
    ticket_no = file_for(svc, "one")
    events = await by_person(dispatcher, domain, "13812345678", "张三")
    [told] = texts(dispatcher)
    assert told.startswith(f"投诉编号 {ticket_no} 当前状态：受理。")
    assert slot_events(events)["lookup_choices"] == [ticket_no]
    assert slot_events(events)["lookup_ticket_id"] is None and slot_events(events)["lookup_name"] is None


async def test_several_open_tickets_are_listed_and_one_is_picked_by_its_button(svc, dispatcher, domain):
    claims = file_for(svc, "a", category="claims")
    sales = file_for(svc, "b", category="sales")
    closed = file_for(svc, "c", category="surrender")
    svc.tickets.withdraw(closed, "bot:earlier-c")
    events = await by_person(dispatcher, domain, "13812345678", "张三")
    [listing] = dispatcher.messages
    assert f"1. {sales}｜销售纠纷｜当前状态：受理｜处理期限：" in listing["text"]
    assert f"2. {claims}｜理赔纠纷｜当前状态：受理｜处理期限：" in listing["text"]
    assert closed not in listing["text"]
    assert [b["payload"] for b in listing["buttons"]] == [
        f'/check_ticket_status{{"ticket_id":"{sales}"}}',
        f'/check_ticket_status{{"ticket_id":"{claims}"}}',
    ]
    listed = slot_events(events)["lookup_choices"]
    assert listed == [sales, claims]
    # The tap: no more questions, the picked ticket's status.
    tapped = pick(claims, listed)
    assert (
        await ValidateStatusForm().required_slots(["lookup_ticket_id", "lookup_phone"], dispatcher, tapped, domain)
        == []
    )
    dispatcher.messages.clear()
    await ActionCheckTicketStatus().run(dispatcher, tapped, domain)
    assert texts(dispatcher)[0].startswith(f"投诉编号 {claims} 当前状态：受理。")
    # Typing a listed number works the same.
    dispatcher.messages.clear()
    await ActionCheckTicketStatus().run(dispatcher, pick(sales, listed, text=f"查一下{sales}"), domain)
    assert texts(dispatcher)[0].startswith(f"投诉编号 {sales} 当前状态：受理。")


async def test_a_forged_pick_of_an_unlisted_ticket_is_not_answered(svc, dispatcher, domain):
    file_for(svc, "a")
    file_for(svc, "b")
    someone_else = file_for(svc, "x", complainant_name="李四", phone_number="13700000000")
    listed = slot_events(await by_person(dispatcher, domain, "13812345678", "张三"))["lookup_choices"]
    dispatcher.messages.clear()
    forged = pick(someone_else, listed)
    assert await ValidateStatusForm().required_slots(["lookup_ticket_id", "lookup_phone"], dispatcher, forged, domain)
    validated = slot_events(await ValidateStatusForm().run(dispatcher, forged, domain))
    assert validated["lookup_ticket_id"] is None  # asked for like any payload number
    # Even an action called with it answers nothing about that ticket.
    await ActionCheckTicketStatus().run(dispatcher, forged, domain)
    assert all(someone_else not in text and "当前状态" not in text for text in texts(dispatcher))
    # A withdrawal is verified by the phone, whatever was listed.
    withdrawal = pick(listed[0], listed)
    withdrawal.slots["status_purpose"] = "withdraw"
    assert await ValidateStatusForm().required_slots(
        ["lookup_ticket_id", "lookup_phone"], dispatcher, withdrawal, domain
    )


async def test_a_wrong_name_or_phone_is_answered_neutrally_until_the_same_lockout(svc, dispatcher, domain):
    file_for(svc, "one")
    wrong_name = await by_person(dispatcher, domain, "13812345678", "王五")
    await by_person(dispatcher, domain, "13900000000", "张三")
    first, second = texts(dispatcher)
    assert first.split("还可")[0] == second.split("还可")[0]
    assert "没有查询到与该手机号和姓名相符、正在处理中的投诉" in first and "还可尝试2次" in first
    # Asked again from the phone, still without the number.
    assert slot_events(wrong_name) == {"lookup_phone": None, "lookup_name": None, "requested_slot": None}
    assert {"event": "active_loop", "name": "status_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in wrong_name
    ]
    locked = await by_person(dispatcher, domain, "13812345678", "王五")
    assert "查询已暂停" in texts(dispatcher)[-1] and dispatcher.messages[-1]["buttons"] == [replies.HUMAN_BUTTON]
    assert slot_events(locked)["lookup_ticket_id"] is None and "lookup_choices" not in slot_events(locked)
    # The right phone and name are refused too once locked, like a number look-up.
    await by_person(dispatcher, domain, "13812345678", "张三")
    assert "查询已暂停" in texts(dispatcher)[-1] and "当前状态" not in texts(dispatcher)[-1]
    await check(dispatcher, domain, file_for(svc, "two"), "13812345678")
    assert "查询已暂停" in texts(dispatcher)[-1]


async def test_a_look_up_by_name_is_refused_without_valid_inputs(svc, dispatcher, domain):
    file_for(svc, "one")
    await by_person(dispatcher, domain, "13812345678", "12")
    assert texts(dispatcher) == [replies.WRITE_REFUSED]
