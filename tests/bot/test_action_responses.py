"""The cached check of action-server responses behaves as Rasa's own check."""
from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import action_responses

SCHEMA = RemoteAction.action_response_format_spec()

VALID = [
    {},
    {"events": [], "responses": []},
    {
        "events": [
            {"event": "slot", "name": "phone_number", "value": "13812345678", "timestamp": None},
            {"event": "active_loop", "name": "complaint_form"},
            {"event": "followup", "name": "action_listen"},
        ],
        "responses": [{"text": "请核对您的投诉信息：", "buttons": [{"title": "确认提交", "payload": "/affirm"}]}],
    },
]

INVALID = [
    {"events": {"event": "slot"}},  # not a list
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "x"}]},  # no event type
    {"responses": ["just text"]},  # a response must be an object
    [],  # not an object
]


def remote_action() -> RemoteAction:
    return RemoteAction("action_submit_complaint", None)


@pytest.mark.parametrize("result", VALID)
def test_valid_responses_pass(result):
    assert action_responses.validate_action_result(remote_action(), result) is True
    jsonschema.validate(result, SCHEMA)  # and Rasa's own check agrees


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_with_rasas_error(result):
    with pytest.raises(jsonschema.ValidationError) as rasa_error:
        jsonschema.validate(result, SCHEMA)
    with pytest.raises(jsonschema.ValidationError) as ours:
        action_responses.validate_action_result(remote_action(), result)
    assert ours.value.message.startswith(rasa_error.value.message)
    assert "Failed to validate Action server response" in ours.value.message
    assert list(ours.value.path) == list(rasa_error.value.path)


def test_loading_the_nlu_components_installs_it_for_every_remote_action():
    import bot.nlu.components  # noqa: F401  (what every Rasa process loading the model imports)

    assert RemoteAction._validate_action_result is action_responses.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        remote_action()._validate_action_result({"events": [{"event": "no_such_event"}]})


def test_the_schema_is_checked_once():
    action_responses._validator.cache_clear()
    for result in VALID * 3:
        action_responses.validate_action_result(remote_action(), result)
    assert action_responses._validator.cache_info().misses == 1
