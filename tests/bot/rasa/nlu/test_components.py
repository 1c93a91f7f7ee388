"""The entity normaliser: full-width phones, the claim type a situation implies."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu.components import EntityNormalizer


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
