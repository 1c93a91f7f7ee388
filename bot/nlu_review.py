"""The review loop: messages the assistant did not understand, a reviewer's intent for them, training data out.

Read from Rasa's tracker store: fallbacks, low-confidence parses, the message a
user wrote before a conversation went to a human, and messages an agent holding
the conversation marked (`nlu_marks`). Similar messages are grouped (same text
once normalised, numbers aside); personal numbers are masked before anything is
shown or stored. A reviewer gives the intent and, optionally, entities: a type
and a substring of the masked text that does not touch a masked number (the
reviewer cannot know what is under the stars, and a half-masked number is no
example of an entity). Reviewed messages are written as Rasa 3 NLU training data
by `python -m bot nlu export-reviewed`, for a person to check in.
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
from bot.models import NluMark, NluReview
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
REASONS = {"fallback": "未理解", "low_confidence": "把握不大", "before_handoff": "转人工前", "marked": "坐席标记"}
MAX_MARKS = 2000  # the newest marks looked for per listing
MARK_TOLERANCE = 0.001  # seconds: the desk's JSON may round an event's timestamp
MAX_ENTITIES = 10
MAX_ENTITY_VALUE = 100
# A masked number as mask_text() leaves it: stars with the digits kept on either side.
_MASKED = re.compile(r"[0-9０-９Xx]*\*+[0-9０-９Xx]*")
_ANNOTATION_CHARACTERS = set("[](){}\n\r")
_VALUED = re.compile(r"\]\{([^{}]*)\}")  # the annotation of an entity with a normalised value


class ReviewError(ValueError):
    """A review the desk refuses; the message is Chinese and shown as it is."""


@dataclass(frozen=True)
class Unclear:
    """One user message the assistant did not understand or was unsure about."""

    conversation_id: str
    text: str  # masked
    reason: str  # fallback | low_confidence | before_handoff | marked
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


def unclear_messages(
    events: Iterable[Tuple[str, str]],
    threshold: float = LOW_CONFIDENCE,
    marked: AbstractSet[Tuple[str, float]] = frozenset(),
) -> List[Unclear]:
    """The unclear user messages among tracker events given as (conversation id, stored JSON), oldest first.

    `marked` holds the (conversation id, event timestamp) of messages agents marked.
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
        if (conversation_id, at) in marked:
            found.append(Unclear(conversation_id, masked, "marked", intent, confidence, at))
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


def _domain_names(domain_file: Path, section: str) -> List[str]:
    with open(domain_file, encoding="utf-8") as handle:
        domain = yaml.safe_load(handle) or {}
    names = []
    for item in domain.get(section) or ():
        name = next(iter(item)) if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name)
    return names


def domain_intents(domain_file: Path) -> List[str]:
    """The intents a reviewer can choose from: those of domain.yml."""
    return _domain_names(domain_file, "intents")


def domain_entities(domain_file: Path) -> List[str]:
    """The entity types a reviewer can annotate: those of domain.yml."""
    return _domain_names(domain_file, "entities")


def entity_values(nlu_dir: Path) -> Dict[str, List[str]]:
    """The normalised values the training data gives each entity that has them (claim_type: medical, …):
    a reviewed example of such an entity must name one, as the training data does."""
    values: Dict[str, Set[str]] = {}
    for path in sorted(nlu_dir.glob("*.yml")):
        for match in _VALUED.finditer(path.read_text(encoding="utf-8")):
            try:
                annotation = json.loads("{" + match.group(1) + "}")
            except ValueError:
                continue
            entity, value = annotation.get("entity"), annotation.get("value")
            if isinstance(entity, str) and isinstance(value, str):
                values.setdefault(entity, set()).add(value)
    return {entity: sorted(found) for entity, found in sorted(values.items())}


def masked_spans(text: str) -> List[Tuple[int, int]]:
    """(start, end) of every masked number in a masked text."""
    return [match.span() for match in _MASKED.finditer(text)]


