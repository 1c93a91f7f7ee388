"""The policyholder chat page in headless Chromium against the real servers.

The Rasa server runs with the project's credentials.yml (plus one embedding
origin for the iframe test); the page is the one `make run` serves.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator, List, Tuple

import pytest
import requests
import websockets
import yaml
from playwright.sync_api import expect
from rasa.shared.core.events import BotUttered

from bot import materials
from bot.agents import AgentAccount, AgentService, Role
from bot.channels import FAILED_TURN_TEXT
from bot.channels.rate_limit import RATE_LIMITED_TEXT
from bot.channels.web import (
    ASSETS,
    SENDER_PREFIX,
    WebChatInput,
    bot_payload,
    bot_payloads,
    client_metadata,
    history,
    parse_session_id,
)
from bot.handoff import HandoffService
from bot.launch.ports import free_port
from bot.settings import PROJECT_ROOT
from bot.tickets import TicketService
from tests.assistant import TOKEN, Assistant, running_assistant
from tests.e2e.browser import DESKTOP, PHONE, save_screenshot
from tests.e2e.chat_page import assert_no_duplicates, click, open_chat, say, session_of, shown, wait_ready
from tests.e2e.loopback import client_at, fresh_address

CHANNEL_KEY = "bot.channels.web.WebChatInput"
AGENT = {"id": 3, "name": "王小明"}


# --- the channel's pure parts ---------------------------------------------------------


def test_only_a_uuid4_is_a_session_id():
    canonical = "0f8fad5b-d9cb-469f-a165-70867728950e"
    # Dashed or stock Rasa's uuid4().hex, any case: one conversation.
    for spelling in [canonical, canonical.upper(), canonical.replace("-", ""), canonical.replace("-", "").upper()]:
        assert parse_session_id(spelling) == canonical
    for bad in [
        None,
        42,
        "",
        "me",
        "0f8fad5b-d9cb-169f-a165-70867728950e",  # version 1
        "0f8fad5b-d9cb-469f-a165-70867728950e ",
        "0f8fad5bd9cb169fa16570867728950e",  # version 1, hex
        "0f8fad5bd9cb469fa16570867728950",  # 31 digits
        "0f8fad5bd9cb469fa16570867728950g",
        "../0f8fad5b-d9cb-469f-a165-70867728950",
        {"session_id": "x"},
    ]:
        assert parse_session_id(bad) is None


def test_a_message_has_the_same_id_live_and_read_back_from_the_tracker():
    event = BotUttered(
        "您好\n\n请问有什么可以帮您？",
        data={"buttons": [{"title": "我要投诉", "payload": "/complain"}]},
        metadata={"agent": AGENT},
    )
    live = bot_payload(event.message())
    # The tracker store keeps events as JSON.
    [stored] = history([json.loads(json.dumps(event.as_dict()))])
    assert stored == live
    # Rasa's shape at the top (what rasa-webchat renders), the channel's extras in metadata.
    assert set(live) == {"text", "quick_replies", "metadata"}
    assert live["metadata"]["sender"] == "agent" and live["metadata"]["agent"] == {"name": "王小明"}
    assert live["quick_replies"] == [{"content_type": "text", "title": "我要投诉", "payload": "/complain"}]
    other = bot_payload(BotUttered("您好\n\n请问有什么可以帮您？").message())
    assert set(other) == {"text", "metadata"}
    assert other["metadata"]["id"] != live["metadata"]["id"] and other["metadata"]["sender"] == "bot"
    assert "agent" not in other["metadata"]


def test_attachments_and_custom_payloads_follow_as_messages_of_their_own():
    event = BotUttered(
        "请看示意图", data={"image": "https://example.com/a.png", "custom": {"x": 1}}, metadata={"notice": True}
    )
    text, image, custom = bot_payloads(event.message())
    assert {k: v for k, v in text.items() if k != "metadata"} == {"text": "请看示意图"}
    assert image["attachment"] == {"type": "image", "payload": {"src": "https://example.com/a.png"}}
    assert custom["custom"] == {"x": 1} and set(custom) == {"custom", "metadata"}
    assert len({m["metadata"]["id"] for m in (text, image, custom)}) == 3
    assert all(m["metadata"]["notice"] is True for m in (text, image, custom))
    assert bot_payloads(BotUttered(None, data={"custom": {"x": "y" * 20_000}}).message()) == []


def test_client_metadata_is_bounded_and_never_supplies_the_projects_keys():
    assert client_metadata(None) == {}
    assert client_metadata(
        {"language": "zh", "Client_Address": "1.2.3.4", "button_title": "x", "page": {"a": [1]}}
    ) == {
        "language": "zh",
        "page": {"a": [1]},
    }
    for bad in [
        "text",
        [1],
        {"a": {"b": {"c": {"d": 1}}}},
        {"a": "x" * 1001},
        {"k" * 65: 1},
        {str(i): "x" * 200 for i in range(30)},
    ]:
        assert client_metadata(bad) is None
    assert client_metadata({"a": float("nan")}) is None


def test_cors_origins_add_to_the_pages_own_origin():
    channel = WebChatInput.from_credentials({"cors_allowed_origins": ["https://www.insurer.example"]})
    own = {"wsgi.url_scheme": "https", "HTTP_HOST": "chat.example"}
    assert channel.origin_allowed("https://www.insurer.example", own)
    assert channel.origin_allowed("https://chat.example", own)
    behind_proxy = {
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "10.0.0.5:5005",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "chat.example",
    }
    assert channel.origin_allowed("https://chat.example", behind_proxy)
    assert not channel.origin_allowed("https://evil.example", own)
    for bad in [["https://a.example; x"], ["'self'"], [3]]:
        with pytest.raises(ValueError):
            WebChatInput.from_credentials({"cors_allowed_origins": bad})
    # origin_allowed compares exactly, so a wildcard inside a host would never match: refused at start.
    for wildcard in ["https://*.insurer.example", "https://www.insurer.example:*", "http*://a.example"]:
        with pytest.raises(ValueError, match="wildcards inside a host"):
            WebChatInput.from_credentials({"cors_allowed_origins": [wildcard]})
    assert WebChatInput.from_credentials({"cors_allowed_origins": ["*"]}).origin_allowed("https://any.example", own)
    for path in ["socket.io", "/a b", ""]:
        with pytest.raises(ValueError):
            WebChatInput.from_credentials({"socketio_path": path})
    assert WebChatInput.from_credentials({"socketio_path": "/socket.io"}).socketio_path == "/socket.io"


def test_the_metadata_key_is_rasas_option_and_must_be_a_plain_name():
    assert WebChatInput.from_credentials(None).metadata_key == "customData"
    assert WebChatInput.from_credentials({"metadata_key": "metadata"}).metadata_key == "metadata"
    for bad in ["", "custom data", "a.b", "x" * 65, 3, None, "数据"]:
        with pytest.raises(ValueError, match="metadata_key"):
            WebChatInput.from_credentials({"metadata_key": bad})


def test_history_shows_button_titles_skips_other_events_and_is_bounded():
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {
            "event": "user",
            "text": '/inform{"complaint_category":"sales"}',
            "timestamp": 2.0,
            "message_id": "m1",
            "metadata": {"button_title": "销售纠纷"},
        },
        {"event": "bot", "text": "请提供保单号", "timestamp": 3.0, "data": {}, "metadata": {}},
        {"event": "bot", "text": None, "timestamp": 4.0, "data": {"elements": [{"x": 1}]}, "metadata": {}},
        {"event": "user", "text": "跳过", "timestamp": 5.0, "message_id": "m2", "metadata": {}},
    ]
    messages = history(events)
    assert [(m["metadata"]["sender"], m["text"]) for m in messages] == [
        ("user", "销售纠纷"),
        ("bot", "请提供保单号"),
        ("user", "跳过"),
    ]
    assert [m["metadata"]["id"] for m in messages][::2] == ["m1", "m2"]
    assert [m["text"] for m in history(events, limit=1)] == ["跳过"]


def test_embedding_origins_cannot_inject_into_the_policy_header():
    assert WebChatInput.from_credentials(None).frame_ancestors == "'self'"
    allowed = WebChatInput.from_credentials({"frame_ancestors": ["'self'", "https://www.insurer.example"]})
    assert allowed.frame_ancestors == "'self' https://www.insurer.example"
    for bad in ["https://a.example; script-src *", "javascript:alert(1)", "https://a.example\r\nX: y"]:
        with pytest.raises(ValueError):
            WebChatInput.from_credentials({"frame_ancestors": [bad]})


def test_a_redis_url_shares_sockets_between_servers():
    from socketio import AsyncRedisManager

    # Constructing the manager does not connect; no Redis server is needed here.
    shared = WebChatInput.from_credentials({"redis_url": "redis://127.0.0.1:6379/0"}).create_server()
    assert isinstance(shared.manager, AsyncRedisManager)
    assert not isinstance(WebChatInput.from_credentials({}).create_server().manager, AsyncRedisManager)


# --- the real servers -------------------------------------------------------------------


class Proxy:
    """A TCP relay between the browser and Rasa that can drop every connection,
    like a phone losing its network."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.open: List[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop(self) -> None:
        self.refusing = True
        with self.lock:
            sockets, self.open = self.open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self.drop()
        self.listener.close()


