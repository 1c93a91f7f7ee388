"""The desk's HTTP API and its rules, against a real desk process and database.

Rasa is not running here (its URL points at a closed port): these tests cover
what the desk decides by itself. Talking to the policyholder is in tests/e2e.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bot.agents import Role
from bot.handoff import HandoffReason, HandoffService
from bot.tickets import TicketService
from tests.bot.desk.client import DeskClient
from tests.bot.desk.server import start_desk, stop_desk

ROUTES = [
    ("GET", "/api/queue"),
    ("GET", "/api/queue/stream"),
    ("GET", "/api/handoffs/1"),
    ("GET", "/api/handoffs/1/stream"),
    ("POST", "/api/handoffs/1/claim"),
    ("POST", "/api/handoffs/1/messages"),
    ("POST", "/api/handoffs/1/unclear"),
    ("POST", "/api/handoffs/1/handback"),
    ("POST", "/api/handoffs/1/close"),
    ("POST", "/api/handoffs/1/ticket"),
    ("POST", "/api/handoffs/1/ticket/changes"),
    ("POST", "/api/handoffs/1/ticket/notes"),
    ("POST", "/api/handoffs/1/ticket/phone"),
    ("GET", "/api/handoffs/1/whispers"),
    ("POST", "/api/handoffs/1/whispers"),
    ("POST", "/api/handoffs/1/takeover"),
    ("POST", "/api/handoffs/1/reassign"),
    ("GET", "/api/agents"),
    ("POST", "/api/review"),
    ("POST", "/logout"),
]


def test_without_login_every_route_is_refused_and_nothing_changes(desk):
    request_id = desk.handoff("conv-1")
    anonymous = DeskClient(desk.url)
    for method, path in ROUTES:
        response = anonymous.http.request(
            method, desk.url + path.replace("/1", f"/{request_id}"), timeout=10, allow_redirects=False
        )
        assert response.status_code == 401, path
        assert response.json() == {"error": "请先登录"}
    for page in ("/", f"/conversations/{request_id}"):
        assert anonymous.get(page).headers["Location"] == "/login"
    assert desk.db and desk.handoff("conv-1") == request_id  # still the same waiting request
    assert DeskClient(desk.url).get("/api/queue").status_code == 401


def test_a_forged_session_cookie_is_refused(desk):
    forged = DeskClient(desk.url)
    forged.http.cookies.set("desk_session", "x" * 43)
    assert forged.get("/api/queue").status_code == 401


def test_state_changes_need_the_csrf_token(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    refused = li.post(f"/api/handoffs/{request_id}/claim", csrf=False)
    assert refused.status_code == 403 and refused.json()["error"] == "页面已过期，请刷新后重试"
    li.csrf, wrong = "wrong-token", li.csrf
    assert li.post(f"/api/handoffs/{request_id}/claim").status_code == 403
    assert li.get("/api/queue").json()["waiting"][0]["id"] == request_id  # still waiting
    li.csrf = wrong
    assert li.post(f"/api/handoffs/{request_id}/claim").json()["url"] == f"/conversations/{request_id}"


def test_two_agents_clicking_at_once_exactly_one_gets_the_conversation(desk):
    li, wang = desk.agent("li"), desk.agent("wang")
    for round_no in range(3):
        request_id = desk.handoff(f"conv-{round_no}")
        with ThreadPoolExecutor(max_workers=2) as pool:
            claim = f"/api/handoffs/{request_id}/claim"
            responses = list(pool.map(lambda agent, path=claim: agent.post(path), [li, wang]))
        assert sorted(r.status_code for r in responses) == [200, 409]
        [loser] = [r for r in responses if r.status_code == 409]
        assert loser.json()["error"] in ("该会话已被 Li 接入", "该会话已被 Wang 接入")  # display names


def test_a_closed_conversation_cannot_be_claimed(desk):
    request_id = desk.handoff("conv-1")
    HandoffService(desk.db, desk.settings).release("conv-1", "bot")
    response = desk.agent("li").post(f"/api/handoffs/{request_id}/claim")
    assert response.status_code == 409 and response.json()["error"] == "该会话已结束，无法接入"


def test_agents_see_the_queue_and_their_own_work_supervisors_see_everything(desk):
    first, second = desk.handoff("conv-1"), desk.handoff("conv-2", HandoffReason.THREAT)
    li, wang, boss = desk.agent("li"), desk.agent("wang"), desk.agent("boss", Role.SUPERVISOR)
    waiting = li.get("/api/queue").json()["waiting"]
    assert [card["id"] for card in waiting] == [second, first]  # threats first
    assert waiting[0]["reason"] == "投诉升级（媒体/诉讼/监管）" and waiting[0]["threat"]
    li.post(f"/api/handoffs/{first}/claim")
    wang.post(f"/api/handoffs/{second}/claim")
    assert [card["id"] for card in li.get("/api/queue").json()["held"]] == [first]
    assert sorted(card["id"] for card in boss.get("/api/queue").json()["held"]) == [first, second]
    # Another agent's conversation: refused on the API and the page.
    assert wang.get(f"/api/handoffs/{first}").status_code == 403
    assert wang.post(f"/api/handoffs/{first}/messages", json={"text": "你好"}).status_code == 403
    page = wang.get(f"/conversations/{first}")
    assert page.status_code == 403 and "该会话由 Li 处理" in page.text
    assert boss.get(f"/api/handoffs/{first}").status_code == 200


def test_the_queue_shows_collected_fields_masked(desk):
    desk.handoff(
        "conv-1", slots={"complainant_name": "张三", "phone_number": "13812345678", "complaint_category": "claims"}
    )
    [card] = desk.agent("li").get("/api/queue").json()["waiting"]
    fields = {field["label"]: field["value"] for field in card["fields"]}
    assert fields == {"投诉人姓名": "张三", "联系电话": "138****5678", "投诉类别": "理赔纠纷"}


def test_agent_names_are_escaped_in_pages(desk):
    boss = desk.agent("boss", Role.SUPERVISOR, name="<script>alert(1)</script>")
    page = boss.get("/").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "script-src" not in boss.get("/").headers["Content-Security-Policy"]  # default-src 'self' only


def test_ticket_work_is_validated_and_audited(desk):
    request_id = desk.handoff("conv-1", slots={"phone_number": "13812345678"})
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    base = f"/api/handoffs/{request_id}/ticket"
    assert li.post(f"{base}/notes", json={"body": "x"}).json()["error"] == "该会话还没有工单，请先创建"
    bad = li.post(
        base,
        json={
            "category": "claims",
            "complainant_name": "张三",
            "phone_number": "12345",
            "description": "理赔申请一个月没有结果",
            "customer_request": "尽快赔付",
        },
    )
    assert bad.status_code == 400 and "手机号" in bad.json()["error"]
    ticket = li.post(
        base,
        json={
            "category": "claims",
            "complainant_name": "张三",
            "description": "理赔申请一个月没有结果",
            "customer_request": "尽快赔付",
        },
    ).json()
    assert ticket["phone_masked"] == "138****5678" and ticket["status"] == "accepted"
    assert ticket["assignee"] == "Li"  # whoever creates it owns it; the desk shows the display name
    assert li.post(base, json={"category": "claims"}).json()["error"] == "该会话已有工单"

    changed = li.post(f"{base}/changes", json={"status": "investigating", "sub_reason": "claim_timeliness"}).json()
    assert changed["status_label"] == "调查" and changed["sub_reason"] == "claim_timeliness"
    backwards = li.post(f"{base}/changes", json={"status": "accepted"})
    assert backwards.status_code == 400 and "状态不能这样变更" in backwards.json()["error"]
    assert li.post(f"{base}/changes", json={"category": "nonsense"}).status_code == 400

    noted = li.post(f"{base}/notes", json={"body": "<b>已致电客户</b>"}).json()
    assert noted["notes"][-1] == {**noted["notes"][-1], "author": "Li", "body": "<b>已致电客户</b>"}
    assert li.post(f"{base}/phone").json() == {"phone_number": "13812345678"}

    trail = TicketService(desk.db, desk.settings).get(ticket["ticket_no"])["events"]
    assert [(e["actor"], e["field"], e["old_value"], e["new_value"]) for e in trail][1:] == [
        ("li", "note", None, "由人工客服在转人工会话中创建"),
        ("li", "assignee", None, "li"),
        ("li", "status", "accepted", "investigating"),
        ("li", "sub_reason", None, "claim_timeliness"),
        ("li", "note", None, "<b>已致电客户</b>"),
        ("li", "phone_viewed", None, None),
    ]


@pytest.mark.parametrize(
    "body, error",
    [
        ({"text": ""}, "内容不能为空"),
        ({"text": "字" * 2001}, "内容过长，请控制在2000字以内"),
        ({"text": 42}, "提交的内容格式不正确"),
    ],
)
def test_bad_replies_get_a_clear_message(desk, body, error):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    response = li.post(f"/api/handoffs/{request_id}/messages", json=body)
    assert response.status_code == 400 and response.json()["error"] == error


def test_oversized_and_malformed_bodies_are_refused(desk):
    li = desk.agent("li")
    request_id = desk.handoff("conv-1")
    li.post(f"/api/handoffs/{request_id}/claim")
    too_big = li.http.post(
        f"{desk.url}/api/handoffs/{request_id}/messages",
        data="x" * 100_000,
        headers={"Content-Type": "application/json", "X-CSRF-Token": li.csrf},
        timeout=10,
    )
    assert too_big.status_code == 413
    broken = li.http.post(
        f"{desk.url}/api/handoffs/{request_id}/messages",
        data="{not json",
        headers={"Content-Type": "application/json", "X-CSRF-Token": li.csrf},
        timeout=10,
    )
    assert broken.status_code == 400


def test_when_rasa_is_down_a_reply_fails_visibly_and_the_agent_keeps_the_conversation(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    response = li.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好"})
    assert response.status_code == 502 and response.json()["error"] == "消息未能发送，请稍后重试"
    assert li.post(f"/api/handoffs/{request_id}/handback").status_code == 502
    assert li.get("/api/queue").json()["held"][0]["id"] == request_id


def test_repeated_wrong_passwords_lock_the_login_for_a_while(desk):
    desk.agent("li")
    client = DeskClient(desk.url)
    codes = [
        client.http.post(f"{desk.url}/login", data={"username": "li", "password": "nope"}, timeout=10).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    locked = client.http.post(f"{desk.url}/login", data={"username": "li", "password": "a-long-password"}, timeout=10)
    assert locked.status_code == 429 and "15分钟" in locked.text


def test_logout_ends_the_session(desk):
    li = desk.agent("li")
    assert li.post("/logout").status_code == 200
    assert li.get("/api/queue").status_code == 401


def test_a_desk_restart_loses_nothing(desk, tmp_path):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    stop_desk(desk)
    again = start_desk(tmp_path)
    try:
        li.url = again.url
        assert li.get("/api/queue").json()["held"][0]["id"] == request_id
    finally:
        stop_desk(again)


def test_a_conversation_left_idle_returns_to_the_queue(desk_factory):
    desk = desk_factory(AGENT_IDLE_MINUTES="0")
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    assert li.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    deadline = time.time() + 20
    while time.time() < deadline and not li.get("/api/queue").json()["waiting"]:
        time.sleep(0.5)
    assert [card["id"] for card in li.get("/api/queue").json()["waiting"]] == [request_id]


def test_undelivered_messages_are_shown_to_the_agent_holding_the_conversation(desk):
    from bot.channels.wechat.failures import record_delivery_failure

    request_id = desk.handoff("wx:openid-1")
    li, wang = desk.agent("li"), desk.agent("wang")
    li.post(f"/api/handoffs/{request_id}/claim")
    record_delivery_failure(desk.db, "wx:openid-1", "wechat", "45047", "超过48小时未互动，无法发送客服消息")
    record_delivery_failure(desk.db, "wx:someone-else", "wechat", "45015", "other")
    [failure] = li.get(f"/api/handoffs/{request_id}/failures").json()["failures"]
    assert failure["code"] == "45047" and "48小时" in failure["message"]
    assert wang.get(f"/api/handoffs/{request_id}/failures").status_code == 403


def test_every_route_but_the_public_ones_needs_a_login(desk):
    """Enumerates the app's routes, so a new one cannot be added without authentication."""
    from bot.desk.app import create_app
    from bot.desk.auth import PUBLIC_PATHS

    app = create_app(desk.settings, name="desk-route-census")
    checked = set()
    for route in app.router.routes:
        path = "/" + route.path
        if path.startswith(PUBLIC_PATHS) or path == "/login":
            continue
        concrete = re.sub(r"<[^>]+>", "1", path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            response = requests.request(method, desk.url + concrete, timeout=10, allow_redirects=False)
            if method == "GET" and not concrete.startswith("/api/"):
                assert response.status_code == 302 and response.headers["Location"] == "/login", concrete
            else:
                assert response.status_code == 401 and response.json() == {"error": "请先登录"}, (method, concrete)
            checked.add((method, concrete))
    assert {(method, path.replace("/1", "/1")) for method, path in ROUTES} <= checked
    assert ("GET", "/") in checked and ("GET", "/conversations/1") in checked


def test_a_csrf_token_or_cookie_that_is_not_utf8_is_refused_cleanly(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    response = li.http.post(
        f"{desk.url}/api/handoffs/{request_id}/claim", headers={"X-CSRF-Token": b"\xff\xfe\x80"}, timeout=10
    )
    assert response.status_code == 403 and response.json()["error"] == "页面已过期，请刷新后重试"
    response = requests.get(f"{desk.url}/api/queue", headers={"Cookie": b"desk_session=\xff\xfe\x80"}, timeout=10)
    assert response.status_code == 401 and response.json() == {"error": "请先登录"}


@pytest.mark.parametrize("request_id", ["99999999999999999999", "2147483648", "0", "-1", "1_0", "+1", "01"])
def test_handoff_ids_that_cannot_exist_are_not_found(desk, request_id):
    li = desk.agent("li")
    for method, path in [
        ("GET", f"/api/handoffs/{request_id}"),
        ("POST", f"/api/handoffs/{request_id}/claim"),
        ("GET", f"/api/handoffs/{request_id}/stream"),
        ("GET", f"/conversations/{request_id}"),
    ]:
        response = li.http.request(
            method, desk.url + path, headers={"X-CSRF-Token": li.csrf}, timeout=10, allow_redirects=False
        )
        assert response.status_code == 404 and response.json() == {"error": "页面不存在"}, (method, path)


def test_a_bad_stream_cursor_is_refused(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    for after in ("²", "1e3", "9" * 30, "--1"):
        response = li.get(f"/api/handoffs/{request_id}/stream", params={"after": after})
        assert response.status_code == 400 and response.json() == {"error": "请求参数无效"}, after


def test_text_that_cannot_be_stored_is_refused(desk):
    request_id = desk.handoff("conv-1")
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    ticket = {
        "category": "claims",
        "complainant_name": "张三",
        "phone_number": "13812345678",
        "description": "理赔申请一个月没有结果",
        "customer_request": "尽快赔付",
    }
    for body in ('{"text": "\\ud800"}', '{"text": "a\\u0000b"}'):
        response = li.http.post(
            f"{desk.url}/api/handoffs/{request_id}/messages",
            data=body,
            headers={"Content-Type": "application/json", "X-CSRF-Token": li.csrf},
            timeout=10,
        )
        assert response.status_code == 400 and response.json() == {"error": "内容包含无法识别的字符"}
    assert li.post(f"/api/handoffs/{request_id}/ticket", json=ticket).status_code == 200
    response = li.http.post(
        f"{desk.url}/api/handoffs/{request_id}/ticket/notes",
        data='{"body": "x\\udfff"}',
        headers={"Content-Type": "application/json", "X-CSRF-Token": li.csrf},
        timeout=10,
    )
    assert response.status_code == 400 and response.json() == {"error": "内容包含无法识别的字符"}


def test_a_login_form_in_an_odd_charset_is_refused_cleanly(desk):
    desk.agent("li")
    boundary = "x-boundary"
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset=unicode_escape\r\n\r\n{value}\r\n"
            for name, value in (("username", "li\\ud800"), ("password", "pw\\udfff-long-enough"))
        )
        + f"--{boundary}--\r\n"
    )
    response = requests.post(
        f"{desk.url}/login",
        data=body.encode(),
        timeout=10,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 401 and "用户名或密码错误" in response.text


@pytest.mark.parametrize("conversation_id", ["张三的会话", "a b", "what?", "tag#1", "100%", "../../x"])
def test_a_conversation_rasa_cannot_address_is_refused_loudly(desk, conversation_id):
    """Such ids were URL-quoted into another, new conversation while the desk answered ok."""
    request_id = desk.handoff(conversation_id)
    li = desk.agent("li")
    assert li.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    case = li.get(f"/api/handoffs/{request_id}").json()
    assert case["transcript"] == [] and "机器人接口无法识别的字符" in case["warning"]
    reply = li.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好"})
    assert reply.status_code == 422 and "无法读取记录或向用户发送消息" in reply.json()["error"]
    # Handing back cannot reach Rasa either: ended at the desk, and the agent is told so.
    ended = li.post(f"/api/handoffs/{request_id}/handback").json()
    assert ended["url"] == "/" and "无法通知用户" in ended["warning"]
    assert HandoffService(desk.db, desk.settings).get(request_id)["status"] == "released"
