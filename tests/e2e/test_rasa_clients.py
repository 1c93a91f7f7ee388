"""Clients written for stock Rasa against the web chat channel, unchanged apart from the socket path.

A generic Rasa socket.io client (python-socketio's, as Rasa's own tests use it)
and the real rasa-webchat widget (npm `rasa-webchat` 1.0.1, pinned in
web/package-lock.json) in Debian's Chromium. The widget's page is the test's,
served from another origin like an insurer's site, which the channel allows
through `cors_allowed_origins`.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import uuid
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import socketio
import yaml
from playwright.sync_api import Page, expect

from bot.channels.web import (
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
from tests.e2e.chat_page import open_chat, say

CHANNEL_KEY = "bot.channels.web.WebChatInput"
SOCKET_PATH = "/webhooks/web/socket.io"
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


@pytest.fixture(scope="module")
def rasa(tmp_path_factory) -> Iterator[Tuple[Assistant, str]]:
    """The servers with the project's channels, the widget's site allowed as an origin."""
    if not WIDGET.exists():
        pytest.fail("rasa-webchat missing: run `npm ci` in web/")
    var = tmp_path_factory.mktemp("rasa-clients-var")
    site_port = free_port()
    site = f"http://127.0.0.1:{site_port}"
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    credentials[CHANNEL_KEY] = {**(credentials[CHANNEL_KEY] or {}), "cors_allowed_origins": [site]}
    path = var / "credentials.yml"
    path.write_text(yaml.safe_dump(credentials, allow_unicode=True), encoding="utf-8")
    with running_assistant(var, path) as assistant:
        server = WidgetSite(site_port, assistant.url)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield assistant, site
        finally:
            server.shutdown()
            server.server_close()


# --- a generic Rasa socket.io client -----------------------------------------------------------


class RasaClient:
    """python-socketio's client speaking stock Rasa's protocol (long polling: python-engineio's
    WebSocket client needs a newer aiohttp than Rasa pins)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: "asyncio.Queue[Tuple[str, Any]]" = asyncio.Queue()
        self.client.on("*", self._on_event)

    async def _on_event(self, name: str, data: Any = None) -> None:
        await self.events.put((name, data))

    async def __aenter__(self) -> "RasaClient":
        await self.client.connect(self.url, transports=["polling"], socketio_path=SOCKET_PATH, wait_timeout=30)
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


def test_a_generic_rasa_client_keeps_its_hex_session_and_custom_data(rasa):
    assistant, _ = rasa
    session_id = uuid.uuid4().hex  # what stock Rasa clients send
    conversation = SENDER_PREFIX + str(parse_session_id(session_id))

    async def talk() -> Tuple[List[Tuple[str, Any]], List[Tuple[str, Any]]]:
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
        # Reconnecting with the same id (as rasa-webchat does after a reload) continues the conversation.
        async with RasaClient(assistant.url) as client:
            await client.client.emit("session_request", {"session_id": session_id})
            assert await client.next("session_confirm") == session_id
            second = await client.turn({"message": "我要投诉", "session_id": session_id})
        return first, second

    first, second = run(talk())
    greeting = [data for kind, data in first if kind == "bot_uttered"]
    assert greeting and all(set(m) <= {"text", "quick_replies", "metadata"} for m in greeting)
    assert any(m.get("quick_replies") for m in greeting) and "投诉" in "".join(m["text"] for m in greeting)
    assert "哪一类" in [data for kind, data in second if kind == "bot_uttered"][-1]["text"]
    users = [e for e in assistant.tracker(conversation)["events"] if e["event"] == "user"]
    assert [e["text"] for e in users] == ["你好", "我要投诉"]
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
    events = assistant.tracker(SENDER_PREFIX + dashed)["events"]
    assert [e["text"] for e in events if e["event"] == "user"] == ["你好", "我要投诉"]


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
        events = assistant.tracker(SENDER_PREFIX + str(parse_session_id(session_id)))["events"]
        assert not [e for e in events if e["event"] == "user"]


# --- the rasa-webchat widget ------------------------------------------------------------------

MARKERS = ["保单号", "姓名", "手机号", "发生了什么", "怎么处理", "请核对"]


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


def test_the_rasa_webchat_widget_files_a_complaint(rasa, chromium):
    assistant, site = rasa
    context = chromium.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(site + "/")
    # initPayload 你好: the greeting with its buttons, rendered by the widget.
    page.wait_for_selector(".rw-reply")
    assert "投诉" in "".join(responses(page))
    assert "哪一类" in choose(page, "我要投诉", ["哪一类"])
    last = choose(page, "理赔纠纷", ["保单号"])
    answers = {
        "保单号": "PL202300123456",
        "姓名": "张三",
        "手机号": "13812345678",
        "发生了什么": "理赔申请交了两个月没有结果",
        "怎么处理": "希望尽快赔付",
    }
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


def test_the_own_chat_page_still_connects_when_another_origin_is_allowed(rasa, chromium):
    """`cors_allowed_origins` used to replace the same-origin rule, refusing the page's own socket."""
    assistant, _ = rasa
    page = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE)
    assert "投诉" in "\n".join(say(page, "你好"))
    page.context.close()
