"""Rasa's check of the action server's responses, with the same verdicts, cheaper.

Rasa 3.6 checks every response of the action server (each custom action, each
form validation) with `jsonschema.validate(response, schema)`, which validates
the constant schema itself on every call and tries each event against all 23
kinds of a `oneOf`. Here the schema is checked once and its validators reused,
and each event is checked against its own kind's schema only: every kind is
told by a different constant `event` value, so that is the same verdict. A
response that fails is checked again by the whole schema, so errors are
Rasa's. Measurements: docs/benchmark.md, "Why the Rasa overrides exist".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text, Tuple

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _validator() -> Any:
    """Rasa's whole schema, checked once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@lru_cache(maxsize=1)
def _by_event_kind() -> Tuple[Any, Dict[str, Any]]:
    """A validator of the response without its events' `oneOf`, and one per event
    kind: the events' common schema together with that kind's branch."""
    whole = _validator()
    schema = whole.schema
    events = schema["properties"]["events"]
    common = {key: value for key, value in events["items"].items() if key != "oneOf"}
    outer = whole.evolve(schema={**schema, "properties": {**schema["properties"], "events": {"type": events["type"]}}})
    kinds = {
        branch["properties"]["event"]["const"]: whole.evolve(schema={"allOf": [common, branch]})
        for branch in events["items"]["oneOf"]
    }
    return outer, kinds


def is_valid(result: Any) -> bool:
    """Whether Rasa's schema accepts `result`, checking each event against its own kind only."""
    outer, kinds = _by_event_kind()
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or ():
        kind = event.get("event") if isinstance(event, dict) else None
        validator = kinds.get(kind) if isinstance(kind, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result: the same verdicts and errors."""
    if is_valid(result):
        return True
    error = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def install() -> None:
    """Makes every Rasa remote action (custom actions, form validation) use it."""
    RemoteAction._validate_action_result = validate_action_result
