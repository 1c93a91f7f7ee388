"""Simulated policyholders over HTTP (the REST channel), with asyncio and aiohttp.

Two kinds of load, both bounded in time:
- closed loop: N users each send their next message as soon as the answer
  arrives (latency under contention, saturation throughput);
- paced: N users wait 5–15 s between messages, as people do (how many
  conversations the deployment holds within a latency bound).
Each conversation has its own sender id and, like a browser, keeps the load
balancer's `lb` cookie, so it sticks to one replica.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import aiohttp

from bench.conversations import LONG, MIXES, Conversation, Deviation, Script, TicketPool, phone_number
from bench.stats import LatencySummary, TicketClaim, Turn, summarize
from bench.topologies import Running

TURN_TIMEOUT_SECONDS = 60
MAX_SAMPLES = 5  # deviations and errors quoted in the report


@dataclass
class LevelResult:
    mode: str  # "closed" or "paced"
    users: int
    seconds: float  # wall time, until the last answer arrived
    turns: List[Turn]
    conversations: Dict[str, Counter]  # script -> started/completed/deviated/failed
    samples: List[str] = field(default_factory=list)

    @property
    def summary(self) -> LatencySummary:
        return summarize(self.turns, self.seconds)

    @classmethod
    def combined(cls, parts: List["LevelResult"]) -> "LevelResult":
        """One level measured in several blocks (interleaved with another server's):
        the blocks' turns over the blocks' summed time."""
        conversations: Dict[str, Counter] = defaultdict(Counter)
        for part in parts:
            for script, counts in part.conversations.items():
                conversations[script].update(counts)
        return cls(
            parts[0].mode,
            parts[0].users,
            sum(part.seconds for part in parts),
            [turn for part in parts for turn in part.turns],
            dict(conversations),
            [sample for part in parts for sample in part.samples],
        )

    def as_dict(self) -> Dict[str, object]:
        return {
            "mode": self.mode,
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "summary": self.summary.as_dict(),
            "by_script": {
                script: summarize([t for t in self.turns if t.script == script], self.seconds).as_dict()
                for script in sorted({t.script for t in self.turns})
            },
            "conversations": {script: dict(counts) for script, counts in self.conversations.items()},
            "samples": self.samples,
        }


async def pause_until(seconds: float, deadline: float) -> None:
    """A user's pause, cut short at the end of the level (nothing is sent after it)."""
    await asyncio.sleep(max(0.0, min(seconds, deadline - time.monotonic())))


class Load:
    def __init__(self, running: Running, session: aiohttp.ClientSession, prefix: str, seed: int = 7) -> None:
        self.running = running
        self.session = session
        self.prefix = prefix
        self.secrets: Dict[str, str] = {}  # REST sender id -> the secret its first answer carried
        self.rng = random.Random(seed)
        self.mix = MIXES[running.mix]
        self.tickets = TicketPool()
        self.conversations: List[Conversation] = []  # every one, for ticket reconciliation

    # -- one turn, one conversation -------------------------------------------

    async def send(
        self, conversation: Conversation, text: str, cookies: Dict[str, str]
    ) -> Tuple[Turn, Optional[List[str]]]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
        if conversation.sender in self.secrets:  # the conversation's secret (docs/chat-channels.md)
            headers["X-Conversation-Secret"] = self.secrets[conversation.sender]
        started = time.monotonic()
        try:
            async with self.session.post(
                f"{self.running.url}/webhooks/rest/webhook",
                json={"sender": conversation.sender, "message": text},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT_SECONDS),
            ) as response:
                body = await response.json(content_type=None) if response.status == 200 else None
                for name, morsel in response.cookies.items():
                    cookies[name] = morsel.value
                if "X-Conversation-Secret" in response.headers:
                    self.secrets[conversation.sender] = response.headers["X-Conversation-Secret"]
                latency = time.monotonic() - started
                if response.status != 200 or not isinstance(body, list):
                    return Turn(started, latency, False, f"http {response.status}", conversation.script), None
                texts = [str(message.get("text") or "") for message in body if isinstance(message, dict)]
                return Turn(started, latency, True, None, conversation.script), texts
        except asyncio.TimeoutError:
            return Turn(started, time.monotonic() - started, False, "timeout", conversation.script), None
        except (aiohttp.ClientError, ValueError) as exc:
            return Turn(started, time.monotonic() - started, False, type(exc).__name__, conversation.script), None

    async def converse(
        self,
        conversation: Conversation,
        deadline: float,
        turns: List[Turn],
        pause: Optional[Tuple[float, float]],
        counts: Counter,
        samples: List[str],
    ) -> None:
        script = dict(self.mix)[conversation.script](conversation, self.tickets)
        cookies: Dict[str, str] = {}
        counts["started"] += 1
        try:
            message = next(script)
            while True:
                if time.monotonic() >= deadline:
                    counts["cut"] += 1  # the level ended mid-conversation
                    return
                conversation.ticket_step_sent = conversation.ticket_step_next
                turn, texts = await self.send(conversation, message, cookies)
                turns.append(turn)
                conversation.turns += 1
                if conversation.ticket_step_sent and not conversation.ticket_step_answered:
                    conversation.ticket_step_answered = turn.ok
                if texts is None:
                    counts["failed"] += 1
                    if len(samples) < MAX_SAMPLES:
                        samples.append(f"{conversation.script}: {turn.error} after {turn.latency:.1f} s")
                    return
                if pause:
                    await pause_until(self.rng.uniform(*pause), deadline)
                message = script.send(texts)
        except StopIteration:
            counts["completed"] += 1
        except Deviation as exc:
            conversation.deviation = str(exc)
            counts["deviated"] += 1
            if len(samples) < MAX_SAMPLES:
                samples.append(f"{conversation.script}, turn {conversation.turns}: {exc}")

    def new_conversation(self, tag: str, user: int, number: int, script: str) -> Conversation:
        rng = random.Random(self.rng.random())
        conversation = Conversation(
            sender=f"{self.prefix}-{tag}-u{user}-c{number}", script=script, rng=rng, phone=phone_number(rng)
        )
        self.conversations.append(conversation)
        return conversation

    # -- levels -----------------------------------------------------------------

    async def level(
        self, users: int, seconds: float, pause: Optional[Tuple[float, float]] = None, tag: Optional[str] = None
    ) -> LevelResult:
        """`users` policyholders for `seconds`; no new message after that."""
        tag = tag or f"{'p' if pause else 'n'}{users}"
        turns: List[Turn] = []
        conversations: Dict[str, Counter] = defaultdict(Counter)
        samples: List[str] = []
        started = time.monotonic()
        deadline = started + seconds
        names = [name for name, _ in self.mix]

        async def user(index: int) -> None:
            if pause:  # arrivals spread over one pause, not all at once
                await pause_until(self.rng.uniform(0, pause[1]), deadline)
            number = 0
            while time.monotonic() < deadline:
                script = names[(index + number) % len(names)]
                conversation = self.new_conversation(tag, index, number, script)
                await self.converse(conversation, deadline, turns, pause, conversations[script], samples)
                number += 1
                if pause:
                    await pause_until(self.rng.uniform(*pause), deadline)

        await asyncio.gather(*(user(i) for i in range(users)))
        ended = max([t.started + t.latency for t in turns], default=time.monotonic())
        return LevelResult(
            "paced" if pause else "closed", users, max(ended - started, 1e-9), turns, dict(conversations), samples
        )

    async def warm_up(self) -> LevelResult:
        """Every script once, one after another (loads lazy graphs, fills the ticket
        pool for status checks); not counted in the figures."""
        turns: List[Turn] = []
        conversations: Dict[str, Counter] = defaultdict(Counter)
        samples: List[str] = []
        started = time.monotonic()
        for number, (script, _) in enumerate(self.mix):
            conversation = self.new_conversation("warm", 0, number, script)
            await self.converse(conversation, started + 600, turns, None, conversations[script], samples)
        return LevelResult("warm-up", 1, time.monotonic() - started, turns, dict(conversations), samples)

    async def long_conversation(self, turns: int) -> Tuple[List[Turn], Optional[str]]:
        """One user, one conversation of `turns` messages, one after another: the
        cost of loading and saving a tracker that keeps growing. Returns the
        turns and why it stopped early, if it did."""
        conversation = Conversation(sender=f"{self.prefix}-long", script="long", rng=random.Random(1))
        script = LONG[self.running.mix](conversation, self.tickets)
        cookies: Dict[str, str] = {}
        found: List[Turn] = []
        message = next(script)
        for _ in range(turns):
            turn, texts = await self.send(conversation, message, cookies)
            found.append(turn)
            if texts is None:
                return found, f"turn {len(found)}: {turn.error}"
            try:
                message = script.send(texts)
            except Deviation as exc:
                return found, f"turn {len(found)}: {exc}"
        return found, None

    async def parse_floor(self, texts: List[str], rounds: int) -> LatencySummary:
        """NLU only: POST /model/parse, one request at a time."""
        turns: List[Turn] = []
        started = time.monotonic()
        for _ in range(rounds):
            for text in texts:
                begun = time.monotonic()
                try:
                    async with self.session.post(
                        f"{self.running.api_url}/model/parse",
                        params={"token": self.running.token},
                        json={"text": text},
                        timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT_SECONDS),
                    ) as response:
                        await response.read()
                        turns.append(
                            Turn(
                                begun,
                                time.monotonic() - begun,
                                response.status == 200,
                                None if response.status == 200 else f"http {response.status}",
                            )
                        )
                except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
                    turns.append(Turn(begun, time.monotonic() - begun, False, type(exc).__name__))
        return summarize(turns, time.monotonic() - started)

    # -- tickets ------------------------------------------------------------------

    def claims(self) -> List[TicketClaim]:
        return [
            TicketClaim(c.sender, c.ticket_step_sent, c.ticket_step_answered, c.ticket_no)
            for c in self.conversations
            if c.files_ticket
        ]