@dataclass
class WebChat:
    assistant: Assistant
    embedding_port: int

    @property
    def page_url(self) -> str:
        return f"{self.assistant.url}/webhooks/web/"

    def post_agent_message(self, conversation_id: str, text: str) -> None:
        """What the agent desk does (contract in bot/desk): a bot event with the agent."""
        response = requests.post(
            f"{self.assistant.url}/conversations/{conversation_id}/tracker/events",
            params={"token": TOKEN, "execute_side_effects": "true", "output_channel": "latest"},
            json={"event": "bot", "text": text, "metadata": {"agent": AGENT}},
            timeout=60,
        )
        response.raise_for_status()


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> Iterator[WebChat]:
    missing = [str(path.relative_to(PROJECT_ROOT)) for path, _ in ASSETS.values() if not path.exists()]
    if missing:
        pytest.fail(f"web chat assets missing ({', '.join(missing)}): run `npm ci` in web/")
    var = tmp_path_factory.mktemp("web-chat-var")
    embedding_port = free_port()
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert CHANNEL_KEY in credentials, "credentials.yml must enable the web channel"
    channel = dict(credentials[CHANNEL_KEY] or {})
    channel["frame_ancestors"] = list(channel.get("frame_ancestors") or ["'self'"]) + [
        f"http://localhost:{embedding_port}"
    ]
    credentials[CHANNEL_KEY] = channel
    path = var / "credentials.yml"
    path.write_text(yaml.safe_dump(credentials, allow_unicode=True), encoding="utf-8")
    with running_assistant(var, path) as assistant:
        yield WebChat(assistant, embedding_port)