def entity_spans(
    text: str, entities: Any, types: Sequence[str], values: Optional[Dict[str, List[str]]] = None
) -> List[Dict[str, Any]]:
    """The reviewer's entities ([{"entity", "value", "normalised"}]) placed on `text` (first free occurrence
    of each value), sorted; ReviewError for a type not in the domain, a value not in the text, on a masked
    number or overlapping, or a normalised value missing or not one of `values` for the type."""
    if entities is None:
        return []
    if not isinstance(entities, list) or len(entities) > MAX_ENTITIES:
        raise ReviewError(f"实体最多{MAX_ENTITIES}个")
    placed: List[Dict[str, Any]] = []
    masked = masked_spans(text)
    for item in entities:
        kind = item.get("entity") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        if kind not in types:
            raise ReviewError("请选择领域文件中的实体类型")
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ENTITY_VALUE:
            raise ReviewError("请填写消息中的一段文字作为实体")
        if value != value.strip() or _ANNOTATION_CHARACTERS & set(value):
            raise ReviewError("实体文字不能以空格开头或结尾，也不能含有括号或换行")
        start = _free_occurrence(text, value, placed)
        if start is None:
            raise ReviewError(f"“{value}”不在消息中（或与另一个实体重叠）")
        end = start + len(value)
        if any(start < m_end and m_start < end for m_start, m_end in masked):
            raise ReviewError("已打码的号码不能标注为实体")
        span = {"entity": kind, "start": start, "end": end, "value": value}
        known = (values or {}).get(str(kind))
        if known:
            normalised = item.get("normalised")
            if normalised not in known:
                raise ReviewError(f"请为实体 {kind} 选择取值（{'、'.join(known)}）")
            span["normalised"] = normalised
        placed.append(span)
    return sorted(placed, key=lambda entity: entity["start"])


def _free_occurrence(text: str, value: str, placed: Sequence[Dict[str, Any]]) -> Optional[int]:
    start = text.find(value)
    while start >= 0:
        end = start + len(value)
        if not any(start < other["end"] and other["start"] < end for other in placed):
            return start
        start = text.find(value, start + 1)
    return None


class NluReviews:
    """Unclear messages from the tracker store and the reviews of them in the ticket database."""

    def __init__(
        self,
        db: Database,
        trackers: TrackerEvents,
        intents: Sequence[str],
        clock: Clock = utc_now,
        entities: Sequence[str] = (),
        entity_values: Optional[Dict[str, List[str]]] = None,
    ) -> None:
        self.db = db
        self.trackers = trackers
        self.intents = list(intents)
        self.entities = list(entities)
        self.entity_values = dict(entity_values or {})
        self.clock = clock

    def pending(self) -> List[Group]:
        """Groups of unclear messages nobody has reviewed yet."""
        events = self.trackers.latest(("user", "pause"), SCANNED_EVENTS)
        with self.db.transaction() as session:
            reviewed = set(session.execute(select(NluReview.text_key)).scalars())
            marked = {
                (conversation_id, at)
                for conversation_id, at in session.execute(
                    select(NluMark.conversation_id, NluMark.event_at).order_by(NluMark.id.desc()).limit(MAX_MARKS)
                )
            }
        return grouped(unclear_messages(events, marked=marked), reviewed)

    def review(
        self, key: str, intent: str, reviewer: str, entities: Optional[List[Dict[str, Any]]] = None
    ) -> Dict[str, Any]:
        """Records the intent (out of scope is the intent `out_of_scope`) and the entities for a pending group."""
        if intent not in self.intents:
            raise ReviewError("请选择领域文件中的意图")
        group = next((group for group in self.pending() if group.key == key), None)
        if group is None:
            raise ReviewError("这组消息已被审核或已不在待审核列表中，请刷新页面")
        text = group.texts[0]
        spans = entity_spans(text, entities, self.entities, self.entity_values)
        row = NluReview(
            text_key=key,
            text=text,
            intent=intent,
            entities=spans or None,
            reviewer=reviewer,
            reviewed_at=self.clock(),
        )
        try:
            with self.db.transaction() as session:
                session.add(row)
                session.flush()
                return row.as_dict()
        except IntegrityError:
            raise ReviewError("这组消息已被他人审核，请刷新页面") from None

    def mark(self, conversation_id: str, at: float, handoff_id: int, agent: str) -> bool:
        """Marks the typed user message of the conversation at time `at` as not understood; False if it
        was marked already. ReviewError when the conversation has no such message."""
        found: Optional[float] = None
        for data in self.trackers.events_of(conversation_id):
            event = _parse(data)
            stamp = event.get("timestamp")
            if event.get("event") != "user" or not isinstance(stamp, (int, float)):
                continue
            if abs(float(stamp) - at) <= MARK_TOLERANCE:
                text = event.get("text")
                if not isinstance(text, str) or not text.strip() or text.startswith("/"):
                    raise ReviewError("按钮点击不能标记，请标记用户输入的文字")
                if len(text) > MAX_TEXT:
                    raise ReviewError("这条消息太长，不适合作为训练例句")
                found = float(stamp)
                break
        if found is None:
            raise ReviewError("该会话中没有这条用户消息")
        row = NluMark(
            conversation_id=conversation_id,
            event_at=found,
            handoff_id=handoff_id,
            marked_by=agent,
            marked_at=self.clock(),
        )
        try:
            with self.db.transaction() as session:
                session.add(row)
            return True
        except IntegrityError:
            return False

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


