"""Clients written for stock Rasa against the web chat channel, unchanged apart from the socket path.

A generic Rasa socket.io client (python-socketio's, as Rasa's own tests use it)
and the real rasa-webchat widget (npm `rasa-webchat` 1.0.1, pinned in
web/package-lock.json) in Debian's Chromium. The widget's page is the test's,
served from another origin like an insurer's site, which the channel allows
through `cors_allowed_origins`. A second server is set up as stock Rasa is
(`socketio_path: /socket.io`, `metadata_key: metadata`).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import re
import threading
import uuid
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest
import requests
import socketio
import yaml
from playwright.sync_api import Page, Route, WebSocketRoute, expect

from bot.channels.web import (
    BAD_MESSAGE_TEXT,
    EMPTY_MESSAGE_TEXT,
    NO_SESSION_TEXT,
    OTHER_SESSION_TEXT,
    SENDER_PREFIX,
    WEB_DIR,
    parse_session_id,
)
from bot.launch.ports import free_port
from bot.settings import PROJECT_ROOT
from bot.tickets import TicketService
from tests.assistant import Assistant, running_assistant
from tests.e2e.browser import DESKTOP, PHONE, save_screenshot
from tests.e2e.chat_page import open_chat, say, session_of, wait_ready

CHANNEL_KEY = "bot.channels.web.WebChatInput"
SOCKET_PATH = "/webhooks/web/socket.io"
STOCK_SOCKET_PATH = "/socket.io"  # stock Rasa's socketio_path
WIDGET = WEB_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"


class WidgetSite(http.server.ThreadingHTTPServer):
    """An insurer's page that mounts rasa-webchat (its UMD bundle carries React)."""

    def __init__(self, port: int, rasa_url: str) -> None:
        page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>保险公司</title></head>