@pytest.fixture
def agent_online(web) -> Iterator[AgentAccount]:
    """An agent at the desk (as the desk marks one while it is open), so that
    转人工 queues the conversation instead of offering a 留言."""
    agents = AgentService(web.assistant.db)
    account = agents.add(f"web-{uuid.uuid4().hex[:8]}", AGENT["name"], "a-long-password", Role.AGENT)
    agents.seen(account.id)
    yield account
    agents.deactivate(account.username)


def test_complaint_from_greeting_to_ticket(web, chromium):
    page = open_chat(chromium, web.page_url, DESKTOP)
    greeting = "\n".join(say(page, "你好"))
    assert "投诉" in greeting
    expect(page.locator(".quick-replies:not([hidden]) button")).to_have_count(4)
    assert "哪一类" in click(page, "我要投诉")[-1]
    replies = click(page, "理赔纠纷")
    # The privacy notice comes before the first personal question (the policy number).
    assert any("个人信息处理告知" in reply for reply in replies) and "保单号" in replies[-1]
    answers = {
        "保单号": "PL202300123456",
        "姓名": "张三",
        "手机号": "13812345678",
        "发生了什么": "理赔申请交了两个月没有结果",
        "怎么处理": "希望尽快赔付",
    }
    for _ in range(8):
        if "请核对" in replies[-1]:
            break
        replies = say(page, next(value for key, value in answers.items() if key in replies[-1]))
    assert "138****5678" in replies[-1]
    # The button's title is what the policyholder sees of their own choice.
    user_texts = [m["text"] for m in shown(page) if "from-user" in m["kind"]]
    assert user_texts[:3] == ["你好", "我要投诉", "理赔纠纷"]
    save_screenshot(page, "web-chat-complaint-summary-desktop")

    done = "\n".join(say(page, "确认"))
    session_id = session_of(page)
    [ticket] = [
        t
        for t in TicketService(web.assistant.db, web.assistant.settings).list()
        if t["conversation_id"] == SENDER_PREFIX + session_id
    ]
    assert ticket["ticket_no"] in done and ticket["channel"] == "web"
    assert ticket["category"] == "claims" and ticket["phone_number"] == "13812345678"
    assert ticket["complainant_name"] == "张三" and ticket["policy_number"] == "PL202300123456"
    assert_no_duplicates(page)
    save_screenshot(page, "web-chat-ticket-desktop")

    phone = open_chat(chromium, web.page_url, PHONE, session_id)
    expect(phone.locator(".message").last).to_contain_text(ticket["ticket_no"])
    save_screenshot(phone, "web-chat-ticket-phone")
    phone.context.close()
    page.context.close()


