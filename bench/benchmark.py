"""Runs the benchmark: trains the starter bot, starts each configuration in
turn, drives the same load through it, and collects the figures."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Dict, List, Optional, Tuple

from bench import topologies
from bench.conversations import PARSE_TEXTS
from bench.load import LevelResult, Load, Walker, alternate, new_session
from bench.machine import CpuShare, CpuWindow
from bench.memory import MemorySampler
from bench.stats import LatencySummary, Reconciliation, Turn, reconcile, summarize
from bench.topologies import Running, StartFailed, Training

LABELS = {
    "a": ("embedded", "(a) embedded default"),
    "b": ("production-1", "(b) production, 1 replica"),
    "c": ("production-2", "(c) production, 2 replicas"),
    "d": ("starter", "(d) starter bot (`rasa init`)"),
}
PAUSE_BETWEEN_LEVELS_SECONDS = 3
PAUSE_BETWEEN_BLOCKS_SECONDS = 1


@dataclass
class Options:
    configs: List[str]
    levels: List[int]
    seconds: float
    paced_levels: List[int]
    paced_seconds: float
    paced_on: List[str]
    pause: Tuple[float, float]
    parse_rounds: int
    long_turns: int
    train: bool
    starter_project: Optional[Path]
    keep: bool
    blocks: int = 3  # a closed-loop level alternates with the starter bot's in this many blocks each
    p95_limit_ms: float = 500.0


@dataclass
class ConfigResult:
    key: str
    name: str
    label: str
    training: Optional[Training] = None
    failure: Optional[str] = None
    notes: List[str] = field(default_factory=list)
    idle_memory: Dict[str, int] = field(default_factory=dict)
    peak_memory: Dict[str, int] = field(default_factory=dict)
    floor: Optional[LatencySummary] = None
    long: List[Turn] = field(default_factory=list)  # one conversation, turn by turn
    # One conversation each, turns alternating with the starter bot: (this one's, the starter's).
    paired: Optional[Tuple[List[Turn], List[Turn]]] = None
    warm_up: Optional[LevelResult] = None
    closed: Dict[int, LevelResult] = field(default_factory=dict)
    paced: Dict[int, LevelResult] = field(default_factory=dict)
    other_load: Dict[str, Optional[float]] = field(default_factory=dict)  # level tag -> share of all cores
    cpu_per_turn: Dict[str, Dict[str, float]] = field(default_factory=dict)  # level tag -> group -> CPU ms
    # The starter bot at each closed-loop level, in blocks alternating with this
    # configuration's (same minutes, same machine state), and its CPU per turn: the ratios' baseline.
    starter_closed: Dict[int, LevelResult] = field(default_factory=dict)
    starter_cpu_per_turn: Dict[str, Dict[str, float]] = field(default_factory=dict)
    tickets: Optional[Reconciliation] = None

    @property
    def measured(self) -> bool:
        return self.failure is None and bool(self.closed)


def written_tickets(database_url: str, prefix: str) -> List[Tuple[str, str]]:
    """(conversation id, ticket number) of every ticket this run's conversations got."""
    from sqlalchemy import select

    from bot.db import Database
    from bot.models import Ticket

    database = Database(database_url)
    try:
        with database.transaction() as session:
            rows = session.execute(
                select(Ticket.conversation_id, Ticket.ticket_no).where(Ticket.conversation_id.like(f"{prefix}-%"))
            ).all()
        return [(conversation_id, ticket_no) for conversation_id, ticket_no in rows]
    finally:
        database.dispose()


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def measure(
    running: Running, result: ConfigResult, options: Options, run_id: str, baseline: Optional[Running] = None
) -> None:
    """Every measurement of one configuration; `baseline` (the starter bot, idle
    meanwhile) takes turns with it in the paired single-conversation phase."""
    prefix = f"bench-{run_id}-{result.key}"
    biggest = max(options.levels + (options.paced_levels if result.key in options.paced_on else []))
    async with new_session(biggest + 8) as session:
        load = Load(running, session, prefix)
        starter_load = Load(baseline, session, f"{prefix}-starter") if baseline is not None else None
        with MemorySampler(running.processes) as memory:
            result.idle_memory = memory.sample()
            say(f"{result.label}: warm-up (every script once)")
            result.warm_up = await load.warm_up()
            result.floor = await load.parse_floor(PARSE_TEXTS[running.mix], options.parse_rounds)
            say(f"{result.label}: NLU floor p50 {result.floor.p50_ms} ms")
            if starter_load is not None:
                ours = Walker(load, "pair")
                theirs = Walker(starter_load, "pair")
                await alternate(ours, theirs, options.seconds)
                result.paired = (ours.turns, theirs.turns)
                a, b = summarize(ours.turns, 1).p50_ms, summarize(theirs.turns, 1).p50_ms
                say(
                    f"{result.label}: one conversation, turns alternating with the starter bot: "
                    f"p50 {a} ms vs {b} ms"
                )
            if options.long_turns:
                result.long, stopped = await load.long_conversation(options.long_turns)
                if stopped:
                    result.notes.append(f"the long conversation stopped at {stopped}")
                say(
                    f"{result.label}: one conversation of {len(result.long)} turns"
                    + (f", stopped at {stopped}" if stopped else "")
                )
            for users in options.levels:
                await asyncio.sleep(PAUSE_BETWEEN_LEVELS_SECONDS)
                if starter_load is None:
                    level, cpu = await closed_level(load, users, options.seconds)
                else:
                    # The machine's speed drifts by 10-30 % over minutes: the level runs in
                    # blocks that alternate with the starter bot's, which keeps the ratio fair.
                    block = options.seconds / options.blocks
                    our_blocks: List[Tuple[LevelResult, CpuShare]] = []
                    their_blocks: List[Tuple[LevelResult, CpuShare]] = []
                    for number in range(options.blocks):
                        our_blocks.append(await closed_level(load, users, block, number))
                        await asyncio.sleep(PAUSE_BETWEEN_BLOCKS_SECONDS)
                        their_blocks.append(await closed_level(starter_load, users, block, number))
                        await asyncio.sleep(PAUSE_BETWEEN_BLOCKS_SECONDS)
                    level, cpu = combined(our_blocks)
                    theirs_level, theirs_cpu = combined(their_blocks)
                    result.starter_closed[users] = theirs_level
                    result.starter_cpu_per_turn[f"n{users}"] = theirs_cpu.per_turn_ms(theirs_level.summary.turns)
                    say(
                        f"{result.label}: the starter bot in alternate blocks, {users} users: "
                        f"{theirs_level.summary.throughput} turns/s, {theirs_level.summary.errors} errors"
                    )
                result.closed[users] = level
                result.other_load[f"n{users}"] = cpu.other_share
                result.cpu_per_turn[f"n{users}"] = cpu.per_turn_ms(level.summary.turns)
                s = level.summary
                say(
                    f"{result.label}: {users} users back to back: p50 {s.p50_ms} ms, p95 {s.p95_ms} ms, "
                    f"{s.throughput} turns/s, {s.errors} errors"
                )
            if result.key in options.paced_on:
                for users in options.paced_levels:
                    await asyncio.sleep(PAUSE_BETWEEN_LEVELS_SECONDS)
                    with CpuWindow(running.processes) as window:
                        level = await load.level(users, options.paced_seconds, pause=options.pause)
                    result.paced[users] = level
                    result.other_load[f"p{users}"] = window.share.other_share
                    s = level.summary
                    say(
                        f"{result.label}: {users} users pausing {options.pause[0]:g}–{options.pause[1]:g} s: "
                        f"p95 {s.p95_ms} ms, {s.errors} errors"
                    )
                    if s.errors or s.p95_ms is None or s.p95_ms > options.p95_limit_ms:
                        break  # past capacity: higher levels only take longer
        result.peak_memory = dict(memory.peak)
    if running.database_url:
        result.tickets = reconcile(load.claims(), written_tickets(running.database_url, prefix))
        say(
            f"{result.label}: tickets expected {result.tickets.expected}, written {result.tickets.written}, "
            f"{'OK' if result.tickets.ok else 'MISMATCH'}"
        )


