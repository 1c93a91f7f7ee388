"""Ticket status lookup and withdrawal, both behind phone verification."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.consent import ConsentingForm
from actions.services import blocking, services
from bot import replies, validators

_TICKET = re.compile(r"TS\d{14}")


class ValidateStatusForm(ConsentingForm):
    def name(self) -> Text:
        return "validate_status_form"

    def validate_lookup_ticket_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        match = _TICKET.search(re.sub(r"\s", "", str(value or "")).upper())
        if match is None:
            dispatcher.utter_message(
                text="投诉编号格式是TS加14位数字，例如 TS20261122000123，请核对后重新输入。"
            )
            return {"lookup_ticket_id": None}
        return {"lookup_ticket_id": match.group(0)}

    def validate_lookup_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        check = validators.phone_number(str(value or ""))
        if not check.ok:
            dispatcher.utter_message(text=check.error)
        return {"lookup_phone": check.value}


class ActionCheckTicketStatus(Action):
    def name(self) -> Text:
        return "action_check_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        svc = services()
        answer = await blocking(
            svc.tickets.lookup_status, tracker.sender_id,
            tracker.get_slot("lookup_ticket_id"), tracker.get_slot("lookup_phone"),
        )
        reset = [SlotSet("lookup_ticket_id", None), SlotSet("lookup_phone", None),
                 SlotSet("status_purpose", None)]
        if answer.found and tracker.get_slot("status_purpose") == "withdraw":
            await blocking(svc.tickets.withdraw, answer.ticket_no)
            dispatcher.utter_message(
                text=f"已为您撤回投诉 {answer.ticket_no}，投诉处理程序自今日终止。"
                "如果之后还有问题，欢迎随时再来反映。"
            )
            return reset
        dispatcher.utter_message(text=replies.status_reply(answer))
        return reset