def test_the_page_links_to_the_full_personal_information_rules(web, chromium):
    page = open_chat(chromium, web.page_url, PHONE)
    wait_ready(page)
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="个人信息处理规则").click()
    rules = opened.value
    rules.wait_for_load_state()
    expect(rules.locator("main")).to_contain_text("四、保存期限")
    expect(rules.locator("main")).to_contain_text("六、您的权利")
    assert rules.url == web.page_url + "privacy"
    save_screenshot(rules, "web-chat-privacy-rules-phone")
    page.context.close()


def test_claim_material_question_on_a_phone(web, chromium):
    page = open_chat(chromium, web.page_url, PHONE)
    script = materials.load(web.assistant.settings.materials_file)
    assert "哪一类" in say(page, "理赔需要什么材料")[-1]
    name = script.claim_types["death"].name
    [answer] = click(page, name)
    assert answer == script.summary("death")  # the reviewed script, byte for byte
    assert answer.startswith("得知您的亲人离世") and "申请方式" in answer and "审核" not in answer
    # The summary fits on one phone screen: within the visible message list, no scrolling needed.
    bubble = page.locator(".message:not(.from-user) .bubble").last.bounding_box()
    visible = page.eval_on_selector("#messages", "el => el.clientHeight")
    assert bubble is not None and bubble["height"] <= min(visible, PHONE["height"]), (bubble, visible)
    save_screenshot(page, "web-chat-claim-materials-phone")
    [reasons] = click(page, "为什么需要这些")
    assert reasons == script.reasons("death")
    # Longer than the screen: the view stays at the start of the answer, where reading begins.
    long_answer = page.locator(".message:not(.from-user)").last
    top, bottom, visible_top, visible_bottom = long_answer.evaluate(
        """el => {
        const box = el.getBoundingClientRect(), list = document.getElementById("messages").getBoundingClientRect();
        return [box.top, box.bottom, list.top, list.bottom];
        }"""
    )
    assert bottom - top > visible_bottom - visible_top, "the reasons must be longer than the screen for this test"
    assert visible_top <= top < visible_bottom, (top, visible_top, visible_bottom)
    expect(long_answer.locator(".message-label")).to_be_in_viewport()
    save_screenshot(page, "web-chat-claim-reasons-phone")
    # A short answer after it scrolls to the end again.
    say(page, "你好")
    expect(page.locator(".message:not(.from-user)").last).to_be_in_viewport(ratio=1)
    page.context.close()


LONG_HOSPITAL_DELAY = (
    "我要投诉！我父亲今年三月在市人民医院住院做了心脏搭桥手术，出院后我们把住院病历、出院小结、发票和费用清单全部交给了你们，"
    "到现在已经两个多月了，报销一分钱都没下来。中间我打了不下十次客服热线，每次都说在审核、让我再等等，"
    "问具体卡在哪一步谁也说不清楚。老人家手术花了十几万，都是我们子女东拼西凑借来的，现在天天有人催还钱。"
    "当初买保险的时候说得好好的，住院都能报，真到用的时候就这样拖着，你们到底还要拖多久？"
)


