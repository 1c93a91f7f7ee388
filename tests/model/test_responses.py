"""The domain's responses as Rasa renders them: slot placeholders filled, button payloads intact.

Rasa's template interpolator reads every `{...}` in a response, button payloads
included, as a slot placeholder; a payload such as `/inform{"complaint_category":"sales"}`
made it log an ERROR with a traceback each time the question was asked.
"""

import json
import logging
import re

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.settings import PROJECT_ROOT

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
