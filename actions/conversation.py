"""Small talk around the forms: the welcome, and the word before a form takes up its question again."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.complaint import WHO_FIELDS
from actions.services import services
from bot import given_fields, replies

WELCOMES = {"action_greet", "utter_greet"}
# Answers to a side question asked in the middle of a form (data/rules: "…inside the form, then resume").
SIDE_ANSWERS = {
    "action_explain_claim_materials",
    "action_tell_ticket_number",
    "utter_iamabot",
    "utter_out_of_scope",
}
_IDLE = {"action_listen", "action_extract_slots"}


def welcomed_last(tracker: Tracker) -> bool:
    """True when the bot's last answer was the welcome, with only greetings since ("在吗" "人呢？？")."""
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            return False
        if kind == "action" and event.get("name") not in _IDLE:
            return event.get("name") in WELCOMES
    return False


class ActionGreet(Action):
    """The welcome menu once; a greeting right after it gets a short answer, not the menu again."""

    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if welcomed_last(tracker):
            dispatcher.utter_message(response="utter_greet_again")
        else:
            dispatcher.utter_message(response="utter_greet")
        return []


class ActionHowCanHelp(Action):
    """A reply with nothing pending; a message saying who the user is ("你好，我是李建国") is a greeting."""

    def name(self) -> Text:
        return "action_how_can_help"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        said = given_fields.volunteered(text, services().settings.policy_number_pattern)
        if not text.lstrip().startswith("/") and WHO_FIELDS & set(said):
            # Kept in the conversation: the form that follows takes them (actions/complaint.py given()).
            return await ActionGreet().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_how_can_help")
        return []


def _offers_to_continue(event: Dict[str, Any]) -> bool:
    buttons = (event.get("data") or {}).get("buttons") or []
    wanted = replies.CONTINUE_BUTTON
    return any(b.get("title") == wanted["title"] and b.get("payload") == wanted["payload"] for b in buttons)


def form_was_interrupted(tracker: Tracker) -> bool:
    """True when the bot's previous turn left the form's question: a side answer, or a field
    explained with "继续填写" (the user's go-ahead then resumes it)."""
    latest_seen = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if latest_seen:
                return False  # the previous turn began here: nothing interrupted the form
            latest_seen = True
        elif not latest_seen:
            continue
        elif kind == "action" and event.get("name") in SIDE_ANSWERS:
            return True
        elif kind == "bot" and _offers_to_continue(event):
            return True
    return False


class ActionContinueForm(Action):
    """ "好的，我们继续。" only when a form resumes after an interruption; otherwise the form just asks again."""

    def name(self) -> Text:
        return "action_continue_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if form_was_interrupted(tracker):
            dispatcher.utter_message(response="utter_continue_form")
        return []
