"""The project's spaCy pipeline and the entity normaliser, without a trained Rasa model."""

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.components import EntityNormalizer
from bot.rasa.nlu.spacy_pipeline import build_pipeline


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    from bot.settings import Settings

    return build_pipeline(Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path_factory.mktemp("v"))}))


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "我的保单号是PL202300123456，手机138-1234-5678",
            [("PL202300123456", "policy_number"), ("138-1234-5678", "phone_number")],
        ),
        ("电话+86 139 8765 4321", [("+86 139 8765 4321", "phone_number")]),
        ("查一下TS20261103000042进度", [("TS20261103000042", "ticket_id")]),
        ("身份证11010519491231002X", [("11010519491231002X", "id_number")]),
        ("保单号：hkli2021000099887766。", [("hkli2021000099887766", "policy_number")]),
        ("理赔太慢了", []),
    ],
)
def test_structured_numbers_are_recognised_by_rules(nlp, text, expected):
    assert [(e.text, e.label_) for e in nlp(text).ents] == expected


def test_pipeline_round_trips_through_disk(nlp, tmp_path):
    import spacy

    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert [(e.label_) for e in loaded("电话 138 1234 5678").ents] == ["phone_number"]


def test_normaliser_keeps_the_contract(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLAINTS_VAR_DIR", str(tmp_path))
    normaliser = EntityNormalizer.create({}, None, None, None)
    message = Message(
        data={
            "text": "x",
            "entities": [
                {"entity": "phone_number", "value": "+86 139 8765 4321", "start": 0},
                {"entity": "id_number", "value": "15000019970319128X", "start": 1},  # bad checksum: dropped
                {"entity": "id_number", "value": "11010519491231002x", "start": 2},
                {"entity": "policy_number", "value": "pl202300123456", "start": 3},
                {"entity": "claim_type", "value": "重大疾病险", "start": 4},
                {"entity": "complaint_category", "value": "天气", "start": 5},  # no category: dropped
            ],
        }
    )
    [processed] = normaliser.process([message])
    assert [(e["entity"], e["value"]) for e in processed.get("entities")] == [
        ("phone_number", "13987654321"),
        ("id_number", "11010519491231002X"),
        ("policy_number", "PL202300123456"),
        ("claim_type", "critical_illness"),
    ]
