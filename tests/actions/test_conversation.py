import pytest

from actions.conversation import ActionContinueForm, ActionGreet, ActionHowCanHelp
from bot import replies
from tests.actions.trackers import texts, tracker, user


def action(name: str, timestamp: float = 0.5) -> dict:
    return {"event": "action", "name": name, "timestamp": timestamp}


def bot(text: str, buttons=None, timestamp: float = 0.6) -> dict:
    return {"event": "bot", "text": text, "data": {"buttons": buttons or []}, "timestamp": timestamp}


SESSION = [action("action_session_start", 0.0), {"event": "session_started", "timestamp": 0.0}, action("action_listen")]


@pytest.mark.parametrize(
    ("before", "answer"),
    [
        (SESSION, "utter_greet"),
        # "你好" answered, then "有人吗\n在不在\n人呢？？" sent before the welcome was read.
        (
            SESSION + [user("你好", "greet"), action("action_greet"), bot("您好…"), action("action_listen")],
            "utter_greet_again",
        ),
        (
            SESSION + [user("我要投诉", "complain"), action("action_cancel_complaint"), action("action_listen")],
            "utter_greet",
        ),
    ],
)
async def test_the_welcome_menu_is_sent_once_in_a_row(dispatcher, domain, before, answer):
    await ActionGreet().run(dispatcher, tracker("人呢？？", "greet", events=before), domain)
    assert texts(dispatcher) == [answer]


FORM_ASKED = [user("我要投诉", "complain", timestamp=0.1), action("complaint_form"), bot("请问投诉属于哪一类问题？")]


@pytest.mark.parametrize(
    ("previous_turn", "resumed"),
    [
        (FORM_ASKED, False),  # "好的" to the form's own question: nothing was interrupted
        ([user("abc", timestamp=0.1), action("complaint_form"), bot("…", [replies.CONTINUE_BUTTON])], True),
        ([user("要什么材料", "ask_claim_materials", timestamp=0.1), action("action_explain_claim_materials")], True),
        ([user("你是机器人吗", "bot_challenge", timestamp=0.1), action("utter_iamabot")], True),
    ],
)
async def test_we_continue_only_after_an_interruption(dispatcher, domain, previous_turn, resumed):
    events = [*previous_turn, action("action_listen", 0.7)]
    await ActionContinueForm().run(
        dispatcher, tracker("好的", "affirm", events=events, active_loop="complaint_form"), domain
    )
    assert texts(dispatcher) == (["utter_continue_form"] if resumed else [])


async def test_an_older_interruption_does_not_count(dispatcher, domain):
    events = [
        user("要什么材料", "ask_claim_materials", timestamp=0.1),
        action("action_explain_claim_materials"),
        action("complaint_form"),
        action("action_listen"),
        *FORM_ASKED,
        action("action_listen", 0.7),
    ]
    await ActionContinueForm().run(
        dispatcher, tracker("嗯", "affirm", events=events, active_loop="complaint_form"), domain
    )
    assert texts(dispatcher) == []


@pytest.mark.parametrize(
    ("text", "intent", "answer"),
    [
        ("你好，我是李建国", "inform", "utter_greet"),  # NLU reads the introduction as information
        ("我叫王秀兰，电话13912345678", "inform", "utter_greet"),
        ("好的", "affirm", "utter_how_can_help"),
        ("理赔的", "inform", "utter_how_can_help"),
    ],
)
async def test_an_introduction_with_nothing_pending_is_greeted(svc, dispatcher, domain, text, intent, answer):
    await ActionHowCanHelp().run(dispatcher, tracker(text, intent, events=SESSION), domain)
    assert texts(dispatcher) == [answer]
