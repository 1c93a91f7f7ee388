"""The pipeline's head normalises what NLU reads; its end points entities at the user's own characters."""

from __future__ import annotations

from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.normalisation import ORIGINAL_TEXT, OriginalText, TextNormaliser

TRAINING = """
version: "3.1"
nlu:
- intent: file_complaint
  examples: |
    - 我 要 投訴，[理賠](complaint_category:claims)太慢了！！！
    - 保單號 [ＡＢ１２３４５６７８](policy_number)
"""


def test_training_text_is_normalised_and_annotations_move_with_it():
    data = RasaYAMLReader().reads(TRAINING)
    TextNormaliser().process_training_data(data)
    by_text = {m.get(TEXT): m.get(ENTITIES) for m in data.training_examples}
    assert set(by_text) == {"我要投诉,理赔太慢了!", "保单号 AB12345678"}
    [category] = by_text["我要投诉,理赔太慢了!"]
    assert (category["start"], category["end"], category["value"]) == (5, 7, "claims")
    [policy] = by_text["保单号 AB12345678"]
    # A value that was the annotated span follows the normalised span (no synonym 投訴 → 投诉 is learnt).
    assert (policy["start"], policy["end"], policy["value"]) == (4, 14, "AB12345678")


def test_serving_reads_normalised_text_and_gives_back_the_original_with_its_offsets():
    original = "我要投訴，保單號ＡＢ１２３４５６７８ 電話１３８　１２３４　５６７８"
    message = Message({TEXT: original})
    TextNormaliser().process([message])
    normalised = message.get(TEXT)
    assert normalised == "我要投诉,保单号AB12345678 电话138 1234 5678"
    assert message.get(ORIGINAL_TEXT) == original
    # What the extractors and the entity normaliser would have set on the normalised text.
    policy_start = normalised.index("AB")
    phone_start = normalised.index("138")
    message.set(
        ENTITIES,
        [
            {
                "entity": "policy_number",
                "start": policy_start,
                "end": policy_start + 10,
                "value": "AB12345678",
                "processors": ["EntityNormalizer"],
            },
            {
                "entity": "phone_number",
                "start": phone_start,
                "end": len(normalised),
                "value": "13812345678",
                "processors": ["EntityNormalizer"],
            },
            {"entity": "complaint_field", "start": 2, "end": 4, "value": "投诉"},
        ],
    )
    OriginalText().process([message])
    assert message.get(TEXT) == original
    assert ORIGINAL_TEXT not in message.data
    policy, phone, field = message.get(ENTITIES)
    assert original[policy["start"] : policy["end"]] == "ＡＢ１２３４５６７８"
    assert policy["value"] == "AB12345678"  # the entity normaliser's value stays normalised
    assert original[phone["start"] : phone["end"]] == "１３８　１２３４　５６７８"
    assert phone["value"] == "13812345678"
    assert (field["start"], field["end"], field["value"]) == (2, 4, "投訴")  # a span value is the user's own


def test_text_that_needs_no_normalisation_is_left_alone():
    message = Message({TEXT: "我要投诉"})
    TextNormaliser().process([message])
    OriginalText().process([message])
    assert message.get(TEXT) == "我要投诉"
    assert ORIGINAL_TEXT not in message.data
