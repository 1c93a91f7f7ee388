"""What the channels pass on of a policyholder's text (bot/channels/user_text.py)."""

from bot.channels.user_text import offered_payloads, storable, without_intent_syntax

GREETING_BUTTONS = [{"title": "我要投诉", "payload": "/complain"}, {"title": "转人工", "payload": "/request_human"}]


def test_lone_surrogates_and_control_characters_do_not_reach_the_tracker():
    assert storable("你好\ud800") == "你好\ufffd"
    assert storable("\udfff") == "\ufffd"
    assert storable("a\x00b\x1b[31mc\x7f") == "ab[31mc"
    assert storable("第一行\n第二行\t完\r\n") == "第一行\n第二行\t完\r\n"
    assert storable("😡 emoji stays") == "😡 emoji stays"
    storable("投\ud800诉").encode("utf-8")  # no UnicodeEncodeError


def test_typed_intent_syntax_is_made_ordinary_text():
    assert without_intent_syntax("/escalation_threat") == "／escalation_threat"
    assert (
        without_intent_syntax('  /check_ticket_status{"ticket_id":"TS20261128000001"}')
        == '／check_ticket_status{"ticket_id":"TS20261128000001"}'
    )
    assert without_intent_syntax("我要投诉 /complain") == "我要投诉 /complain"
    assert without_intent_syntax("／already") == "／already"


def test_only_a_payload_of_the_latest_answer_passes_as_an_intent():
    events = [
        {"event": "bot", "text": "您好", "data": {"buttons": GREETING_BUTTONS}},
        {"event": "user", "text": "/complain"},
        {
            "event": "bot",
            "text": "请选择类别",
            "data": {"buttons": [{"title": "理赔纠纷", "payload": '/inform{"complaint_category":"claims"}'}]},
        },
        {"event": "action", "name": "action_listen"},
    ]
    offered = offered_payloads(events)
    assert offered == {'/inform{"complaint_category":"claims"}'}
    assert (
        without_intent_syntax('/inform{"complaint_category":"claims"}', offered)
        == '/inform{"complaint_category":"claims"}'
    )
    # Buttons of an earlier answer, other entities, and intents never offered are text.
    assert without_intent_syntax("/complain", offered) == "／complain"
    assert without_intent_syntax('/inform{"complaint_category":"sales"}', offered).startswith("／")
    assert without_intent_syntax("/escalation_threat", offered) == "／escalation_threat"
    # After the user's next message nothing is offered any more.
    assert offered_payloads(events + [{"event": "user", "text": "理赔"}]) == set()
