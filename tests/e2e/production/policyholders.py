"""Policyholders on the production topology: on the REST channel and on the web chat, through the load balancer."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Dict, List, Optional

import requests

from tests.e2e.production.running import TOKEN, Topology

PHONE = "13812345678"

# Answers to each question of complaint_form, by requested slot.
ANSWERS = {
    "complaint_category": "理赔",
    "policy_number": "PL202300123456",
    "complainant_name": "张三",
    "phone_number": PHONE,
    "complaint_description": "理赔申请交了两个月没有结果",
    "customer_request": "希望尽快赔付",
    "complaint_confirmed": "确认",
}
OPENING = "我要投诉，理赔申请交上去两个月了一直没有结果"


class User:
    """A policyholder on the REST channel through the load balancer, keeping its
    cookies like a browser. `say` resends when a message was not answered
    (the replica died, a dependency was down), as a user would."""

    def __init__(self, topology: Topology, sender: Optional[str] = None) -> None:
        self.topology = topology
        self.sender = sender or f"prod-{uuid.uuid4().hex}"
        self.http = requests.Session()
        self.resent = 0
        self.acknowledged: List[str] = []

    def send(self, message: str, timeout: float = 120) -> Optional[List[str]]:
        """The bot's answers, or None when the message was not answered."""
        try:
            response = self.http.post(
                f"{self.topology.lb_url}/webhooks/rest/webhook",
                json={"sender": self.sender, "message": message},
                timeout=timeout,
            )
        except requests.RequestException:
            return None
        if "X-Conversation-Secret" in response.headers:  # later messages need it (docs/chat-channels.md)
            self.http.headers["X-Conversation-Secret"] = response.headers["X-Conversation-Secret"]
        if response.status_code >= 500:
            return None
        response.raise_for_status()
        texts = [m.get("text", "") for m in response.json()]
        if texts:
            self.acknowledged.append(message)
        return texts or None

    def say(self, message: str, attempts: int = 1, pause: float = 2.0) -> List[str]:
        for attempt in range(attempts):
            answer = self.send(message)
            if answer is not None:
                return answer
            if attempt + 1 < attempts:
                self.resent += 1
                time.sleep(pause)
        raise AssertionError(f"{message!r} was not answered after {attempts} attempt(s)")

    def slots(self) -> Dict[str, Any]:
        return self.topology.tracker(self.sender).get("slots") or {}

    def file_complaint(self, attempts: int = 1, between=None) -> str:
        """Complains and answers what the form asks (read from the tracker, so a
        resent answer never lands in the wrong field); returns the ticket number."""
        self.say(OPENING, attempts)
        return self.finish_form(attempts, between)

    def finish_form(self, attempts: int = 1, between=None) -> str:
        for turn in range(12):
            slots = self.slots()
            if slots.get("last_ticket_no"):
                return slots["last_ticket_no"]
            requested = slots.get("requested_slot")
            assert requested in ANSWERS, f"unexpected state: requested_slot={requested!r}"
            if between is not None:
                between(turn)
            self.say(ANSWERS[requested], attempts)
        raise AssertionError(f"no ticket after 12 turns: {self.slots()}")

    def answer(self) -> str:
        """Answers the form's current question; returns which one it was."""
        requested = self.slots()["requested_slot"]
        self.say(ANSWERS[requested])
        return requested


