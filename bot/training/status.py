"""The progress view: one rewritten line on a terminal, a line per stage and every ~15 s in a log."""

from __future__ import annotations

import math
from typing import TextIO

from bot.training.progress import TrainingProgress

LOG_PERIOD = 15.0


def duration(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` from an hour on."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def status_line(progress: TrainingProgress, now: float) -> str:
    stage = progress.stage
    if progress.epoch and progress.epoch.total:
        stage += f", epoch {progress.epoch.done}/{progress.epoch.total}"
    # Rounded up to 5 s: a countdown that lands on 0:00 while Rasa still works reads as a hang.
    left = math.ceil(progress.remaining(now) / 5) * 5
    return f"Training {duration(now - progress.started_at)} | {stage} | about {duration(left)} left"


class StatusView:
    def __init__(self, out: TextIO, terminal: bool, columns: int = 80) -> None:
        self._out = out
        self._terminal = terminal
        self._columns = columns
        self._stage = ""
        self._printed_at = -math.inf
        self._width = 0

    def show(self, progress: TrainingProgress, now: float) -> None:
        line = status_line(progress, now)
        if self._terminal:
            line = line[: self._columns - 1]  # a line that wraps cannot be rewritten with \r
            self._out.write("\r" + line.ljust(self._width))
            self._width = len(line)
        elif progress.stage != self._stage or now - self._printed_at >= LOG_PERIOD:
            self._out.write(line + "\n")
            self._printed_at = now
        self._stage = progress.stage
        self._out.flush()

    def close(self) -> None:
        """Ends the rewritten line, so what follows starts on a line of its own."""
        if self._terminal and self._width:
            self._out.write("\n")
            self._out.flush()
        self._width = 0