def test_the_read_back_fits_a_phone_with_the_category_first(web, chromium):
    page = open_chat(chromium, web.page_url, PHONE)
    replies = say(page, LONG_HOSPITAL_DELAY)
    answers = {"保单号": "PL202300123456", "姓名": "李建国", "手机号": "13812345678", "怎么处理": "尽快把钱赔给我们"}
    for _ in range(8):
        if "请核对" in replies[-1]:
            break
        if "个人信息" in replies[-1]:
            replies = click(page, "同意")
            continue
        replies = say(page, next(value for key, value in answers.items() if key in replies[-1]))
    read_back = replies[-1]
    # Filed from its substance (a hospital claim), not from the hotline it mentions.
    assert read_back.splitlines()[1] == "· 投诉类别：理赔纠纷"
    assert LONG_HOSPITAL_DELAY not in read_back and f"共{len(LONG_HOSPITAL_DELAY)}字" in read_back
    bubble = page.locator(".message:not(.from-user) .bubble").last.bounding_box()
    visible = page.eval_on_selector("#messages", "el => el.clientHeight")
    assert bubble is not None and bubble["height"] <= visible, (bubble, visible)
    expect(page.locator(".quick-replies:not([hidden])").get_by_role("button", name="确认提交")).to_be_in_viewport()
    save_screenshot(page, "web-chat-read-back-phone")
    say(page, "确认")
    session_id = session_of(page)
    [ticket] = [
        t
        for t in TicketService(web.assistant.db, web.assistant.settings).list()
        if t["conversation_id"] == SENDER_PREFIX + session_id
    ]
    assert ticket["category"] == "claims" and ticket["description"] == LONG_HOSPITAL_DELAY  # kept in full
    page.context.close()


def test_reload_keeps_the_conversation_without_duplicates(web, chromium):
    page = open_chat(chromium, web.page_url, PHONE)
    say(page, "我要投诉")
    assert "保单号" in click(page, "销售纠纷")[-1]
    before = shown(page)
    session_id = session_of(page)

    page.reload()
    wait_ready(page)
    assert session_of(page) == session_id
    assert shown(page) == before and [m["text"] for m in before if "from-user" in m["kind"]] == ["我要投诉", "销售纠纷"]
    assert_no_duplicates(page)
    # The last question's buttons come back and the conversation goes on.
    assert "姓名" in click(page, "跳过")[-1]
    save_screenshot(page, "web-chat-after-reload-phone")
    page.context.close()


def test_messages_sent_while_the_connection_was_down_arrive_after_reconnecting(web, chromium, agent_online):
    proxy = Proxy(int(web.assistant.url.rsplit(":", 1)[1]))
    try:
        page = open_chat(chromium, f"http://127.0.0.1:{proxy.port}/webhooks/web/", DESKTOP)
        say(page, "转人工")
        conversation_id = SENDER_PREFIX + session_of(page)

        proxy.drop()
        expect(page.locator("#status")).to_contain_text("连接已断开")
        # Emitted to nobody: only the history can bring it back.
        web.post_agent_message(conversation_id, "您好，我是客服王小明，已看到您的问题。")
        page.fill("#input", "我的网络刚才断了")
        page.press("#input", "Enter")
        expect(page.locator(".message.pending")).to_have_count(1)

        proxy.restore()
        wait_ready(page)
        expect(page.locator(".message.from-agent .bubble")).to_have_text("您好，我是客服王小明，已看到您的问题。")
        expect(page.locator(".message.pending")).to_have_count(0)
        assert_no_duplicates(page)
        # The message typed offline reached the conversation (the agent reads it there).
        deadline = time.time() + 30
        while "我的网络刚才断了" not in [
            e.get("text") for e in web.assistant.tracker(conversation_id)["events"] if e["event"] == "user"
        ]:
            assert time.time() < deadline, "the message typed offline never reached Rasa"
            time.sleep(0.5)
        page.context.close()
    finally:
        proxy.close()


def test_agent_message_after_handoff_is_labelled(web, chromium, agent_online):
    page = open_chat(chromium, web.page_url, DESKTOP)
    say(page, "你好")
    assert "人工客服" in "\n".join(say(page, "转人工"))
    conversation_id = SENDER_PREFIX + session_of(page)
    [request] = [
        r
        for r in HandoffService(web.assistant.db, web.assistant.settings).list()
        if r["conversation_id"] == conversation_id
    ]
    assert request["channel"] == "web" and request["status"] == "waiting"

    # The agent takes the conversation at the desk, then speaks (the desk's claim and reply).
    HandoffService(web.assistant.db, web.assistant.settings).claim(request["id"], agent_online)
    web.post_agent_message(conversation_id, "您好，我是客服王小明，请问有什么可以帮您？")
    agent = page.locator(".message.from-agent")
    expect(agent).to_have_count(1)
    expect(agent.locator(".message-label")).to_have_text("人工客服 · 王小明")
    expect(agent.locator(".bubble")).to_have_text("您好，我是客服王小明，请问有什么可以帮您？")
    assert [m["label"] for m in shown(page) if "from-bot" in m["kind"]] == ["智能助手"] * 2
    save_screenshot(page, "web-chat-agent-desktop")

    # While the agent holds the conversation the bot stays silent.
    assert say(page, "好的，我的理赔一直没结果") == []
    phone = open_chat(chromium, web.page_url, PHONE, session_of(page))
    expect(phone.locator(".message.from-agent .message-label")).to_have_text("人工客服 · 王小明")
    assert shown(phone) == shown(page)
    save_screenshot(phone, "web-chat-agent-phone")

    page.reload()
    wait_ready(page)
    expect(page.locator(".message.from-agent")).to_have_count(1)
    assert_no_duplicates(page)
    phone.context.close()
    page.context.close()


