"""'那我的投诉编号是多少？': the number of the ticket created in this conversation, by the bot or at the desk."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot import replies, validators


class ActionTellTicketNumber(Action):
    def name(self) -> Text:
        return "action_tell_ticket_number"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        check = validators.ticket_number(tracker.get_slot("last_ticket_no"))
        if check.ok and check.value:
            dispatcher.utter_message(text=replies.ticket_number_reminder(check.value))
        else:
            dispatcher.utter_message(text=replies.NO_TICKET_IN_CONVERSATION)
        return []
