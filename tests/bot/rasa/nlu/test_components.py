"""The pooled intent classifier; the entity normaliser: full-width phones, the claim type a situation implies."""

from __future__ import annotations

from typing import List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from bot.rasa.nlu.components import EntityNormalizer, PooledIntentClassifier

# Two-word vocabulary: feature 0 says "complain", feature 1 says "greet".
WORDS = {"投诉": [1, 0], "你好": [0, 1], "": None}


def featurised(text: str, intent: Optional[str] = None, ranking: Optional[List[dict]] = None) -> Message:
    message = Message(data={"text": text, **({"intent": intent} if intent else {})})
    if ranking is not None:
        message.set("intent_ranking", ranking)
        message.set("intent", dict(ranking[0]))
    if WORDS[text] is not None:
        message.add_features(Features(csr_matrix([WORDS[text]]), FEATURE_TYPE_SENTENCE, TEXT, "test"))
    return message


def pooled_classifier(tmp_path, **config) -> PooledIntentClassifier:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), node_name="pooled")
    classifier = PooledIntentClassifier.create(
        {**PooledIntentClassifier.get_default_config(), **config}, storage, Resource("pooled"), context
    )
    examples = [featurised(text, intent) for text, intent in [("投诉", "complain"), ("你好", "greet")] * 5]
    classifier.train(TrainingData(examples))
    return classifier


def test_the_regression_decides_where_diet_is_unsure(tmp_path):
    unsure = [{"name": "greet", "confidence": 0.52}, {"name": "complain", "confidence": 0.48}]
    [message] = pooled_classifier(tmp_path).process([featurised("投诉", ranking=unsure)])
    ranking = message.get("intent_ranking")
    assert message.get("intent")["name"] == "complain" == ranking[0]["name"]
    assert sum(intent["confidence"] for intent in ranking) == pytest.approx(1.0)


def test_a_sure_diet_outweighs_the_regression_when_weighted_so(tmp_path):
    sure = [{"name": "greet", "confidence": 0.999}, {"name": "complain", "confidence": 0.001}]
    [message] = pooled_classifier(tmp_path, diet_weight=0.9).process([featurised("投诉", ranking=sure)])
    assert message.get("intent")["name"] == "greet"
    [alone] = pooled_classifier(tmp_path, diet_weight=0.0).process([featurised("投诉", ranking=sure)])
    assert alone.get("intent")["name"] == "complain"


def test_a_message_without_features_keeps_diets_reading(tmp_path):
    reading = [{"name": "greet", "confidence": 0.55}, {"name": "complain", "confidence": 0.45}]
    messages = [featurised("", ranking=reading), featurised("投诉", ranking=reading)]
    empty, worded = pooled_classifier(tmp_path).process(messages)
    assert empty.get("intent_ranking") == reading
    assert worded.get("intent")["name"] == "complain"


def test_the_pooled_classifier_reads_the_same_after_loading(tmp_path):
    trained = pooled_classifier(tmp_path)
    context = ExecutionContext(GraphSchema({}), node_name="pooled")
    loaded = PooledIntentClassifier.load(trained.config, trained._model_storage, Resource("pooled"), context)
    reading = [{"name": "greet", "confidence": 0.6}, {"name": "complain", "confidence": 0.4}]
    [before] = trained.process([featurised("投诉", ranking=reading)])
    [after] = loaded.process([featurised("投诉", ranking=reading)])
    assert after.get("intent_ranking") == before.get("intent_ranking")


def normaliser(tmp_path, monkeypatch) -> EntityNormalizer:
    monkeypatch.setenv("COMPLAINTS_VAR_DIR", str(tmp_path))
    return EntityNormalizer.create({}, None, None, None)


def test_a_full_width_phone_number_is_normalised(tmp_path, monkeypatch):
    message = Message(data={"text": "x", "entities": [{"entity": "phone_number", "value": "１３８ １２３４ ５６７８"}]})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    assert [(e["entity"], e["value"]) for e in processed.get("entities")] == [("phone_number", "13812345678")]


def test_outpatient_care_after_an_accident_is_accident_medical(tmp_path, monkeypatch):
    text = "前几天车祸了，门诊的钱要什么材料"
    entity = {"entity": "claim_type", "value": "门诊", "start": 7, "end": 9}
    message = Message(data={"text": text, "intent": {"name": "ask_claim_materials"}, "entities": [entity]})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    assert [(e["entity"], e["value"]) for e in processed.get("entities")] == [("claim_type", "accident_medical")]


def test_a_materials_question_gets_the_claim_type_its_situation_implies(tmp_path, monkeypatch):
    message = Message(data={"text": "我爸去世了要交什么", "intent": {"name": "ask_claim_materials"}, "entities": []})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    [entity] = processed.get("entities")
    assert (entity["entity"], entity["value"], entity["start"], entity["end"]) == ("claim_type", "death", 2, 4)


