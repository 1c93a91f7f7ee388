"""Rasa's training output read as events: a component started, finished or restored, an epoch done."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Union

# rasa/engine/training/hooks.py (LoggingHook) logs these at INFO for every component that trains.
_COMPONENT = re.compile(r"(Starting to train|Finished training|Restored) component '([^']+)'")
# DIET's and TED's tqdm bar (rasa/utils/tensorflow/callback.py): "Epochs:  37%|███▋      | 15/40 [...]".
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+) \[")  # " [": a bar cut short is no count
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Started:
    component: str


@dataclass(frozen=True)
class Finished:
    component: str
    restored: bool = False  # taken from Rasa's training cache, not trained


@dataclass(frozen=True)
class Epoch:
    done: int
    total: int


Event = Union[Started, Finished, Epoch]


def read_event(fragment: str) -> Optional[Event]:
    """The event one fragment of output (a log line or one tqdm redraw) reports, if any."""
    found = _COMPONENT.search(fragment)
    if found:
        verb, component = found.groups()
        if verb == "Starting to train":
            return Started(component)
        return Finished(component, restored=verb == "Restored")
    epochs = _EPOCHS.search(fragment)
    if epochs:
        return Epoch(int(epochs.group(1)), int(epochs.group(2)))
    return None


class OutputReader:
    """The events in the child's output bytes, which it splits at newlines and at tqdm's carriage returns."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> List[Event]:
        parts = re.split(rb"[\r\n]", self._pending + chunk)
        self._pending = parts.pop()
        found = [read_event(_text(part)) for part in parts]
        # tqdm ends a redraw only with the next one: an epoch counts as soon as its bar is drawn.
        pending = read_event(_text(self._pending))
        found.append(pending if isinstance(pending, Epoch) else None)
        return [event for event in found if event is not None]

    def close(self) -> List[Event]:
        rest, self._pending = self._pending, b""
        event = read_event(_text(rest))
        return [event] if event is not None else []


def _text(part: bytes) -> str:
    return _ESCAPE.sub("", part.decode("utf-8", errors="replace"))


def log_tail(log: Path, lines: int = 25) -> List[str]:
    """The last `lines` lines of a training log as a terminal showed them (each tqdm bar in its last state)."""
    text = log.read_bytes().decode("utf-8", errors="replace")
    shown = [_ESCAPE.sub("", line.rstrip("\r").split("\r")[-1]).rstrip() for line in text.split("\n")]
    return [line for line in shown if line.strip()][-lines:]