class WebChatUser:
    """A policyholder on the web chat through the load balancer, speaking the
    page's Socket.IO protocol.

    "polling": python-socketio's client, keeping cookies like a browser (the
    load balancer's route cookie is what keeps long polling on one replica).
    "websocket": Engine.IO v4 spoken directly over the `websockets` package,
    because python-engineio's WebSocket client needs a newer aiohttp than Rasa
    pins; it exercises nginx's WebSocket upgrade like the page does.
    """

    def __init__(self, topology: Topology, transport: str = "websocket") -> None:
        self.topology = topology
        self.transport = transport
        self.session_id = str(uuid.uuid4())
        self.received: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.confirmed: "asyncio.Queue[str]" = asyncio.Queue()
        self._client: Any = None
        self._http: Any = None
        self._socket: Any = None
        self._reader: Optional["asyncio.Task[None]"] = None

    @property
    def conversation_id(self) -> str:
        return f"web-{self.session_id}"

    async def _on_event(self, name: str, data: Any) -> None:
        if name == "bot_uttered":
            await self.received.put(data)
        elif name == "session_confirm":
            await self.confirmed.put(data)

    async def __aenter__(self) -> "WebChatUser":
        if self.transport == "polling":
            import aiohttp
            import socketio

            self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
            self._client = socketio.AsyncClient(http_session=self._http, reconnection=False)
            self._client.on("*", self._on_event)
            await self._client.connect(
                self.topology.lb_url, transports=["polling"], socketio_path="/webhooks/web/socket.io", wait_timeout=30
            )
        else:
            import websockets

            url = self.topology.lb_url.replace("http://", "ws://")
            self._socket = await websockets.connect(
                f"{url}/webhooks/web/socket.io/?EIO=4&transport=websocket", open_timeout=30
            )
            opened = await asyncio.wait_for(self._socket.recv(), 30)
            assert opened.startswith("0{"), opened  # Engine.IO open packet
            await self._socket.send("40")  # Socket.IO connect to the default namespace
            connected = await asyncio.wait_for(self._socket.recv(), 30)
            assert connected.startswith("40"), connected
            self._reader = asyncio.create_task(self._read())
        await self._emit("session_request", {"session_id": self.session_id})
        assert await asyncio.wait_for(self.confirmed.get(), 30) == self.session_id
        return self

    async def _read(self) -> None:
        async for packet in self._socket:
            if packet == "2":  # ping
                await self._socket.send("3")
            elif packet.startswith("42"):
                name, *data = json.loads(packet[2:])
                await self._on_event(name, data[0] if data else None)

    async def _emit(self, name: str, data: Any) -> None:
        if self._client is not None:
            await self._client.emit(name, data)
        else:
            await self._socket.send("42" + json.dumps([name, data]))

    async def __aexit__(self, *_: Any) -> None:
        if self._client is not None:
            await self._client.disconnect()
            await self._http.close()
        else:
            if self._reader is not None:
                self._reader.cancel()
            await self._socket.close()

    async def say(self, text: str) -> None:
        await self._emit(
            "user_uttered", {"message": text, "session_id": self.session_id, "message_id": uuid.uuid4().hex}
        )

    async def wait_for(self, contains: str, seconds: float = 60) -> Dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + seconds
        seen = []
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{contains!r} never reached the socket; received {seen}")
            try:
                message = await asyncio.wait_for(self.received.get(), remaining)
            except asyncio.TimeoutError:
                continue
            seen.append(message.get("text"))
            if contains in (message.get("text") or ""):
                return message


def post_agent_message(base_url: str, conversation_id: str, text: str) -> None:
    """What the desk does to speak in a conversation, against one Rasa replica or the API entry."""
    response = requests.post(
        f"{base_url}/conversations/{conversation_id}/tracker/events",
        params={"token": TOKEN, "execute_side_effects": "true", "output_channel": "latest"},
        json={"event": "bot", "text": text, "metadata": {"agent": {"id": 1, "name": "王小明"}}},
        timeout=60,
    )
    response.raise_for_status()


async def assert_every_replica_reaches(topology: Topology, transport: str = "websocket") -> None:
    """A socket held by one replica receives messages sent through each replica."""
    async with WebChatUser(topology, transport) as user:
        await user.say("你好")
        await user.wait_for("")  # the bot's greeting: the conversation's channel is now web
        for index, replica in enumerate(topology.replica_urls(), 1):
            text = f"来自第{index}个副本的人工消息"
            await asyncio.to_thread(post_agent_message, replica, user.conversation_id, text)
            message = await user.wait_for(text, seconds=30)
            assert message["metadata"]["sender"] == "agent" and message["metadata"]["agent"] == {"name": "王小明"}
