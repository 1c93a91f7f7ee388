"""The domain's responses as Rasa renders them: slot placeholders filled, button payloads intact.

Rasa's template interpolator reads every `{...}` in a response, button payloads
included, as a slot placeholder; a payload such as `/inform{"complaint_category":"sales"}`
made it log an ERROR with a traceback each time the question was asked.
"""

import json
import logging
import re
import warnings

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from actions.materials import reasons_button
from bot import materials, replies
from bot.settings import PROJECT_ROOT, Settings

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
PAYLOAD = re.compile(r"/(\w+)(\{.*\})?")


def variations():
    for name, variants in DOMAIN.responses.items():
        for index, _ in enumerate(variants):
            yield pytest.param(name, index, id=f"{name}[{index}]")


@pytest.mark.parametrize("name, index", variations())
async def test_every_response_renders_without_interpolation_errors(name, index, capsys, caplog):
    tracker = DialogueStateTracker.from_dict("conv-1", [], DOMAIN.slots)
    tracker.slots["lookup_ticket_id"].value = "TS20261122000001"
    for condition in DOMAIN.responses[name][index].get("condition") or []:  # a conditional variation's slots
        tracker.slots[condition["name"]].value = condition["value"]
    generator = TemplatedNaturalLanguageGenerator({name: [DOMAIN.responses[name][index]]})
    with caplog.at_level(logging.DEBUG):
        rendered = await generator.generate(name, tracker, "rest")
    printed = capsys.readouterr()
    assert "interpolat" not in printed.out + printed.err + caplog.text
    assert "{" not in rendered.get("text", "")  # every placeholder filled
    for button in rendered.get("buttons", []):
        match = PAYLOAD.fullmatch(button["payload"])
        assert match and match.group(1) in DOMAIN.intents, button
        if match.group(2):
            entities = json.loads(match.group(2))
            assert set(entities) <= set(DOMAIN.entities), button


async def test_category_buttons_reach_the_user_as_rasa_payloads():
    tracker = DialogueStateTracker.from_dict("conv-1", [], DOMAIN.slots)
    rendered = await TemplatedNaturalLanguageGenerator(DOMAIN.responses).generate(
        "utter_ask_complaint_category", tracker, "rest"
    )
    assert rendered["buttons"][0] == {"title": "销售纠纷", "payload": '/inform{"complaint_category":"sales"}'}


def action_buttons():
    """Every button a custom action builds (the domain's own are checked above)."""
    script = materials.load(Settings.from_env().materials_file)
    yield from [*replies.SUMMARY_BUTTONS, *replies.CONSENT_BUTTONS, *replies.CALLBACK_FIELD_HELP_BUTTONS]
    yield from [*replies.field_help_buttons(True), *replies.category_buttons(), *replies.field_choice_buttons()]
    yield from (reasons_button(claim_type) for claim_type in script.claim_types)


@pytest.mark.parametrize("button", action_buttons(), ids=lambda button: button["payload"])
def test_rasa_keeps_every_key_of_an_action_button_without_a_warning(button):
    # An undeclared key (the materials answer's `materials_view`) was dropped with a warning on every tap.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parsed = YAMLStoryReader.unpack_regex_message(Message(data={TEXT: button["payload"]}), DOMAIN)
    match = PAYLOAD.fullmatch(button["payload"])
    assert match and parsed.get(INTENT)[INTENT_NAME_KEY] == match.group(1)
    expected = json.loads(match.group(2) or "{}")
    assert {entity["entity"]: entity["value"] for entity in parsed.get(ENTITIES) or []} == expected


@pytest.mark.parametrize("purpose, offered", [("status", True), ("withdraw", False)])
async def test_the_ticket_question_offers_the_look_up_by_phone_and_name_to_a_status_question_only(purpose, offered):
    tracker = DialogueStateTracker.from_dict("conv-1", [], DOMAIN.slots)
    tracker.slots["status_purpose"].value = purpose
    rendered = await TemplatedNaturalLanguageGenerator(DOMAIN.responses).generate(
        "utter_ask_lookup_ticket_id", tracker, "rest"
    )
    assert rendered["text"].startswith("请提供您的投诉编号")
    assert ("手机号和姓名" in rendered["text"]) is offered