<body><div id="webchat"></div><script src="/rasa-webchat.js"></script>
<script>WebChat.default({{
  selector: "#webchat", socketUrl: "{rasa_url}", socketPath: "{SOCKET_PATH}/",
  initPayload: "你好", customData: {{language: "zh"}}, embedded: true,
  title: "保险投诉自助服务", inputTextFieldHint: "请输入", showMessageDate: false,
  customMessageDelay: () => 0
}}, null);</script></body></html>""".encode("utf-8")
        bundle = WIDGET.read_bytes()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body, kind = (bundle, "text/javascript") if self.path == "/rasa-webchat.js" else (page, "text/html")
                self.send_response(200)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        super().__init__(("127.0.0.1", port), Handler)


def credentials_with(var: Any, channel: Dict[str, Any]) -> Any:
    """The project's credentials.yml with these web channel settings added."""
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials[CHANNEL_KEY] = {**(credentials[CHANNEL_KEY] or {}), **channel}
    path = var / "credentials.yml"
    path.write_text(yaml.safe_dump(credentials, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rasa(tmp_path_factory) -> Iterator[Tuple[Assistant, str]]:
    """The servers with the project's channels, the widget's site allowed as an origin."""
    if not WIDGET.exists():
        pytest.fail("rasa-webchat missing: run `npm ci` in web/")
    var = tmp_path_factory.mktemp("rasa-clients-var")
    site_port = free_port()
    site = f"http://127.0.0.1:{site_port}"
    with running_assistant(var, credentials_with(var, {"cors_allowed_origins": [site]})) as assistant:
        server = WidgetSite(site_port, assistant.url)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield assistant, site
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def stock(tmp_path_factory) -> Iterator[Assistant]:
    """The servers with the web channel where stock Rasa has its socket.io channel, and its metadata key."""
    var = tmp_path_factory.mktemp("rasa-stock-var")
    channel = {"socketio_path": STOCK_SOCKET_PATH, "metadata_key": "metadata"}
    with running_assistant(var, credentials_with(var, channel)) as assistant:
        yield assistant


# --- a generic Rasa socket.io client -----------------------------------------------------------


class RasaClient:
    """python-socketio's client speaking stock Rasa's protocol (long polling: python-engineio's
    WebSocket client needs a newer aiohttp than Rasa pins)."""

    def __init__(self, url: str, path: str = SOCKET_PATH) -> None:
        self.url = url
        self.path = path
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: "asyncio.Queue[Tuple[str, Any]]" = asyncio.Queue()
        self.client.on("*", self._on_event)

    async def _on_event(self, name: str, data: Any = None) -> None:
        await self.events.put((name, data))

    async def __aenter__(self) -> "RasaClient":
        await self.client.connect(self.url, transports=["polling"], socketio_path=self.path, wait_timeout=30)
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.client.disconnect()

    async def next(self, name: str) -> Any:
        while True:
            kind, data = await asyncio.wait_for(self.events.get(), 60)
            if kind == name:
                return data

    async def turn(self, packet: Dict[str, Any]) -> List[Tuple[str, Any]]:
        """What reaches the client for one `user_uttered`, up to the channel's `bot_done`."""
        await self.client.emit("user_uttered", packet)
        received = []
        while True:
            kind, data = await asyncio.wait_for(self.events.get(), 60)
            if kind == "bot_done":
                return received
            received.append((kind, data))


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def user_events(assistant: Assistant, session_id: str) -> List[Dict[str, Any]]:
    """The user events of the conversation a session id (any spelling) names."""
    events = assistant.tracker(SENDER_PREFIX + str(parse_session_id(session_id)))["events"]
    return [e for e in events if e["event"] == "user"]


MARKERS = ["保单号", "姓名", "手机号", "发生了什么", "怎么处理", "请核对"]
ANSWERS = {
    "保单号": "PL202300123456",
    "姓名": "张三",
    "手机号": "13812345678",
    "发生了什么": "理赔申请交了两个月没有结果",
    "怎么处理": "希望尽快赔付",
}


def uttered(received: List[Tuple[str, Any]]) -> List[Dict[str, Any]]:
    return [data for kind, data in received if kind == "bot_uttered"]


def payload_of(received: List[Tuple[str, Any]], title: str) -> str:
    """A button's payload, which stock clients send as the message when it is clicked."""
    return next(r["payload"] for m in uttered(received) for r in m.get("quick_replies", []) if r["title"] == title)


def test_a_generic_rasa_client_files_a_complaint_with_its_hex_session_and_custom_data(rasa):
    assistant, _ = rasa
    session_id = uuid.uuid4().hex  # what stock Rasa clients send
    conversation = SENDER_PREFIX + str(parse_session_id(session_id))

    async def talk() -> Tuple[List[Tuple[str, Any]], List[Tuple[str, Any]], str]:
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": session_id})
            assert await client.next("session_confirm") == session_id
            first = await client.turn(
                {
                    "message": "你好",
                    "session_id": session_id,
                    "customData": {"language": "zh", "client_address": "203.0.113.9", "page": {"path": "/claims"}},
                }
            )
            # A clicked button: its payload as the message, as rasa-webchat sends it (no button_title).
            second = await client.turn({"message": payload_of(first, "我要投诉"), "session_id": session_id})
        # Reconnecting with the same id (as rasa-webchat does after a reload) continues the conversation.
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": session_id})
            assert await client.next("session_confirm") == session_id
            turn = await client.turn({"message": payload_of(second, "理赔纠纷"), "session_id": session_id})
            last, answers = uttered(turn)[-1]["text"], dict(ANSWERS)
            for _ in range(8):
                if "请核对" in last:
                    break
                key = next(key for key in answers if key in last)
                last = uttered(await client.turn({"message": answers.pop(key), "session_id": session_id}))[-1]["text"]
            assert "请核对" in last and "138****5678" in last
            done = await client.turn({"message": "确认", "session_id": session_id})
        return first, second, "".join(m["text"] for m in uttered(done))

    first, second, done = run(talk())
    greeting = uttered(first)
    assert greeting and all(set(m) <= {"text", "quick_replies", "metadata"} for m in greeting)
    assert any(m.get("quick_replies") for m in greeting) and "投诉" in "".join(m["text"] for m in greeting)
    assert "哪一类" in uttered(second)[-1]["text"]
    [ticket] = [t for t in TicketService(assistant.db, assistant.settings).list() if t["ticket_no"] in done]
    assert "投诉编号" in done and ticket["conversation_id"] == conversation
    assert ticket["channel"] == "web" and ticket["category"] == "claims"
    users = user_events(assistant, session_id)
    assert [e["text"] for e in users[:2]] == ["你好", "/complain"] and users[-1]["text"] == "确认"
    # customData reached the tracker; an address it claims did not.
    assert users[0]["metadata"]["language"] == "zh" and users[0]["metadata"]["page"] == {"path": "/claims"}
    assert users[0]["metadata"].get("client_address") != "203.0.113.9"


def test_an_upper_case_id_is_echoed_and_is_the_same_conversation(rasa):
    assistant, _ = rasa
    dashed = str(uuid.uuid4())

    async def talk() -> None:
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": dashed.upper()})
            assert await client.next("session_confirm") == dashed.upper()
            await client.turn({"message": "你好", "session_id": dashed.upper()})
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": dashed.replace("-", "")})
            assert await client.next("session_confirm") == dashed.replace("-", "")
            await client.turn({"message": "我要投诉", "session_id": dashed.replace("-", "")})

    run(talk())
    assert [e["text"] for e in user_events(assistant, dashed)] == ["你好", "我要投诉"]
    # The history endpoint likewise echoes the client's spelling and reads the one conversation.
    for spelling in (dashed.upper(), dashed.replace("-", "")):
        answer = requests.post(f"{assistant.url}/webhooks/web/history", json={"session_id": spelling}, timeout=30)
        assert answer.json()["session_id"] == spelling
        users = [m["text"] for m in answer.json()["messages"] if m["metadata"]["sender"] == "user"]
        assert users == ["你好", "我要投诉"]


def test_a_message_without_its_session_gets_an_error_event(rasa):
    assistant, _ = rasa
    joined, other = uuid.uuid4().hex, uuid.uuid4().hex

    async def talk() -> Tuple[List[Tuple[str, Any]], List[Tuple[str, Any]]]:
        async with RasaClient(assistant.url) as client:
            lone = await client.turn({"message": "你好", "message_id": "m0000001"})
            await client.client.emit("session_request", {"session_id": joined})
            await client.next("session_confirm")
            crossed = await client.turn({"message": "你好", "session_id": other, "message_id": "m0000002"})
            return lone, crossed

    lone, crossed = run(talk())
    assert lone == [("error", {"code": "no_session", "message": NO_SESSION_TEXT, "message_id": "m0000001"})]
    assert crossed == [("error", {"code": "other_session", "message": OTHER_SESSION_TEXT, "message_id": "m0000002"})]
    for session_id in (joined, other):
        assert not user_events(assistant, session_id)


def test_a_message_without_text_gets_an_error_event(rasa):
    assistant, _ = rasa
    session_id = uuid.uuid4().hex
    packets = [
        ({"message": ""}, ("empty_message", EMPTY_MESSAGE_TEXT)),
        ({"message": " \n\u3000"}, ("empty_message", EMPTY_MESSAGE_TEXT)),
        ({"message": 42}, ("invalid_message", BAD_MESSAGE_TEXT)),
        ({"text": "你好"}, ("invalid_message", BAD_MESSAGE_TEXT)),
    ]

    async def talk() -> List[List[Tuple[str, Any]]]:
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": session_id})
            await client.next("session_confirm")
            return [
                await client.turn({**packet, "session_id": session_id, "message_id": f"m000000{index}"})
                for index, (packet, _) in enumerate(packets)
            ]

    for index, (received, (_, (code, text))) in enumerate(zip(run(talk()), packets)):
        assert received == [("error", {"code": code, "message": text, "message_id": f"m000000{index}"})]
    assert not user_events(assistant, session_id)


def test_custom_data_out_of_bounds_is_dropped_and_the_message_still_goes_through(rasa):
    assistant, _ = rasa
    session_id = uuid.uuid4().hex
    packets = [
        {"message": "你好", "customData": {"language": "zh", "note": "长" * 1001}},  # a string over 1,000
        {"message": "我要投诉", "customData": {str(i): "x" * 200 for i in range(30)}},  # over 4 kB
        {"message": "理赔纠纷", "customData": {"a": {"b": {"c": {"d": 1}}}}},  # too deep
        {"message": "算了", "customData": "zh"},  # not an object
    ]

    async def talk() -> List[List[Tuple[str, Any]]]:
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": session_id})
            await client.next("session_confirm")
            return [await client.turn({**packet, "session_id": session_id}) for packet in packets]

    for received in run(talk()):
        assert uttered(received) and "error" not in [kind for kind, _ in received]
    users = user_events(assistant, session_id)
    assert [e["text"] for e in users] == [packet["message"] for packet in packets]
    for event in users:
        assert not {"language", "note", "0", "a"} & set(event["metadata"] or {})


# --- a server set up as stock Rasa -------------------------------------------------------------


def test_stock_rasas_socket_path_and_metadata_key(stock):
    session_id = uuid.uuid4().hex

    async def talk() -> List[Tuple[str, Any]]:
        async with RasaClient(stock.url, STOCK_SOCKET_PATH) as client:
            await client.client.emit("session_request", {"session_id": session_id})
            assert await client.next("session_confirm") == session_id
            return await client.turn(
                {
                    "message": "你好",
                    "session_id": session_id,
                    "metadata": {"language": "zh", "sender_id": "someone-else"},
                    "customData": {"page": "/claims"},  # not the configured key
                }
            )

    assert "投诉" in "".join(m["text"] for m in uttered(run(talk())))
    [user] = user_events(stock, session_id)
    assert user["metadata"]["language"] == "zh"
    assert "page" not in user["metadata"] and "sender_id" not in user["metadata"]
    # Nothing listens at the default path any more.
    default = requests.get(f"{stock.url}{SOCKET_PATH}/", params={"EIO": "4", "transport": "polling"}, timeout=30)
    assert default.status_code == 404


def test_the_chat_page_follows_the_socket_path(stock, chromium):
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    sockets: List[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{stock.url}/webhooks/web/")
    wait_ready(page)
    assert page.get_attribute('meta[name="chat-socketio-path"]', "content") == STOCK_SOCKET_PATH
    assert "投诉" in "\n".join(say(page, "你好"))
    assert sockets and all(urlsplit(url).path == STOCK_SOCKET_PATH + "/" for url in sockets)
    context.close()


# --- the rasa-webchat widget ------------------------------------------------------------------


def responses(page: Page) -> List[str]:
    return page.eval_on_selector_all(".rw-response", "els => els.map(e => e.textContent)")


def wait_for_reply(page: Page, before: int, wanted: List[str]) -> str:
    """The widget's newest bot message once it is past `before` and contains one of `wanted`."""
    page.wait_for_function(
        """([before, wanted]) => {
            const els = document.querySelectorAll('.rw-response');
            if (els.length <= before) return false;
            const last = els[els.length - 1].textContent;
            return wanted.some(w => last.includes(w)) && !last.includes('个人信息处理告知');
        }""",
        arg=[before, wanted],
    )
    return responses(page)[-1]


def choose(page: Page, title: str, wanted: List[str]) -> str:
    before = len(responses(page))
    page.locator(".rw-reply", has_text=title).first.click()
    return wait_for_reply(page, before, wanted)


def type_in(page: Page, text: str, wanted: List[str]) -> str:
    before = len(responses(page))
    page.fill(".rw-new-message", text)
    page.press(".rw-new-message", "Enter")
    return wait_for_reply(page, before, wanted)


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_the_rasa_webchat_widget_files_a_complaint(rasa, chromium):
    assistant, site = rasa
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    # Nothing leaves this machine; what the widget tries to fetch elsewhere is recorded.
    blocked: List[str] = []

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(site + "/")
    # initPayload 你好: the greeting with its buttons, rendered by the widget.
    page.wait_for_selector(".rw-reply")
    assert "投诉" in "".join(responses(page))
    assert "哪一类" in choose(page, "我要投诉", ["哪一类"])
    last = choose(page, "理赔纠纷", ["保单号"])
    answers = dict(ANSWERS)
    for _ in range(8):
        if "请核对" in last:
            break
        key = next(key for key in answers if key in last)
        last = type_in(page, answers.pop(key), [m for m in MARKERS if m != key])
    assert "请核对" in last and "138****5678" in last
    done = type_in(page, "确认", ["投诉编号"])
    [ticket] = [t for t in TicketService(assistant.db, assistant.settings).list() if t["ticket_no"] in done]
    # The widget keeps the id the channel confirmed; the ticket belongs to that conversation.
    stored = page.evaluate("() => localStorage.getItem('chat_session') || ''")
    assert ticket["conversation_id"].startswith(SENDER_PREFIX)
    assert ticket["conversation_id"][len(SENDER_PREFIX) :] in stored.lower()
    expect(page.locator(".rw-response").last).to_contain_text(ticket["ticket_no"])
    assert ticket["ticket_no"] in done and ticket["channel"] == "web" and ticket["category"] == "claims"
    # The user's button choices show as their titles, as rasa-webchat renders them.
    clients = page.eval_on_selector_all(".rw-client", "els => els.map(e => e.textContent)")
    assert "我要投诉" in clients and "理赔纠纷" in clients
    save_screenshot(page, "rasa-webchat-ticket-desktop")
    context.close()
    # The widget's CSS imports Google Fonts (docs/chat-channels.md warns integrators); it works without them.
    assert {urlsplit(url).hostname for url in blocked} == {"fonts.googleapis.com"}, blocked


def test_the_own_chat_page_still_connects_when_another_origin_is_allowed(rasa, chromium):
    """`cors_allowed_origins` used to replace the same-origin rule, refusing the page's own socket."""
    assistant, _ = rasa
    page = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE)
    assert "投诉" in "\n".join(say(page, "你好"))
    page.context.close()


def test_the_chat_page_asks_for_its_session_again_after_an_error_event(rasa, chromium):
    """The page's first message is made to name another session (an `other_session` error)."""
    assistant, _ = rasa
    context = chromium.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    sent: List[str] = []
    crossed: List[str] = []

    def relay(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        def upstream(message: Any) -> None:
            if isinstance(message, str) and message.startswith('42["user_uttered"') and not crossed:
                name, data = json.loads(message[2:])
                crossed.append(data["message"])
                message = "42" + json.dumps([name, {**data, "session_id": str(uuid.uuid4())}])
            sent.append(message)
            server.send(message)

        route.on_message(upstream)

    page.route_web_socket(re.compile(r"/socket\.io/"), relay)
    page.goto(f"{assistant.url}/webhooks/web/")
    wait_ready(page)

    def session_requests() -> int:
        return len([m for m in sent if isinstance(m, str) and m.startswith('42["session_request"')])

    assert session_requests() == 1
    page.fill("#input", "你好")
    page.press("#input", "Enter")
    for _ in range(300):
        if session_requests() == 2:
            break
        page.wait_for_timeout(100)
    assert crossed == ["你好"] and session_requests() == 2
    expect(page.locator("#typing")).to_be_hidden()
    wait_ready(page)
    assert "哪一类" in say(page, "我要投诉")[-1]
    assert [e["text"] for e in user_events(assistant, session_of(page))] == ["我要投诉"]
    context.close()