def test_message_text_is_never_markup(web, chromium):
    page = open_chat(chromium, web.page_url, PHONE)
    attack = '<img src=x onerror="window.__xss=1"><b>粗体</b>'
    say(page, attack)
    web.post_agent_message(SENDER_PREFIX + session_of(page), "<script>window.__xss=2</script>客服")
    expect(page.locator(".message.from-agent .bubble")).to_have_text("<script>window.__xss=2</script>客服")
    assert page.locator(".message.from-user .bubble").first.text_content() == attack
    assert page.locator("#messages img, #messages b, #messages script").count() == 0
    assert page.evaluate("window.__xss") is None
    page.context.close()


def test_the_page_can_be_embedded_by_an_allowed_site(web, chromium):
    host = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>某保险公司</title></head>
<body style="margin:0;font-family:sans-serif;background:#eef">
<h1 style="font-size:18px;margin:12px">某保险公司 · 在线服务</h1>
<iframe src="{web.page_url}" title="保险投诉自助服务"
  style="width:100%;max-width:420px;height:640px;border:0;border-radius:8px"></iframe>
</body></html>""".encode("utf-8")

    class Host(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(host)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", web.embedding_port), Host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"http://localhost:{web.embedding_port}/")
        frame = page.frame_locator("iframe")
        frame.locator('#messages[aria-busy="false"]').wait_for()
        frame.locator("#input").fill("你好")
        frame.locator("#input").press("Enter")
        expect(frame.locator(".message.from-bot .bubble").first).to_contain_text("投诉")
        save_screenshot(page, "web-chat-embedded-desktop")
        context.close()
    finally:
        server.shutdown()
        server.server_close()


def test_http_endpoints_validate_their_input(web):
    url = web.page_url
    page = requests.get(url, timeout=10)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and f"frame-ancestors 'self' http://localhost:{web.embedding_port}" in policy
    assert 'content="/webhooks/web/socket.io"' in page.text
    assert requests.get(url.rstrip("/"), timeout=10, allow_redirects=False).headers["Location"] == "/webhooks/web/"
    client = requests.get(url + "static/socket.io.min.js", timeout=10)
    assert (
        client.ok and client.headers["Content-Type"].startswith("text/javascript") and "Socket.IO v4.8.4" in client.text
    )
    assert requests.get(url + "static/..%2Fpackage.json", timeout=10).status_code == 404
    assert requests.get(url + "static/index.html", timeout=10).status_code == 404

    post = lambda body: requests.post(url + "history", data=body, timeout=10)  # noqa: E731
    assert post(json.dumps({"session_id": "me"})).status_code == 400
    assert post("not json").status_code == 400
    assert post(json.dumps({"session_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "x": "y" * 2000})).status_code == 413
    empty = post(json.dumps({"session_id": "0f8fad5b-d9cb-469f-a165-70867728950e"}))
    assert empty.json() == {"session_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "messages": []}
    assert empty.headers["Cache-Control"] == "no-store"


# --- what reaches Rasa of a message (finding 8) ----------------------------------------


class Socket:
    """A native app's socket: Engine.IO v4 over a WebSocket, spoken directly."""

    def __init__(self, url: str, session_id: str = "", local_address: str = "127.0.0.1") -> None:
        self.url = url.replace("http://", "ws://") + "/webhooks/web/socket.io/?EIO=4&transport=websocket"
        self.session_id = session_id or str(uuid.uuid4())
        self.local_address = local_address
        self.events: "asyncio.Queue[tuple]" = asyncio.Queue()

    async def __aenter__(self) -> "Socket":
        self.socket = await websockets.connect(self.url, open_timeout=30, local_addr=(self.local_address, 0))
        assert (await asyncio.wait_for(self.socket.recv(), 30)).startswith("0{")  # Engine.IO open
        await self.socket.send("40")
        assert (await asyncio.wait_for(self.socket.recv(), 30)).startswith("40")  # connected
        self.reader = asyncio.create_task(self._read())
        await self.emit("session_request", {"session_id": self.session_id})
        assert await self.next("session_confirm") == self.session_id
        return self

    async def __aexit__(self, *_) -> None:
        self.reader.cancel()
        await self.socket.close()

    async def _read(self) -> None:
        async for packet in self.socket:
            if packet == "2":
                await self.socket.send("3")
            elif packet.startswith("42"):
                name, *data = json.loads(packet[2:])
                await self.events.put((name, data[0] if data else None))

    async def emit(self, name: str, data) -> None:
        await self.socket.send("42" + json.dumps([name, data]))  # "\ud800" goes as the JSON escape

    async def next(self, name: str, seconds: float = 60):
        while True:
            kind, data = await asyncio.wait_for(self.events.get(), seconds)
            if kind == name:
                return data

    async def say(self, text: str) -> List[str]:
        """The texts that reached this socket until the server's bot_done."""
        message_id = uuid.uuid4().hex
        await self.emit("user_uttered", {"message": text, "session_id": self.session_id, "message_id": message_id})
        texts = []
        while True:
            kind, data = await asyncio.wait_for(self.events.get(), 60)
            if kind == "bot_uttered":
                texts.append(data["text"])
            elif kind == "bot_done" and data == {"message_id": message_id}:
                return texts