class Walker:
    """One simulated user that sends one message per step(), conversation after
    conversation, rotating through the mix: for measurements that interleave
    two servers turn by turn."""

    def __init__(self, load: Load, tag: str) -> None:
        self.load, self.tag = load, tag
        self.number = 0
        self.turns: List[Turn] = []
        self._script: Optional[Script] = None
        self._conversation: Optional[Conversation] = None
        self._message = ""
        self._cookies: Dict[str, str] = {}

    def _start(self) -> None:
        names = [name for name, _ in self.load.mix]
        name = names[self.number % len(names)]
        self._conversation = self.load.new_conversation(self.tag, 0, self.number, name)
        self._script = dict(self.load.mix)[name](self._conversation, self.load.tickets)
        self._cookies = {}
        self.number += 1
        self._message = next(self._script)

    async def step(self) -> Turn:
        if self._script is None:
            self._start()
        assert self._script is not None and self._conversation is not None
        conversation = self._conversation
        conversation.ticket_step_sent = conversation.ticket_step_next
        turn, texts = await self.load.send(conversation, self._message, self._cookies)
        self.turns.append(turn)
        if conversation.ticket_step_sent and not conversation.ticket_step_answered:
            conversation.ticket_step_answered = turn.ok
        try:
            if texts is None:
                raise Deviation(turn.error or "failed")
            self._message = self._script.send(texts)
        except (StopIteration, Deviation):
            self._script = None  # the next step starts a new conversation
        return turn


async def alternate(first: Walker, second: Walker, seconds: float) -> None:
    """One turn on one server, then one on the other, never both at once, so
    that both see the same background load on a shared machine."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await first.step()
        await second.step()


def new_session(max_connections: int) -> aiohttp.ClientSession:
    # No shared cookie jar: each conversation keeps its own cookies (see send()).
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), connector=aiohttp.TCPConnector(limit=max_connections)
    )