def _plain(text: str) -> str:
    # One line, and no brackets Rasa would read as an entity annotation.
    flat = re.sub(r"\s+", " ", text)
    return flat.replace("[", "【").replace("]", "】").replace("{", "｛").replace("}", "｝")


def _example(text: str, entities: Sequence[Dict[str, Any]] = ()) -> str:
    """The training example: the text on one line, each entity written `[text](entity)`, or
    `[text]{"entity": …, "value": …}` with its normalised value, as the training data writes it."""
    parts, position = [], 0
    for entity in sorted(entities, key=lambda item: int(item["start"])):
        start, end = int(entity["start"]), int(entity["end"])
        parts.append(_plain(text[position:start]))
        annotation = {"entity": entity["entity"], "value": entity["normalised"]} if entity.get("normalised") else None
        suffix = json.dumps(annotation, ensure_ascii=False) if annotation else f"({entity['entity']})"
        parts.append(f"[{_plain(text[start:end])}]{suffix}")
        position = end
    parts.append(_plain(text[position:]))
    return "".join(parts).strip()


def export_yaml(reviews: Iterable[Dict[str, Any]], known: Set[str], now: datetime) -> Tuple[str, int]:
    """Rasa 3 NLU YAML of the reviewed examples not already in the training data, and how many it holds.

    The text stays masked: a masked number is never annotated, and the header says how many examples
    hold one, for the person checking the file in to rewrite with a made-up number or drop.
    """
    by_intent: Dict[str, List[str]] = {}
    seen = set(known)
    with_masked = 0
    for review in reviews:
        example = _example(str(review["text"]), review.get("entities") or ())
        key = group_key(_ANNOTATION.sub(r"\1", example))
        if not key or key in seen:
            continue
        seen.add(key)
        with_masked += bool(masked_spans(example))
        by_intent.setdefault(str(review["intent"]), []).append(example)
    lines = [
        'version: "3.1"',
        f"# Reviewed on the desk ({now.date().isoformat()}, python -m bot nlu export-reviewed); check it in by hand.",
    ]
    if with_masked:
        lines.append(
            f"# {with_masked} example(s) hold a masked number (****): rewrite it with a made-up number"
            " (and annotate it) or delete the example before checking in."
        )
    lines.append("nlu:")
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {example}" for example in by_intent[intent])
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n", sum(len(examples) for examples in by_intent.values())
