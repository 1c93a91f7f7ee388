"""The production topology, started once for this package by scripts/run-production.

Real parts only: nginx, two Rasa replicas, two action servers, the desk and
the analytics consumer, on a fresh PostgreSQL database, a private Redis server
(so that a test may stop it) and unique RabbitMQ exchange and queue names.
They need PostgreSQL, RabbitMQ, redis-server and nginx: under CI=true a missing
one fails the tests; elsewhere they skip, saying which one is absent.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.analytics import delete_feed
from bot.db import Database, create_postgres_database, drop_postgres_database
from bot.embedded import free_port
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import IN_CI, POSTGRES_ADMIN_URL

TOKEN = "production-test-token"
RABBITMQ = (os.environ.get("RABBITMQ_HOST", "127.0.0.1"), int(os.environ.get("RABBITMQ_PORT", "5672")))
STARTUP_SECONDS = 780  # below pytest-timeout's 900 s, which counts fixture setup
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


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} (the production-topology tests must run under CI)")
    pytest.skip(f"{what}; skipping the production-topology tests")


def reachable(address, timeout: float = 2.0) -> bool:
    try:
        socket.create_connection(address, timeout=timeout).close()
        return True
    except OSError:
        return False


class RedisServer:
    """A redis-server of the tests' own on a free port; the shared one is never stopped."""

    def __init__(self, var: Path) -> None:
        self.port = free_port()
        self.log = var / "redis.log"
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=open(self.log, "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 20
        while not reachable(("127.0.0.1", self.port), 0.5):
            if self.process.poll() is not None or time.time() > deadline:
                pytest.fail(f"redis-server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)


@dataclass
class Topology:
    var: Path
    lb_url: str
    api_url: str
    desk_url: str
    settings: Settings
    db: Database
    redis: RedisServer
    launcher: subprocess.Popen
    output: Path

    def state(self) -> Dict[str, Any]:
        return json.loads((self.var / "run" / "state.json").read_text())

    def process(self, name: str) -> Dict[str, Any]:
        return self.state()["processes"][name]

    def replica_urls(self) -> List[str]:
        state = self.state()["processes"]
        return [f"http://127.0.0.1:{state[name]['port']}" for name in sorted(state) if name.startswith("rasa-")]

    def launcher_output(self) -> str:
        return self.output.read_text(errors="replace")

    def log(self, name: str) -> str:
        return Path(self.process(name)["log"]).read_text(errors="replace")

    def kill(self, name: str, signum: int = signal.SIGKILL) -> int:
        pid = self.process(name)["pid"]
        os.killpg(pid, signum)
        return pid

    def wait_until(self, predicate, seconds: float, what: str, interval: float = 0.5) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.launcher.poll() is not None:
                pytest.fail(f"the launcher exited:\n{self.launcher_output()[-3000:]}")
            with suppress(Exception):
                if predicate():
                    return
            time.sleep(interval)
        pytest.fail(f"{what} not reached after {seconds:.0f} s")

    def wait_healthy(self, seconds: float = STARTUP_SECONDS) -> None:
        """Every process running and serving (a killed one is started again by the launcher)."""
        self.wait_until(
            lambda: self.state()["ready"]
            and all(p["alive"] and p["ready"] for p in self.state()["processes"].values()),
            seconds,
            "a healthy topology",
        )

    def tracker(self, sender: str) -> Dict[str, Any]:
        response = requests.get(f"{self.api_url}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=60)
        response.raise_for_status()
        return response.json()

    def stored_events(self, sender: str) -> int:
        """Events of the conversation in PostgreSQL (Rasa's `events` table)."""
        with self.db.transaction() as session:
            return session.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar_one()


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


def _stop_launcher(topology: Topology) -> None:
    launcher = topology.launcher
    if launcher.poll() is None:
        os.killpg(launcher.pid, signal.SIGTERM)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
    # Whatever the launcher could not stop (it was killed itself).
    with suppress(FileNotFoundError, json.JSONDecodeError):
        for process in topology.state()["processes"].values():
            with suppress(ProcessLookupError, PermissionError, TypeError):
                os.killpg(process["pid"], signal.SIGKILL)


@pytest.fixture(scope="package")
def topology(tmp_path_factory) -> Iterator[Topology]:
    nginx = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    require(os.access(nginx, os.X_OK), "nginx is not installed (scripts/install-nginx installs it)")
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    require(reachable(RABBITMQ), f"RabbitMQ is not running at {RABBITMQ[0]}:{RABBITMQ[1]}")
    if not (PROJECT_ROOT / "models" / "complaints.tar.gz").exists():
        pytest.fail("models/complaints.tar.gz is missing: run `make train` (make test does it)")

    database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/complaints_production_{uuid.uuid4().hex[:8]}"
    try:
        create_postgres_database(database_url)
    except OperationalError as exc:
        require(False, f"PostgreSQL is not running at {POSTGRES_ADMIN_URL} ({exc.__class__.__name__})")

    var = tmp_path_factory.mktemp("production")
    redis = RedisServer(var)
    redis.start()
    suffix = uuid.uuid4().hex[:8]
    ports = {key: str(free_port()) for key in ("LB_PORT", "LB_API_PORT", "LB_ACTIONS_PORT", "DESK_PORT")}
    env = {
        **os.environ,
        **ports,
        "PRODUCTION_VAR_DIR": str(var),
        "DATABASE_URL": database_url,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis.port),
        "RABBITMQ_HOST": RABBITMQ[0],
        "RABBITMQ_PORT": str(RABBITMQ[1]),
        "EVENTS_EXCHANGE": f"test_events_{suffix}",
        "ANALYTICS_QUEUE": f"test_analytics_{suffix}",
        "RASA_TOKEN": TOKEN,
        "NGINX": nginx,
        "RASA_REPLICA_PORTS": f"{free_port()},{free_port()}",
        "ACTION_WORKER_PORTS": f"{free_port()},{free_port()}",
        # Human service around the clock; whether an agent is online is up to each test.
        "SERVICE_HOURS": "00:00-24:00",
        "SERVICE_DAYS": "1-7",
        # Every simulated user speaks from 127.0.0.1: not limited per address.
        "CHANNEL_RATE_EXEMPT": "127.0.0.1",
    }
    env.pop("TRACKER_DATABASE_URL", None)
    settings = Settings.from_env(env)
    output = var / "launcher.log"
    launcher = subprocess.Popen(
        [str(PROJECT_ROOT / "scripts" / "run-production")],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=open(output, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Topology(
        var,
        f"http://127.0.0.1:{ports['LB_PORT']}",
        f"http://127.0.0.1:{ports['LB_API_PORT']}",
        f"http://127.0.0.1:{ports['DESK_PORT']}",
        settings,
        Database(database_url),
        redis,
        launcher,
        output,
    )
    try:
        running.wait_healthy()
        yield running
    finally:
        _stop_launcher(running)
        redis.stop()
        running.db.dispose()
        with suppress(Exception):
            asyncio.run(delete_feed(settings))
        drop_postgres_database(database_url)
    # Logs never carry a full phone number (bot/privacy.py masks every record).
    for log in sorted((var / "log").glob("*.log")):
        assert PHONE not in log.read_text(errors="replace"), f"unmasked phone in {log.name}"


@pytest.fixture
def healthy(topology: Topology) -> Topology:
    """The topology with every process serving, whatever an earlier test did."""
    topology.wait_healthy()
    return topology


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
            assert message["sender"] == "agent" and message["agent"] == {"name": "王小明"}
