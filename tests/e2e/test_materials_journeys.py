"""Claim questions on the real servers: answered from the one script, never turned into a complaint."""

from __future__ import annotations

import uuid
from typing import Dict, List

from bot.tickets import TicketService


def new_sender() -> str:
    return f"e2e-mat-{uuid.uuid4().hex[:10]}"


def no_form(assistant, sender: str) -> bool:
    return not (assistant.tracker(sender).get("active_loop") or {}).get("name")


def ticket_count(assistant, sender: str) -> int:
    return len([t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == sender])


def payload_of(message: Dict, title: str) -> str:
    return next(button["payload"] for button in message.get("buttons") or [] if button["title"] == title)


def test_a_daughter_asking_how_cancer_is_paid_gets_the_materials_not_the_form(assistant, script):
    sender = new_sender()
    [answer] = assistant.say(sender, "我妈查出癌症了 保险怎么赔")
    assert answer["text"] == script.summary("critical_illness")
    assert no_form(assistant, sender)
    [reasons] = assistant.say(sender, payload_of(answer, "为什么需要这些"))
    assert reasons["text"] == script.reasons("critical_illness")
    assert no_form(assistant, sender) and ticket_count(assistant, sender) == 0


def test_not_a_complaint_just_asking(assistant, script):
    sender = new_sender()
    replies = assistant.texts(sender, "我不是要投诉，就问问重疾理赔要什么材料")
    assert replies == [script.summary("critical_illness")]
    assert no_form(assistant, sender)


def test_a_son_after_his_fathers_death_is_answered_with_condolence(assistant, script):
    sender = new_sender()
    replies = assistant.say(sender, "我爸上个月去世了，他生前买了保险，我们家属现在该怎么办，要准备什么东西去申请")
    assert [r["text"] for r in replies] == [script.summary("death")]
    assert replies[0]["text"].startswith("得知您的亲人离世") and "申请方式" in replies[0]["text"]
    assert no_form(assistant, sender)


def test_a_bereavement_implies_the_death_script_and_a_claim_without_a_situation_asks_which(assistant, script):
    # The situation names the claim type (issue 17): the same script as when the type is named.
    [answer] = assistant.say(new_sender(), "家里老人走了，保险要怎么申请，需要什么材料")
    assert answer["text"] == script.summary("death")
    sender = new_sender()
    [question] = assistant.say(sender, "保险理赔需要准备什么材料")
    assert "哪一类" in question["text"] and no_form(assistant, sender)
    [answer] = assistant.say(sender, payload_of(question, script.claim_types["death"].name))
    assert answer["text"] == script.summary("death")


def test_same_bytes_for_every_phrasing_and_no_review_note(assistant, script):
    answers: List[str] = []
    for text in ("重疾险理赔需要准备什么材料", "得了癌症怎么理赔", "我爸确诊肺癌了，重疾险能赔吗"):
        answers += assistant.texts(new_sender(), text)
    assert answers == [script.summary("critical_illness")] * 3
    assert all(script.version not in a and "审核" not in a for a in answers)


def test_the_script_version_is_kept_in_the_message_metadata(assistant, script):
    sender = new_sender()
    assistant.texts(sender, "意外伤残理赔要哪些材料")
    bot_events = [e for e in assistant.tracker(sender)["events"] if e["event"] == "bot"]
    assert bot_events[-1]["text"] == script.summary("disability")
    metadata = bot_events[-1]["metadata"]
    assert metadata["script_version"] == script.version
    # The review record of this text only: a draft names no reviewer.
    assert {key: metadata.get(key) for key in script.metadata()} == script.metadata()
    assert ("reviewed_by" in metadata) is not script.is_draft


def test_moving_on_to_a_complaint_when_the_user_wants_one(assistant, script):
    sender = new_sender()
    assert assistant.texts(sender, "住院报销要什么材料") == [script.summary("medical")]
    replies = assistant.texts(sender, "材料我早就交齐了，理赔拖了两个月还没赔，我要投诉")
    assert (assistant.tracker(sender).get("active_loop") or {}).get("name") == "complaint_form", replies


def test_in_the_complaint_form_by_mistake_a_claim_question_ends_it(assistant, script):
    sender = new_sender()
    assert "哪一类" in assistant.texts(sender, "我要投诉")[-1]
    replies = assistant.texts(sender, "我不是要投诉，就问问身故理赔要什么材料")
    assert replies == [script.summary("death")]  # and not the complaint question again
    assert no_form(assistant, sender) and ticket_count(assistant, sender) == 0
    replies = assistant.texts(sender, "算了还是要投诉，理赔拖了三个月了")
    assert not no_form(assistant, sender), replies  # a complaint when the user wants one
