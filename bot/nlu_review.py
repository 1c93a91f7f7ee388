"""The review loop: messages the assistant did not understand, a reviewer's intent for them, training data out.

Read from Rasa's tracker store: fallbacks, low-confidence parses and the message a
user wrote before a conversation went to a human. Similar messages are grouped
(same text once normalised, numbers aside); personal numbers are masked before
anything is shown or stored. Reviewed messages are written as Rasa 3 NLU
training data by `python -m bot nlu export-reviewed`, for a person to check in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import AbstractSet, Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import NluReview
from bot.privacy import mask_text
from bot.retention import TrackerEvents
from bot.text_normalisation import normalise

LOW_CONFIDENCE = 0.6  # a parse below this was a guess (the fallback threshold is 0.4)
SCANNED_EVENTS = 20000  # the newest user and pause events read per listing
MAX_GROUPS = 200
MAX_SAMPLES = 5  # texts shown per group
MAX_KEY = 200
MAX_TEXT = 500  # longer messages are complaints' descriptions, not NLU examples
FALLBACK = "nlu_fallback"
HANDOFF_INTENTS = {"request_human", "escalation_threat"}
REASONS = {"fallback": "未理解", "low_confidence": "把握不大", "before_handoff": "转人工前"}


class ReviewError(ValueError):
    """A review the desk refuses; the message is Chinese and shown as it is."""


@dataclass(frozen=True)
class Unclear:
    """One user message the assistant did not understand or was unsure about."""

    conversation_id: str
    text: str  # masked
    reason: str  # fallback | low_confidence | before_handoff
    intent: Optional[str]
    confidence: float
    at: float


@dataclass
class Group:
    """Similar unclear messages, reviewed together."""

    key: str
    texts: List[str] = field(default_factory=list)
    messages: Set[Tuple[str, float]] = field(default_factory=set)  # (conversation, time) of each message
    reasons: Set[str] = field(default_factory=set)
    intents: Set[str] = field(default_factory=set)
    last_at: float = 0.0

    @property
    def count(self) -> int:
        return len(self.messages)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "key": self.key,
            "texts": self.texts,
            "count": self.count,
            "reasons": [REASONS[reason] for reason in sorted(self.reasons)],
            "predicted": sorted(self.intents),
            "last_at": self.last_at,
        }


def group_key(text: str) -> str:
    """Messages with this key are the same message: normalised, numbers, punctuation and case aside."""
    plain = normalise(text).text.lower()
    plain = re.sub(r"\d+", "#", plain)
    return re.sub(r"[^\w#]+", "", plain)[:MAX_KEY]


def _parse(data: str) -> Dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def unclear_messages(events: Iterable[Tuple[str, str]], threshold: float = LOW_CONFIDENCE) -> List[Unclear]:
    """The unclear user messages among tracker events given as (conversation id, stored JSON), oldest first.

    A message unclear for two reasons (a fallback, then a handoff) is listed for each; grouping counts it once.
    """
    found: List[Unclear] = []
    # Per conversation, the last user message that was not itself a request for a human.
    last_plain: Dict[str, Tuple[Dict[str, Any], str, float]] = {}
    for conversation_id, data in events:
        event = _parse(data)
        kind, at = event.get("event"), float(event.get("timestamp") or 0)
        if kind == "pause":
            before = last_plain.pop(conversation_id, None)
            if before is not None:
                intent, confidence = _intent(before[0])
                found.append(Unclear(conversation_id, before[1], "before_handoff", intent, confidence, before[2]))
            continue
        text = event.get("text")
        if kind != "user" or not isinstance(text, str) or not text.strip() or text.startswith("/"):
            continue  # buttons and payloads were not typed
        if len(text) > MAX_TEXT:
            continue
        intent, confidence = _intent(event)
        masked = mask_text(text)
        reason = None
        if intent == FALLBACK:
            reason = "fallback"
        elif intent is not None and confidence < threshold:
            reason = "low_confidence"
        if reason is not None:
            found.append(Unclear(conversation_id, masked, reason, intent, confidence, at))
        if intent not in HANDOFF_INTENTS:
            last_plain[conversation_id] = (event, masked, at)
    return found


def _intent(event: Dict[str, Any]) -> Tuple[Optional[str], float]:
    parsed = event.get("parse_data") or {}
    intent = parsed.get("intent") if isinstance(parsed, dict) else None
    if not isinstance(intent, dict):
        return None, 0.0
    name = intent.get("name")
    try:
        confidence = float(intent.get("confidence") or 0.0)
    except (TypeError, ValueError):
        confidence = 0.0
    return (name if isinstance(name, str) else None), confidence


def grouped(messages: Iterable[Unclear], skip: AbstractSet[str] = frozenset()) -> List[Group]:
    """Groups of similar messages, the most frequent and then the most recent first; keys in `skip` left out."""
    groups: Dict[str, Group] = {}
    for message in messages:
        key = group_key(message.text)
        if not key or key in skip:
            continue
        group = groups.setdefault(key, Group(key))
        group.messages.add((message.conversation_id, message.at))
        group.reasons.add(message.reason)
        if message.intent:
            group.intents.add(message.intent)
        group.last_at = max(group.last_at, message.at)
        if message.text not in group.texts and len(group.texts) < MAX_SAMPLES:
            group.texts.append(message.text)
    ordered = sorted(groups.values(), key=lambda group: (-group.count, -group.last_at))
    return ordered[:MAX_GROUPS]


def domain_intents(domain_file: Path) -> List[str]:
    """The intents a reviewer can choose from: those of domain.yml."""
    with open(domain_file, encoding="utf-8") as handle:
        domain = yaml.safe_load(handle) or {}
    intents = []
    for item in domain.get("intents") or ():
        name = next(iter(item)) if isinstance(item, dict) else item
        if isinstance(name, str):
            intents.append(name)
    return intents


class NluReviews:
    """Unclear messages from the tracker store and the reviews of them in the ticket database."""

    def __init__(self, db: Database, trackers: TrackerEvents, intents: Sequence[str], clock: Clock = utc_now) -> None:
        self.db = db
        self.trackers = trackers
        self.intents = list(intents)
        self.clock = clock

    def pending(self) -> List[Group]:
        """Groups of unclear messages nobody has reviewed yet."""
        events = self.trackers.latest(("user", "pause"), SCANNED_EVENTS)
        with self.db.transaction() as session:
            reviewed = set(session.execute(select(NluReview.text_key)).scalars())
        return grouped(unclear_messages(events), reviewed)

    def review(self, key: str, intent: str, reviewer: str) -> Dict[str, Any]:
        """Records the intent for a pending group (out of scope is the intent `out_of_scope`)."""
        if intent not in self.intents:
            raise ReviewError("请选择领域文件中的意图")
        group = next((group for group in self.pending() if group.key == key), None)
        if group is None:
            raise ReviewError("这组消息已被审核或已不在待审核列表中，请刷新页面")
        row = NluReview(text_key=key, text=group.texts[0], intent=intent, reviewer=reviewer, reviewed_at=self.clock())
        try:
            with self.db.transaction() as session:
                session.add(row)
                session.flush()
                return row.as_dict()
        except IntegrityError:
            raise ReviewError("这组消息已被他人审核，请刷新页面") from None

    def reviewed(self) -> List[Dict[str, Any]]:
        """Every review, oldest first."""
        with self.db.transaction() as session:
            rows = session.execute(select(NluReview).order_by(NluReview.id)).scalars()
            return [row.as_dict() for row in rows]


# -- export ---------------------------------------------------------------------

_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def training_texts(nlu_dir: Path, leave_out: Optional[Path] = None) -> Set[str]:
    """The group keys of the examples already in the training data (entity annotations read as their text)."""
    keys: Set[str] = set()
    for path in sorted(nlu_dir.glob("*.yml")):
        if leave_out is not None and path.resolve() == leave_out.resolve():
            continue
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        for block in data.get("nlu") or ():
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    keys.add(group_key(_ANNOTATION.sub(r"\1", line[2:])))
    return keys


def _example(text: str) -> str:
    # One line, and no brackets Rasa would read as an entity annotation.
    flat = " ".join(text.split())
    return flat.replace("[", "【").replace("]", "】").replace("{", "｛").replace("}", "｝")


def export_yaml(reviews: Iterable[Dict[str, Any]], known: Set[str], now: datetime) -> Tuple[str, int]:
    """Rasa 3 NLU YAML of the reviewed examples not already in the training data, and how many it holds."""
    by_intent: Dict[str, List[str]] = {}
    seen = set(known)
    for review in reviews:
        example = _example(str(review["text"]))
        key = group_key(example)
        if not key or key in seen:
            continue
        seen.add(key)
        by_intent.setdefault(str(review["intent"]), []).append(example)
    lines = [
        'version: "3.1"',
        f"# Reviewed on the desk ({now.date().isoformat()}, python -m bot nlu export-reviewed); check it in by hand.",
        "nlu:",
    ]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {example}" for example in by_intent[intent])
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n", sum(len(examples) for examples in by_intent.values())
