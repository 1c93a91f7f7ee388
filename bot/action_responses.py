"""Rasa's check of the action server's responses, with its schema compiled once.

Rasa 3.6 checks every response of the action server (each custom action, each
form validation) with `jsonschema.validate(response, schema)`, and jsonschema
4.x validates the schema itself against the JSON Schema 2020-12 metaschema on
every such call. That was about half of the Rasa server's CPU per turn in the
benchmark (docs/benchmark.md). The schema is a constant, so here it is checked
once and its validator reused; responses are checked exactly as before: same
schema, same best-matching error, same message.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result without re-checking the schema."""
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
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
