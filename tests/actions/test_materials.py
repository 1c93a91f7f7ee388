from actions.materials import REASONS_BUTTON_TITLE, VIEW_ENTITY, ActionExplainClaimMaterials, reasons_button
from tests.actions.trackers import slot_events, texts, tracker


async def run(dispatcher, domain, text, **kwargs):
    return await ActionExplainClaimMaterials().run(dispatcher, tracker(text, "ask_claim_materials", **kwargs), domain)


async def test_same_bytes_for_a_claim_type_whichever_way_it_is_asked(svc, dispatcher, domain):
    entity = [{"entity": "claim_type", "value": "critical_illness"}]
    await run(dispatcher, domain, "重疾理赔要啥材料", entities=entity)
    await run(dispatcher, domain, "得了癌症怎么报，要准备什么", entities=entity, active_loop="complaint_form")
    await run(dispatcher, domain, "刚才说的那个要什么", slots={"claim_type": "critical_illness"})
    await run(dispatcher, domain, "我妈查出癌症了 保险怎么赔")  # no entity: the word in the text
    answers = texts(dispatcher)
    assert answers == [svc.materials.summary("critical_illness")] * 4


async def test_summary_offers_the_reasons_and_carries_the_version_as_metadata(svc, dispatcher, domain):
    await run(dispatcher, domain, "身故理赔要什么", entities=[{"entity": "claim_type", "value": "death"}])
    message = dispatcher.messages[0]
    assert message["buttons"] == [reasons_button("death")]
    assert message["buttons"][0]["title"] == REASONS_BUTTON_TITLE
    assert message["script_version"] == svc.materials.version
    # The review record of this text and nothing more: a draft names no reviewer of an older version.
    assert {key: message[key] for key in svc.materials.metadata()} == svc.materials.metadata()
    assert ("reviewed_by" in message) is not svc.materials.is_draft
    assert svc.materials.version not in message["text"] and "审核" not in message["text"]


async def test_the_reasons_button_answers_with_the_reasons(svc, dispatcher, domain):
    button = reasons_button("death")
    # As Rasa parses the payload: both keys are domain entities.
    entities = [{"entity": "claim_type", "value": "death"}, {"entity": VIEW_ENTITY, "value": "reasons"}]
    events = await run(dispatcher, domain, button["payload"], entities=entities)
    await run(dispatcher, domain, "为什么需要这些", slots={"claim_type": "death"})
    assert texts(dispatcher) == [svc.materials.reasons("death")] * 2
    assert dispatcher.messages[0]["script_version"] == svc.materials.version
    assert slot_events(events) == {"claim_type": "death"}


async def test_unknown_claim_type_is_asked_with_buttons(svc, dispatcher, domain):
    events = await run(dispatcher, domain, "理赔要什么材料")
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_claim_type"
    assert len(message["buttons"]) == 6 and "critical_illness" in message["buttons"][1]["payload"]
    assert events == []


async def test_why_a_document_is_needed_answers_from_the_same_file(svc, dispatcher, domain):
    await run(dispatcher, domain, "为什么还要户籍注销证明啊")
    assert texts(dispatcher) == [svc.materials.explain("household_cancellation")]


async def test_claim_type_is_remembered(svc, dispatcher, domain):
    events = await run(dispatcher, domain, "身故", entities=[{"entity": "claim_type", "value": "death"}])
    assert slot_events(events) == {"claim_type": "death"}


async def test_not_wanting_a_complaint_mid_form_answers_and_leaves_the_form(svc, dispatcher, domain):
    entity = [{"entity": "claim_type", "value": "death"}]
    events = await run(
        dispatcher, domain, "我不是要投诉，就问问身故理赔要什么", entities=entity, active_loop="complaint_form"
    )
    assert texts(dispatcher) == [svc.materials.summary("death")]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert {"event": "followup", "name": "action_listen", "timestamp": None} in events


async def test_a_side_question_mid_form_lets_the_form_resume(svc, dispatcher, domain):
    entity = [{"entity": "claim_type", "value": "death"}]
    events = await run(dispatcher, domain, "身故理赔要什么材料", entities=entity, active_loop="complaint_form")
    assert [e for e in events if e["event"] in ("active_loop", "followup")] == []
