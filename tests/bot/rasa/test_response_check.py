"""The check of action-server responses gives Rasa's own verdicts and errors."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Iterator, List

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    FollowupAction,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    StoryExported,
    UserUtteranceReverted,
    UserUttered,
)

from bot.rasa import response_check

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
    assert response_check.validate_action_result(remote_action(), result) is True
    jsonschema.validate(result, SCHEMA)  # and Rasa's own check agrees


@pytest.mark.parametrize("result", INVALID)
def test_invalid_responses_fail_with_rasas_error(result):
    with pytest.raises(jsonschema.ValidationError) as rasa_error:
        jsonschema.validate(result, SCHEMA)
    with pytest.raises(jsonschema.ValidationError) as ours:
        response_check.validate_action_result(remote_action(), result)
    assert ours.value.message.startswith(rasa_error.value.message)
    assert "Failed to validate Action server response" in ours.value.message
    assert list(ours.value.path) == list(rasa_error.value.path)


def test_install_makes_every_remote_action_use_it(monkeypatch):
    # bot.rasa.server.startup calls install() (tests/bot/rasa/test_server.py); undone after the test.
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    response_check.install()

    assert RemoteAction._validate_action_result is response_check.validate_action_result
    with pytest.raises(jsonschema.ValidationError):
        remote_action()._validate_action_result({"events": [{"event": "no_such_event"}]})


def test_the_schema_is_checked_and_split_by_event_kind_once():
    response_check._validator.cache_clear()
    response_check._by_event_kind.cache_clear()
    for result in VALID * 3:
        response_check.validate_action_result(remote_action(), result)
    assert response_check._validator.cache_info().misses == 1
    assert response_check._by_event_kind.cache_info().misses == 1


# --- checking each event against its own kind only ---------------------------------


def events_of_every_kind() -> List[dict]:
    """Every event Rasa can serialise, as it serialises them, and the schema's
    kinds that have no event class any more."""
    parse_data = {
        "text": "我要投诉",
        "intent": {"name": "complain", "confidence": 0.98},
        "intent_ranking": [{"name": "complain", "confidence": 0.98}],
        "entities": [{"entity": "phone_number", "value": "13812345678", "start": 0, "end": 11}],
    }
    events = [
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("我要投诉", parse_data["intent"], parse_data["entities"], parse_data),
        DefinePrevUserUtteredFeaturization(False),
        EntitiesAdded([{"entity": "phone_number", "value": "1"}]),
        ActiveLoop("complaint_form"),
        SlotSet("phone_number", "13812345678"),
        LoopInterrupted(True),
        ActionExecutionRejected("complaint_form"),
        BotUttered("请问您的姓名？", {"buttons": []}),
        AgentUttered("人工消息"),
        ConversationPaused(),
        ConversationResumed(),
        FollowupAction("utter_greet"),
        ReminderScheduled("remind", datetime(2026, 11, 23, 9, 0), name="r1"),
        ReminderCancelled(name="r1"),
        UserUtteranceReverted(),
        ActionReverted(),
        StoryExported("story.yml"),
        AllSlotsReset(),
        Restarted(),
    ]
    return [event.as_dict() for event in events] + [
        {"event": "form", "name": "complaint_form"},
        {"event": "form_validation", "validate": True},
    ]


ODD_VALUES: List[Any] = [None, True, 0, 1.5, "", "x", [], {}, [{}], {"name": 1}]


def mutations(value: Any) -> Iterator[Any]:
    """`value` with one thing changed: each key dropped, each value (at any depth)
    replaced by each odd value."""
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
            for changed in mutations(value[key]):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for changed in mutations(item):
                yield value[:index] + [changed] + value[index + 1 :]
    for odd in ODD_VALUES:
        if odd != value or type(odd) is not type(value):
            yield copy.deepcopy(odd)


def test_checking_each_event_by_its_kind_agrees_with_the_whole_schema():
    whole = response_check._validator()
    assert response_check.is_valid({"events": events_of_every_kind(), "responses": []})
    responses = [{"events": [event], "responses": [{"text": "好的"}]} for event in events_of_every_kind()]
    checked = valid = 0
    for response in responses:
        assert whole.is_valid(response)  # the corpus itself is valid
        for changed in [response, *mutations(response)]:
            verdict = whole.is_valid(changed)
            assert response_check.is_valid(changed) == verdict, changed
            checked += 1
            valid += verdict
    # Both verdicts are well represented (the mutations are not all harmless or all fatal).
    assert checked > 1000 and 0.2 < valid / checked < 0.8