async def closed_level(load: Load, users: int, seconds: float, block: int = 0) -> Tuple[LevelResult, CpuShare]:
    with CpuWindow(load.running.processes) as window:
        level = await load.level(users, seconds, tag=f"n{users}b{block}")  # each block its own conversations
    return level, window.share


def combined(blocks: List[Tuple[LevelResult, CpuShare]]) -> Tuple[LevelResult, CpuShare]:
    return (LevelResult.combined([level for level, _ in blocks]), sum((cpu for _, cpu in blocks), CpuShare()))


def production_unavailable() -> Optional[str]:
    """Why (b)/(c) cannot run here, or None."""
    if not topologies.PRODUCTION_SUPERVISOR.exists():
        return "the production topology (scripts/run-production) does not exist yet"
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379), ("RabbitMQ", 5672)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            return f"{name} is not reachable on 127.0.0.1:{port}"
    return None


def run(options: Options) -> Tuple[List[ConfigResult], Dict[str, str]]:
    run_id = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    say(f"work directory {workdir}")
    results: Dict[str, ConfigResult] = {key: ConfigResult(key, *LABELS[key]) for key in options.configs}
    trainings: Dict[str, str] = {}
    try:
        complaints_training: Optional[Training] = None
        if {"a", "b", "c"} & set(options.configs):
            if options.train:
                say("training this bot (fresh `rasa train`, empty cache)...")
            complaints_training = (
                topologies.train_complaints(workdir) if options.train else topologies.existing_complaints_model()
            )
            if complaints_training.seconds:
                say(f"this bot trained in {complaints_training.seconds:.0f} s")
        starter_training: Optional[Training] = None
        starter_project = options.starter_project or workdir / "starter"
        if "d" in options.configs:
            if options.starter_project:
                starter_training = topologies.existing_starter(starter_project)
            else:
                say("training Rasa's starter bot (`rasa init --no-prompt`)...")
                starter_training = topologies.train_starter(starter_project)
                say(f"starter bot trained in {starter_training.seconds:.0f} s")

        why_not_production = production_unavailable()
        with ExitStack() as stack:
            # The starter bot first, on its own; it then stays up, idle, to take
            # turns with each of this bot's configurations (Walker, alternate).
            baseline: Optional[Running] = None
            if "d" in options.configs:
                result = results["d"]
                assert starter_training
                result.training = starter_training
                say(f"{result.label}: starting...")
                try:
                    baseline = stack.enter_context(topologies.starter(starter_project, starter_training.model))
                    result.notes.extend(baseline.notes)
                    say(f"{result.label}: {', '.join(baseline.notes)}")
                    asyncio.run(measure(baseline, result, options, run_id))
                except StartFailed as exc:
                    result.failure = f"did not start: {exc}"
                    say(f"{result.label}: {result.failure}")
            for key in [key for key in options.configs if key != "d"]:
                result = results[key]
                assert complaints_training
                result.training = complaints_training
                starts: Callable[[], ContextManager[Running]]
                if key == "a":
                    starts = lambda: topologies.embedded(workdir, complaints_training.model)  # noqa: E731
                else:
                    if why_not_production:
                        result.failure = f"not run: {why_not_production}"
                        say(f"{result.label}: {result.failure}")
                        continue
                    replicas = 1 if key == "b" else 2
                    starts = lambda replicas=replicas: topologies.production(  # noqa: E731
                        workdir, complaints_training.model, replicas
                    )
                say(f"{result.label}: starting...")
                try:
                    with starts() as running:
                        result.notes.extend(running.notes)
                        say(f"{result.label}: {', '.join(running.notes)}")
                        asyncio.run(measure(running, result, options, run_id, baseline))
                except StartFailed as exc:
                    result.failure = f"did not start: {exc}"
                    say(f"{result.label}: {result.failure}")
        if complaints_training:
            trainings["complaints"] = complaints_training.note
        if starter_training:
            trainings["starter"] = starter_training.note
    finally:
        if options.keep:
            say(f"kept {workdir}")
        else:
            topologies.remove(workdir)
    return [results[key] for key in options.configs], trainings