def test_a_complaint_gets_no_implied_claim_type(tmp_path, monkeypatch):
    message = Message(data={"text": "住院报销太慢了", "intent": {"name": "complain"}, "entities": []})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    assert [e["entity"] for e in processed.get("entities")] == ["complaint_category"]


def test_a_complaint_gets_the_category_its_substance_names(tmp_path, monkeypatch):
    message = Message(data={"text": "申请理赔两个月了还没人管", "intent": {"name": "complain"}, "entities": []})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    [entity] = processed.get("entities")
    assert (entity["entity"], entity["value"], entity["start"], entity["end"]) == ("complaint_category", "claims", 2, 4)


def test_weak_or_split_evidence_names_no_category(tmp_path, monkeypatch):
    for text in ["打了好几次客服电话", "业务员说理赔和退保都行"]:
        message = Message(data={"text": text, "intent": {"name": "complain"}, "entities": []})
        [processed] = normaliser(tmp_path, monkeypatch).process([message])
        assert processed.get("entities") == [], text


def test_an_extracted_category_is_not_second_guessed(tmp_path, monkeypatch):
    entity = {"entity": "complaint_category", "value": "sales", "start": 0, "end": 3}
    message = Message(data={"text": "业务员说理赔很快", "intent": {"name": "complain"}, "entities": [entity]})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    assert [(e["entity"], e["value"]) for e in processed.get("entities")] == [("complaint_category", "sales")]


def test_a_bare_number_is_information_whatever_the_classifier_guessed(tmp_path, monkeypatch):
    # "1365555150" (a digit short) was read as a goodbye, and the status form asking for the phone gave up.
    for text in ["1365555150", "136 5555 150", "+86 138-1234-5678"]:
        message = Message(data={"text": text, "intent": {"name": "goodbye", "confidence": 0.64}, "entities": []})
        [processed] = normaliser(tmp_path, monkeypatch).process([message])
        assert processed.get("intent") == {"name": "inform", "confidence": 1.0}, text
    for text in ["3", "138元", "我的电话1365555150"]:  # a rating, or words: the classifier's call
        message = Message(data={"text": text, "intent": {"name": "rate", "confidence": 0.9}, "entities": []})
        [processed] = normaliser(tmp_path, monkeypatch).process([message])
        assert processed.get("intent")["name"] == "rate", text


def test_a_death_read_as_a_goodbye_is_answered_with_the_death_claim_materials(tmp_path, monkeypatch):
    # "走了" also means leaving: the widow heard "再见".
    message = Message(
        data={"text": "我老公上个礼拜走了", "intent": {"name": "goodbye", "confidence": 0.8}, "entities": []}
    )
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    assert processed.get("intent") == {"name": "ask_claim_materials", "confidence": 1.0}
    assert [(e["entity"], e["value"]) for e in processed.get("entities")] == [("claim_type", "death")]


def test_an_unsure_reading_of_a_request_for_a_person_is_the_request(tmp_path, monkeypatch):
    text = "我年纪大了 手机上这些字看不清 你给我找个真人说话"
    message = Message(data={"text": text, "intent": {"name": "greet", "confidence": 0.31}, "entities": []})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    assert processed.get("intent") == {"name": "request_human", "confidence": 1.0}


def test_a_sure_reading_that_names_a_person_is_left_alone(tmp_path, monkeypatch):
    for text, intent in [("我要投诉你们客服态度差", "complain"), ("你是真人吗", "bot_challenge")]:
        message = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.93}, "entities": []})
        [processed] = normaliser(tmp_path, monkeypatch).process([message])
        assert processed.get("intent")["name"] == intent, text


def test_a_decided_intent_is_not_undone_by_the_fallback_classifier(tmp_path, monkeypatch):
    # request_human only a little ahead of out_of_scope: the FallbackClassifier's ambiguity check fired.
    text = "我年纪大了 手机上这些字看不清 你给我找个真人说话"
    ranking = [{"name": "request_human", "confidence": 0.5}, {"name": "out_of_scope", "confidence": 0.45}]
    message = Message(data={"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking, "entities": []})
    [processed] = normaliser(tmp_path, monkeypatch).process([message])
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config(), "threshold": 0.4, "ambiguity_threshold": 0.1}, None, None, None
    )
    [classified] = fallback.process([processed])
    assert classified.get("intent")["name"] == "request_human"


def test_thanks_read_as_a_threat_are_thanks_unless_they_name_one(tmp_path, monkeypatch):
    # The training threats say "等着收律师函吧": "那就等着吧 谢谢" was put through to an agent with an apology.
    for text, expected in [
        ("哦 那就等着吧 谢谢", "thank"),
        ("好的 辛苦了 我等着", "thank"),
        ("谢谢啊 等着收律师函吧", "escalation_threat"),  # a lawsuit named
        ("你们给我等着", "escalation_threat"),  # no thanks
    ]:
        reading = {"name": "escalation_threat", "confidence": 0.7}
        message = Message(data={"text": text, "intent": reading, "entities": []})
        [processed] = normaliser(tmp_path, monkeypatch).process([message])
        assert processed.get("intent")["name"] == expected, text
