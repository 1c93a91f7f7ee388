"""Runs `rasa train` as a child, its output to a log file, a progress view on our output instead."""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path
from typing import BinaryIO, List, Mapping, Sequence, TextIO

from bot.launch.processes import StopRequest, stop, stop_requests
from bot.training import history
from bot.training.output import Event, OutputReader, log_tail
from bot.training.progress import TrainingProgress
from bot.training.status import StatusView, duration

TICK = 1.0  # seconds between redraws when Rasa is quiet (a DIET epoch can take a minute)


def train(
    command: Sequence[str],
    *,
    log: Path,
    times: Path,
    record: bool = True,
    out: TextIO,
    terminal: bool,
    columns: int = 80,
    cwd: Path,
    env: Mapping[str, str],
) -> int:
    """Runs `command` to its end and returns its exit status (130 when interrupted).

    The plan comes from `times` (var/training-times.json); a successful run's steps are written there if `record`.
    """
    plan = history.load_plan(times)
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    progress = TrainingProgress(plan, started)
    view = StatusView(out, terminal, columns)
    out.write(f"Training the model; Rasa's full output goes to {log}\n")
    with stop_requests() as request:  # Ctrl-C, or `make` or a supervisor ending us with SIGTERM, stops Rasa
        with open(log, "wb") as log_file:
            child = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us only; we stop its whole group (TensorFlow's workers too)
            )
            assert child.stdout is not None
            try:
                _follow(child.stdout.fileno(), log_file, progress, view, request)
            finally:
                child.stdout.close()
        if request.signum:
            view.close()
            out.write("Training interrupted: stopping rasa...\n")
            out.flush()
            stop([child])
            return 130
        status = child.wait()
    view.close()
    now = time.monotonic()
    if status != 0:
        out.write(f"Training failed (exit status {status}). The end of {log}:\n")
        out.writelines(f"  {line}\n" for line in log_tail(log))
        out.flush()
        return status if status > 0 else 1
    steps = progress.finish(now)
    if record and len(steps) > 1:  # only "preparing": Rasa trained nothing, no news for the plan
        history.record(times, steps, plan)
    out.write(f"Model trained in {duration(now - started)}.\n")
    out.flush()
    return 0


def _follow(fd: int, log_file: BinaryIO, progress: TrainingProgress, view: StatusView, request: StopRequest) -> None:
    """Until the output ends or a stop is requested."""
    reader = OutputReader()
    while not request.signum:
        ready, _, _ = select.select([fd], [], [], TICK)
        chunk = os.read(fd, 65536) if ready else b""
        now = time.monotonic()
        if ready and not chunk:
            _feed(progress, reader.close(), now)
            return
        log_file.write(chunk)
        _feed(progress, reader.feed(chunk), now)
        view.show(progress, now)


def _feed(progress: TrainingProgress, events: List[Event], now: float) -> None:
    for event in events:
        progress.feed(event, now)
