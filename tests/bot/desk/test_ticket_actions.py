"""Working tickets through the desk API, against a real desk process: steps, concurrency, roles, deadlines."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.agents import Role
from bot.models import Notice
from bot.notice_routes.route import DeliveryError
from bot.notice_routes.wechat import NO_LINK
from bot.notice_sender import NoticeSender
from bot.satisfaction import RatingOutcome, record_rating
from tests.bot.desk.client import DeskClient
from tests.bot.desk.server import DeskServer
from tests.bot.notice_routes.wechat_account import CONVERSATION, SECRET_VARIABLE, write_credentials
from tests.bot.sample_tickets import submit
from tests.bot.scripted_routes import ScriptedRoute, failing

STALE = "工单已被他人修改，请刷新页面后重试"
HIDDEN = {"error": "工单不存在或您无权查看"}
# What leaving each step needs, by the status it moves to (bot/step_content.py).
CONTENT = {
    "processing": {"findings": "核实：理赔材料已于11月3日收齐，审核积压。"},
    "feedback": {"decision": "三日内完成赔付", "decision_basis": "保险合同第十二条", "outcome": "upheld"},
    "follow_up": {"result_notice": "您好，经核实……您如有异议可申请调解、仲裁或诉讼。"},
    "closed": {
        "follow_up_reached": True,
        "follow_up_satisfied": True,
        "follow_up_note": "客户表示满意",
        "root_cause_controllable": True,
        "root_cause_category": "service_timeliness",
        "improvement_action": "理赔审核设置超时提醒",
    },
}


def received(days_ago: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days_ago)


@pytest.fixture
def desk(ticket_desk: DeskServer) -> DeskServer:
    """Ticket actions on SQLite and PostgreSQL."""
    return ticket_desk


@pytest.fixture
def own(desk):
    """A ticket li owns, received two days ago."""
    return submit(desk.db, desk.settings, received(2), {"assignee": "li"})


def advance(client, number, target, version, **content):
    return client.post(f"/api/tickets/{number}/advance", json={"target": target, "version": version, **content})


def test_an_agent_works_its_ticket_to_closure_each_step_with_its_content(desk, own):
    li = desk.agent("li")
    ticket = advance(li, own, "investigating", 1).json()
    assert ticket["status"] == "investigating" and "phone_number" not in ticket
    for target, content in CONTENT.items():
        refused = advance(li, own, target, ticket["version"])
        assert refused.status_code == 400 and refused.json()["error"].startswith("请先填写："), target
        moved = advance(li, own, target, ticket["version"], **content)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == target and moved.json()["version"] > ticket["version"]
        assert "phone_number" not in moved.json()
        ticket = moved.json()
    assert ticket["status_label"] == "结案" and ticket["closed_at"].endswith("+00:00")
    assert ticket["outcome_label"] == "投诉成立" and ticket["improvement_action"] == "理赔审核设置超时提醒"
    changed = {(event["field"], event["new_value"]) for event in ticket["events"] if event["actor"] == "li"}
    assert ("status", "closed") in changed and ("findings", CONTENT["processing"]["findings"]) in changed


def test_a_change_made_meanwhile_is_not_overwritten(desk, own):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    version = advance(li, own, "investigating", 1).json()["version"]
    assert advance(boss, own, "processing", version, findings="主管先核实了").status_code == 200
    late = advance(li, own, "processing", version, findings="坐席的核实")
    assert (late.status_code, late.json()) == (409, {"error": STALE})
    assert li.get(f"/api/tickets/{own}").json()["findings"] == "主管先核实了"


def test_agents_change_only_their_own_tickets(desk, own):
    wang = desk.agent("wang")
    pool = submit(desk.db, desk.settings, received(1))
    # li's ticket: wang cannot tell it exists.
    response = advance(wang, own, "investigating", 1, findings="x")
    assert (response.status_code, response.json()) == (404, HIDDEN)
    # The unassigned pool: visible, but claimed before it is worked.
    response = advance(wang, pool, "investigating", 1, findings="x")
    assert (response.status_code, response.json()) == (403, {"error": "请先认领该工单"})
    # A note needs no ownership.
    noted = wang.post(f"/api/tickets/{pool}/notes", json={"body": "已电话联系，未接通"})
    assert noted.status_code == 200 and noted.json()["notes"][-1]["body"] == "已电话联系，未接通"
    supervisors_only = (
        ("reopen", {"reason": "复核", "version": 1}),
        ("extension/approve", {"version": 1}),
        ("extension/reject", {"reason": "理由不足", "version": 1}),
    )
    for path, body in supervisors_only:
        response = wang.post(f"/api/tickets/{pool}/{path}", json=body)
        assert (response.status_code, response.json()) == (403, {"error": "仅主管可以执行该操作"}), path


def test_changes_need_the_csrf_token(desk, own):
    li = desk.agent("li")
    response = li.post(
        f"/api/tickets/{own}/advance", json={"target": "investigating", "version": 1, "findings": "x"}, csrf=False
    )
    assert response.status_code == 403 and response.json() == {"error": "页面已过期，请刷新后重试"}
    assert li.get(f"/api/tickets/{own}").json()["status"] == "accepted"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"target": "investigating", "findings": "x"}, "缺少工单版本，请刷新页面后重试"),
        ({"target": "investigating", "version": "one", "findings": "x"}, "工单版本必须是整数"),
        ({"target": "nowhere", "version": 1}, "目标环节无效"),
        ({"target": "investigating", "version": 1, "findings": "长" * 5001}, "核实情况过长，请控制在5000字以内"),
        ({"target": "investigating", "version": 1, "findings": 42}, "核实情况应为文字"),
        ({"target": "investigating", "version": 1, "findings": "a\u0000b"}, "核实情况包含无法识别的字符"),
        ({"target": "closed", "version": 1, "root_cause_category": "bad luck"}, "请选择有效的根因分类"),
    ],
)
def test_wrong_step_content_is_refused_in_chinese(desk, own, body, message):
    response = desk.agent("li").post(f"/api/tickets/{own}/advance", json=body)
    assert response.status_code == 400 and response.json() == {"error": message}


def test_withdrawal_and_a_supervisors_reopening(desk, own):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    withdrawn = li.post(f"/api/tickets/{own}/withdraw", json={"reason": "客户来电撤诉", "version": 1}).json()
    assert withdrawn["status"] == "closed" and withdrawn["withdrawn_at"]
    assert li.post(f"/api/tickets/{own}/reopen", json={"reason": "x", "version": 2}).status_code == 403
    missing = boss.post(f"/api/tickets/{own}/reopen", json={"version": withdrawn["version"]})
    assert missing.status_code == 400 and missing.json() == {"error": "重新打开原因不能为空"}
    reopened = boss.post(f"/api/tickets/{own}/reopen", json={"reason": "客户再次来电", "version": withdrawn["version"]})
    assert reopened.json()["status"] == "investigating" and reopened.json()["reopened_count"] == 1


def test_complex_case_extension_requested_by_the_agent_approved_by_a_supervisor(desk, own):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    ticket = li.get(f"/api/tickets/{own}").json()
    base = date.fromisoformat(ticket["deadline"])
    early = li.post(f"/api/tickets/{own}/extension", json={"days": 10, "reason": "需调取病历", "version": 1})
    assert early.status_code == 400 and "复杂" in early.json()["error"]
    ticket = li.post(f"/api/tickets/{own}/complex", json={"reason": "涉及多家医院", "version": 1}).json()
    assert ticket["is_complex"] and date.fromisoformat(ticket["deadline"]) == base + timedelta(days=15)
    too_long = li.post(f"/api/tickets/{own}/extension", json={"days": 31, "reason": "x", "version": ticket["version"]})
    assert too_long.status_code == 400 and too_long.json() == {"error": "延长天数应在1到30之间"}
    ticket = li.post(
        f"/api/tickets/{own}/extension", json={"days": 10, "reason": "需调取病历", "version": ticket["version"]}
    ).json()
    assert ticket["extension_requested_days"] == 10 and ticket["extension_approved_by"] is None
    ticket = boss.post(f"/api/tickets/{own}/extension/approve", json={"version": ticket["version"]}).json()
    assert ticket["extension_approved_by"] == "boss" and ticket["extension_days"] == 10
    assert date.fromisoformat(ticket["deadline"]) == base + timedelta(days=25)
    [owed] = ticket["notices"]  # the complainant must be told (queued for the notice sender)
    assert owed["detail"] == "需调取病历" and owed["status"] == "pending" and owed["sent_at"] is None
    assert owed["kind_label"] == "处理期限延长" and owed["status_label"] == "待发送" and "需调取病历" in owed["body"]


def test_the_ticket_shows_each_notice_with_every_delivery_attempt(desk, own):
    li = desk.agent("li")
    ticket = advance(li, own, "investigating", 1).json()
    for target, content in list(CONTENT.items())[:3]:
        ticket = advance(li, own, target, ticket["version"], **content).json()
    # One pass of the sender: the chat route fails once (a stand-in, tests/bot/scripted_routes.py).
    chat = ScriptedRoute("chat", failing(1))
    assert asyncio.run(NoticeSender(desk.db, desk.settings, {"chat": chat}).run_once()).retrying == 1
    shown = li.get(f"/api/tickets/{own}").json()
    assert shown["sms_unavailable"] == "未配置短信服务（阿里云短信）"  # no SMS keys in this desk: visible, not silent
    [result] = shown["notices"]
    assert result["kind"] == "result" and result["kind_label"] == "处理结果告知" and result["asks_rating"] is True
    assert result["status_label"] == "待发送" and result["attempts"] == 1 and "12378" in result["body"]
    assert result["next_attempt_at"].endswith("+00:00")
    [attempt] = result["delivery_attempts"]
    assert (attempt["route_label"], attempt["outcome_label"], attempt["code"]) == ("对话消息", "失败", "timeout")
    assert attempt["detail"] == "服务暂时不可用" and attempt["at"].endswith("+00:00")


def test_a_notice_that_may_have_reached_the_complainant_is_shown_as_uncertain(desk, own):
    li = desk.agent("li")
    ticket = advance(li, own, "investigating", 1).json()
    for target, content in list(CONTENT.items())[:3]:
        ticket = advance(li, own, target, ticket["version"], **content).json()
    # A route that cannot tell whether it delivered (WeChat, SMS) timed out after sending; SMS is off here.
    maybe = ScriptedRoute("chat", [DeliveryError("timeout", "等待应答超时", uncertain=True)], deduplicates=False)
    assert asyncio.run(NoticeSender(desk.db, desk.settings, {"chat": maybe}).run_once()).uncertain == 1
    [result] = li.get(f"/api/tickets/{own}").json()["notices"]
    assert result["status"] == "uncertain" and result["status_label"] == "送达状态不明（请核实投诉人是否已收到）"
    assert [(a["route_label"], a["outcome_label"]) for a in result["delivery_attempts"]] == [
        ("对话消息", "送达状态不明"),
        ("短信", "不可用"),
    ]
    assert "不再经此渠道发送" in result["delivery_attempts"][0]["detail"]


@pytest.mark.parametrize("chat_page", ["", "https://kf.example.com/webhooks/web/"])
def test_a_wechat_ticket_says_when_template_messages_cannot_link_to_the_chat_page(desk_factory, tmp_path, chat_page):
    credentials = write_credentials(tmp_path, "http://127.0.0.1:9")  # never called: the desk only reads it
    desk = desk_factory(
        WECHAT_CREDENTIALS_FILE=str(credentials),
        WECHAT_TEMPLATE_ID="TPL-desk-0001",
        CHAT_PAGE_URL=chat_page,
        **{SECRET_VARIABLE: "desk-test-secret"},
    )
    follower = submit(
        desk.db, desk.settings, received(2), {"assignee": "li"}, channel="wechat", conversation_id=CONVERSATION
    )
    web = submit(desk.db, desk.settings, received(2), {"assignee": "li"}, channel="socketio")
    li = desk.agent("li")
    shown = li.get(f"/api/tickets/{follower}").json()["wechat_without_link"]
    if chat_page:
        assert shown is None
    else:
        assert shown == NO_LINK and "CHAT_PAGE_URL" in shown
    assert li.get(f"/api/tickets/{web}").json()["wechat_without_link"] is None  # not a WeChat complainant


def test_a_supervisor_rejects_an_extension_request_with_a_reason(desk, own):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    ticket = li.post(f"/api/tickets/{own}/complex", json={"reason": "涉及多家医院", "version": 1}).json()
    deadline = ticket["deadline"]
    ticket = li.post(
        f"/api/tickets/{own}/extension", json={"days": 10, "reason": "需调取病历", "version": ticket["version"]}
    ).json()
    no_reason = boss.post(f"/api/tickets/{own}/extension/reject", json={"version": ticket["version"]})
    assert no_reason.status_code == 400 and "驳回理由" in no_reason.json()["error"]
    rejected = boss.post(
        f"/api/tickets/{own}/extension/reject", json={"reason": "病历可在期限内调取", "version": ticket["version"]}
    ).json()
    assert rejected["extension_requested_days"] is None and rejected["extension_days"] == 0
    assert rejected["deadline"] == deadline and rejected["notices"] == []
    again = boss.post(f"/api/tickets/{own}/extension/reject", json={"reason": "x", "version": rejected["version"]})
    assert again.status_code == 400 and again.json() == {"error": "没有待审批的延期申请"}


def test_an_appraisal_pause_stops_the_clock(desk, own):
    li = desk.agent("li")
    paused = li.post(f"/api/tickets/{own}/pauses", json={"kind": "appraisal", "note": "伤残鉴定", "version": 1}).json()
    assert paused["paused"] and paused["days_left"] is None and paused["paused_since"].endswith("+00:00")
    [pause] = paused["pauses"]
    assert (pause["kind_label"], pause["note"], pause["ended_at"]) == ("鉴定", "伤残鉴定", None)
    bad = li.post(f"/api/tickets/{own}/pauses", json={"kind": "holiday", "note": "x", "version": paused["version"]})
    assert bad.status_code == 400 and bad.json() == {"error": "暂停事由无效"}
    resumed = li.post(f"/api/tickets/{own}/pauses/end", json={"version": paused["version"]}).json()
    assert not resumed["paused"] and resumed["days_left"] is not None


def test_the_phone_number_is_revealed_only_with_an_audit_entry(desk, own):
    li = desk.agent("li")
    assert li.get(f"/api/tickets/{own}").json()["phone_masked"] == "138****5678"
    assert li.post(f"/api/tickets/{own}/phone").json() == {"phone_number": "13812345678"}
    assert any(event["field"] == "phone_viewed" for event in li.get(f"/api/tickets/{own}").json()["events"])


def test_two_agents_claiming_at_once_exactly_one_owns_the_ticket(desk):
    li, wang = desk.agent("li"), desk.agent("wang")
    for _ in range(3):
        pool = submit(desk.db, desk.settings, received(1))
        with ThreadPoolExecutor(max_workers=2) as threads:
            answers = list(threads.map(lambda agent, n=pool: agent.post(f"/api/tickets/{n}/claim"), [li, wang]))
        [winner] = [answer.json() for answer in answers if answer.status_code == 200]
        [loser] = [answer for answer in answers if answer.status_code != 200]
        # Lost the race inside the claim (409, who has it), or the ticket had already left the loser's sight (404).
        assert (loser.status_code, loser.json()) in (
            (409, {"error": f"该工单已由 {winner['assignee']} 负责"}),
            (404, HIDDEN),
        )
        other = wang if winner["assignee"] == "li" else li
        assert other.get(f"/api/tickets/{pool}").status_code == 404  # no longer in the other's sight


def test_a_supervisor_assigns_with_a_reason_never_to_the_person_complained_about(desk, own):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    desk.agent("wang")
    ticket = li.post(f"/api/tickets/{own}/subject-staff", json={"subject_staff": "wang", "version": 1}).json()
    assert ticket["subject_staff"] == "wang"
    refused = boss.post(
        f"/api/tickets/{own}/assign", json={"assignee": "wang", "reason": "li 休假", "version": ticket["version"]}
    )
    assert refused.status_code == 400 and refused.json() == {"error": "该人员是本工单的被投诉人，需回避，不能分派给他"}
    no_reason = boss.post(f"/api/tickets/{own}/assign", json={"assignee": "zhou", "version": ticket["version"]})
    assert no_reason.status_code == 400 and no_reason.json() == {"error": "分派原因不能为空"}
    desk.agent("zhou")
    moved = boss.post(
        f"/api/tickets/{own}/assign", json={"assignee": "zhou", "reason": "li 休假", "version": ticket["version"]}
    )
    assert moved.status_code == 200 and moved.json()["assignee"] == "zhou"
    assert li.get(f"/api/tickets/{own}").status_code == 404
    taken_back = li.post(f"/api/tickets/{own}/assign", json={"assignee": "li", "reason": "x", "version": 9})
    assert (taken_back.status_code, taken_back.json()) == (404, HIDDEN)


def test_callback_attempts_then_the_call_reveals_a_complaint(desk):
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    callback = submit(desk.db, desk.settings, received(1), {"assignee": "li"}, kind="callback")
    version = 1
    for _ in range(desk.settings.callback_max_failed_attempts):
        answer = li.post(
            f"/api/tickets/{callback}/call-attempts", json={"outcome": "no_answer", "note": "", "version": version}
        )
        assert answer.status_code == 200, answer.text
        version = answer.json()["version"]
    ticket = answer.json()
    assert [a["outcome_label"] for a in ticket["call_attempts"]] == ["无人接听"] * 3 and ticket["unreachable_at"]
    [alert] = boss.get("/api/alerts").json()["alerts"]
    assert alert["kind"] == "unreachable" and alert["ticket_no"] == callback
    wrong = li.post(f"/api/tickets/{callback}/call-attempts", json={"outcome": "busy", "version": version})
    assert wrong.status_code == 400 and wrong.json() == {"error": "回电结果无效"}
    no_category = li.post(f"/api/tickets/{callback}/convert", json={"version": version})
    assert no_category.status_code == 400 and no_category.json() == {"error": "投诉类别不能为空"}
    converted = li.post(f"/api/tickets/{callback}/convert", json={"category": "claims", "version": version}).json()
    complaint = converted["ticket_no"]
    assert converted == {"ticket_no": complaint, "url": f"/tickets/{complaint}"}
    new = li.get(f"/api/tickets/{complaint}").json()
    assert new["kind"] == "complaint" and new["assignee"] == "li" and new["linked_from"] == [callback]
    old = li.get(f"/api/tickets/{callback}").json()
    assert old["status"] == "closed" and old["linked_ticket_no"] == complaint


def test_step_content_is_saved_as_a_draft_without_moving_on(desk, own):
    li = desk.agent("li")
    ticket = advance(li, own, "investigating", 1).json()
    empty = li.post(f"/api/tickets/{own}/content", json={"version": ticket["version"]})
    assert empty.status_code == 400 and empty.json() == {"error": "没有需要保存的内容"}
    draft = li.post(f"/api/tickets/{own}/content", json={"findings": "初步核实中", "version": ticket["version"]})
    assert draft.status_code == 200 and draft.json()["status"] == "investigating"
    assert draft.json()["findings"] == "初步核实中"
    moved = advance(li, own, "processing", draft.json()["version"])  # the draft is the step's content
    assert moved.status_code == 200 and moved.json()["status"] == "processing"


def test_in_follow_up_the_owner_sends_the_follow_up_question_once_at_a_time(desk, own):
    li, wang, boss = desk.agent("li"), desk.agent("wang"), desk.agent("boss", Role.SUPERVISOR)
    path = f"/api/tickets/{own}/follow-up-question"
    ticket = advance(li, own, "investigating", 1).json()
    early = li.post(path, json={"version": ticket["version"]})
    assert (early.status_code, early.json()) == (400, {"error": "工单当前处于调查环节，只有跟进环节可以发送回访问题"})
    for target, content in list(CONTENT.items())[:3]:
        ticket = advance(li, own, target, ticket["version"], **content).json()
    assert ticket["status"] == "follow_up" and ticket["follow_up_refusal"] is None
    # A login, the CSRF token and the ticket's ownership, as for every step action.
    assert DeskClient(desk.url).post(path, json={"version": ticket["version"]}).status_code == 401
    forged = li.post(path, json={"version": ticket["version"]}, csrf=False)
    assert (forged.status_code, forged.json()) == (403, {"error": "页面已过期，请刷新后重试"})
    assert wang.post(path, json={"version": ticket["version"]}).json() == HIDDEN  # not wang's: not even shown
    pool = submit(desk.db, desk.settings, received(1), {"status": "follow_up"})
    unclaimed = wang.post(f"/api/tickets/{pool}/follow-up-question", json={"version": 1})
    assert (unclaimed.status_code, unclaimed.json()) == (403, {"error": "请先认领该工单"})
    sent = li.post(path, json={"version": ticket["version"]})
    assert sent.status_code == 200, sent.text
    asked = sent.json()
    assert asked["version"] == ticket["version"] + 1
    assert [(n["kind"], n["kind_label"], n["status_label"], n["asks_rating"]) for n in asked["notices"]] == [
        ("result", "处理结果告知", "待发送", True),
        ("follow_up", "回访", "待发送", True),
    ]
    assert asked["follow_up_refusal"] == "回访问题已在发送中"
    assert any(e["field_label"] == "回访问题" and e["actor"] == "li" for e in asked["events"])
    again = boss.post(path, json={"version": asked["version"]})
    assert (again.status_code, again.json()) == (400, {"error": "回访问题已在发送中"})
    stale = li.post(path, json={"version": ticket["version"]})
    assert stale.status_code == 409 and len(li.get(f"/api/tickets/{own}").json()["notices"]) == 2
    # The complainant answers it (bot/satisfaction.py): the page shows the rating, and asks no more.
    with desk.db.transaction() as session:
        key = session.execute(select(Notice.idempotency_key).where(Notice.kind == "follow_up")).scalar_one()
    rated = record_rating(desk.db, conversation_id="conv-1", rating="satisfied", notice_key=key, now=received(0))
    assert rated.outcome is RatingOutcome.RECORDED
    shown = li.get(f"/api/tickets/{own}").json()
    assert shown["satisfaction"] == "satisfied" and shown["satisfaction_label"] == "满意"
    assert shown["follow_up_refusal"] == "投诉人已对本次处理作出评价（满意），无需再发送回访问题"
    assert any(e["field_label"] == "投诉人评价" and e["new_value"] == "satisfied" for e in shown["events"])


@pytest.mark.parametrize("chat_page", ["", "https://kf.example.com/webhooks/web/"])
def test_the_ticket_says_when_sms_notices_carry_no_link(desk_factory, chat_page):
    sms = {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tDeskTest",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "desk-test-secret",
        "ALIBABA_SMS_SIGN_NAME": "某某保险",
        "ALIBABA_SMS_TEMPLATE_CODE": "SMS_480000003",
        "ALIBABA_SMS_TEMPLATE_FIELDS": "ticket_no=ticket_no,link=chat_token",
    }
    desk = desk_factory(**sms, CHAT_PAGE_URL=chat_page)
    number = submit(desk.db, desk.settings, received(2), {"assignee": "li"})
    shown = desk.agent("li").get(f"/api/tickets/{number}").json()
    assert shown["sms_unavailable"] is None
    if chat_page:
        assert shown["sms_without_link"] is None
    else:
        assert "CHAT_PAGE_URL" in shown["sms_without_link"]  # such a complainant cannot read it all nor rate it
