"""The trained model reads normalised text but answers about, and stores, what the user typed."""

from __future__ import annotations

import asyncio

from rasa.core.channels.channel import UserMessage


def entity(result: dict, name: str) -> dict:
    [found] = [e for e in result["entities"] if e["entity"] == name]
    return found


def test_a_traditional_complaint_with_a_full_width_policy_number(parse):
    text = "我要投訴，保單號ＰＬ２０２３００１２３４５６，理賠拖了兩個月"
    result = parse(text)
    assert result["text"] == text
    assert result["intent"]["name"] == "complain"
    policy = entity(result, "policy_number")
    assert policy["value"] == "PL202300123456"
    assert text[policy["start"] : policy["end"]] == "ＰＬ２０２３００１２３４５６"
    category = entity(result, "complaint_category")
    assert category["value"] == "claims"
    assert text[category["start"] : category["end"]] == "理賠"


def test_full_width_phone_digits_outside_the_form(parse):
    text = "我的電話是１３８　１２３４　５６７８，之前投訴的事麻煩查一下"
    result = parse(text)
    phone = entity(result, "phone_number")
    assert phone["value"] == "13812345678"
    assert text[phone["start"] : phone["end"]] == "１３８　１２３４　５６７８"
    assert result["intent"]["name"] == "check_ticket_status"


def test_the_claim_type_implied_by_the_situation_whatever_the_wording(parse):
    for text, claim_type in [
        ("我妈住院了，出院后要准备哪些材料", "medical"),
        ("前天出了车祸去门诊处理了伤口，理赔要交什么", "accident_medical"),
        ("家裡老人去世了，理賠要準備什麼", "death"),
    ]:
        result = parse(text)
        assert result["intent"]["name"] == "ask_claim_materials", text
        assert entity(result, "claim_type")["value"] == claim_type, text


def test_the_tracker_stores_the_text_as_typed(agent):
    text = "我 要 投訴！！！保單號ＰＬ２０２３００１２３４５６"
    loop = asyncio.new_event_loop()
    try:
        tracker = loop.run_until_complete(agent.log_message(UserMessage(text, sender_id="normalised-text-test")))
    finally:
        loop.close()
    assert tracker.latest_message.text == text
    assert tracker.latest_message.parse_data["text"] == text
