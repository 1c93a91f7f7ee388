"""What every channel passes on to Rasa of the text a policyholder sent.

Two things must never reach Rasa from a policyholder's keyboard:

- Characters that cannot be stored. A lone UTF-16 surrogate (`"\\ud800"` in
  JSON) decodes into a Python string that cannot be encoded as UTF-8; once in
  the tracker, every later turn of the conversation failed. NUL and other
  control characters are refused by PostgreSQL or are invisible noise.
- Rasa's intent syntax. Rasa reads `/intent{"entity": "value"}` as an already
  parsed intent with entities, so typing `/escalation_threat` jumped the queue
  and `/check_ticket_status{...}` did a whole look-up in one message. A text
  starting with `/` passes only when it is exactly the payload of a button the
  bot offered in its latest answer (what the chat page and apps send when a
  button is tapped); otherwise the slash becomes a full-width `／`, which Rasa
  treats as ordinary text for the NLU.
"""

from __future__ import annotations

import re
from typing import AbstractSet, Any, Iterable, Mapping, Set

INTENT_PREFIX = "/"
NEUTRAL_PREFIX = "／"  # U+FF0F FULLWIDTH SOLIDUS: looks the same to the user, means nothing to Rasa

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls other than tab, line feed and carriage return; DEL.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def storable(text: str) -> str:
    """The text with lone surrogates replaced by U+FFFD and control characters removed."""
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def is_intent_syntax(text: str) -> bool:
    return text.lstrip().startswith(INTENT_PREFIX)


def offered_payloads(events: Iterable[Mapping[str, Any]]) -> Set[str]:
    """Button payloads of the bot's messages since the user's latest message (serialised events)."""
    offered: Set[str] = set()
    for event in events:
        kind = event.get("event")
        if kind == "user":
            offered = set()
        elif kind == "bot":
            raw_data = event.get("data")
            data = raw_data if isinstance(raw_data, Mapping) else {}
            for key in ("buttons", "quick_replies"):
                buttons = data.get(key)
                for button in buttons if isinstance(buttons, list) else []:
                    payload = button.get("payload") if isinstance(button, Mapping) else None
                    if isinstance(payload, str) and payload.startswith(INTENT_PREFIX):
                        offered.add(payload)
    return offered


def without_intent_syntax(text: str, offered: AbstractSet[str] = frozenset()) -> str:
    """The text, its leading `/` made full-width unless it is exactly an offered button payload."""
    if text in offered or not is_intent_syntax(text):
        return text
    stripped = text.lstrip()
    return NEUTRAL_PREFIX + stripped[len(INTENT_PREFIX) :]


async def passed_on(text: str, tracker_store: Any, conversation_id: str) -> str:
    """What Rasa receives of `text` typed in a conversation: storable, and intent syntax only
    for a button the bot offered (its tracker is read only when the text starts with `/`)."""
    text = storable(text)
    if not is_intent_syntax(text):
        return text
    tracker = await tracker_store.retrieve(conversation_id) if tracker_store is not None else None
    events = [event.as_dict() for event in tracker.events] if tracker else []
    return without_intent_syntax(text, offered_payloads(events))