def run(coroutine):
    """Runs a coroutine in a thread of its own (Playwright's sync API owns this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def user_texts(web: WebChat, session_id: str) -> List[str]:
    events = web.assistant.tracker(SENDER_PREFIX + session_id)["events"]
    return [e["text"] for e in events if e["event"] == "user"]


def test_a_lone_surrogate_is_replaced_and_the_conversation_goes_on(web):
    async def talk() -> Tuple[List[str], List[str], str]:
        async with Socket(web.assistant.url) as app:
            first = await app.say("我要投诉\ud800")
            second = await app.say("理赔纠纷")
            return first, second, app.session_id

    first, second, session_id = run(talk())
    assert FAILED_TURN_TEXT not in first + second and first and second
    assert user_texts(web, session_id) == ["我要投诉\ufffd", "理赔纠纷"]


def test_typed_intent_syntax_is_text_but_buttons_still_work(web, chromium):
    page = open_chat(chromium, web.page_url, PHONE)
    say(page, "你好")
    say(page, "/escalation_threat")
    session_id = session_of(page)
    assert user_texts(web, session_id) == ["你好", "／escalation_threat"]
    assert not [
        r
        for r in HandoffService(web.assistant.db, web.assistant.settings).list()
        if r["conversation_id"] == SENDER_PREFIX + session_id
    ]
    # The latest answer's buttons are intents, as the page sends them.
    say(page, "你好")
    assert "哪一类" in click(page, "我要投诉")[-1]
    assert user_texts(web, session_id)[-1] == "/complain"
    page.context.close()


# --- requests per client address (finding 1) --------------------------------------------


def test_one_address_is_limited_and_its_user_told_in_chinese(web):
    """The servers exempt 127.0.0.1 (tests/assistant.py); this app speaks from another loopback address."""
    address = fresh_address()
    http = client_at(address)

    async def talk() -> Tuple[List[str], List[str], str]:
        async with Socket(web.assistant.url, local_address=address) as app:  # one connection counted
            answered = await app.say("你好")
            # Drain the address's allowance with history requests (the page makes one per reconnect).
            codes = [
                http.post(web.page_url + "history", json={"session_id": app.session_id}, timeout=30).status_code
                for _ in range(40)
            ]
            assert 429 in codes and codes[-1] == 429
            return answered, await app.say("我要投诉"), app.session_id

    answered, limited, session_id = run(talk())
    assert answered and RATE_LIMITED_TEXT not in answered
    assert limited == [RATE_LIMITED_TEXT]
    assert user_texts(web, session_id) == ["你好"]  # the refused message was not processed
    event = [e for e in web.assistant.tracker(SENDER_PREFIX + session_id)["events"] if e["event"] == "user"][0]
    assert event["metadata"]["client_address"] == address
    refused = http.post(web.page_url + "history", json={"session_id": session_id}, timeout=30)
    assert refused.status_code == 429 and refused.json() == {"error": RATE_LIMITED_TEXT}
