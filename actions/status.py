"""Ticket status look-up and withdrawal, both behind phone verification and failure limits.

Each step is answered from what the user typed in reply to its question: the
ticket number from the message that starts the look-up or answers "请提供您的投诉
编号", the phone number only from the answer to "请提供…手机号". Values carried by
Rasa's intent syntax (`/check_ticket_status{"ticket_id": …, "phone_number": …}`,
a button payload) are dropped, so no single request does a whole look-up.
A withdrawal is confirmed by the user, naming the ticket, after the phone matched.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional, Text, cast

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.consent import ConsentingForm
from actions.services import WriteCheck, blocking, client_of, from_payload, latest_text, services
from bot import replies, validators
from bot.tickets import TicketStatus, bot_actor

WITHDRAW_FORM = "withdraw_form"
LOOKUP_SLOTS = ["lookup_ticket_id", "lookup_phone", "status_purpose", "withdraw_confirmed"]
# Typed answers to "确认撤回投诉 TS…吗？" that NLU may not read as affirm/deny ("不撤回" before "撤回").
_KEEP = ("不撤", "不要撤", "不用撤", "别撤", "先不", "保留", "继续处理", "不了")
_WITHDRAW = ("确认撤回", "撤回", "撤销", "撤了", "确认", "是的")


def _typed(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper()


class ValidateStatusForm(ConsentingForm, FormValidationAction):
    def name(self) -> Text:
        return "validate_status_form"

    def validate_lookup_ticket_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        check = validators.ticket_number(str(value or ""))
        if from_payload(tracker) or (check.ok and cast(str, check.value) not in _typed(latest_text(tracker))):
            return {"lookup_ticket_id": None}  # not typed in this message: ask for it
        if not check.ok:
            dispatcher.utter_message(text=check.error)
        return {"lookup_ticket_id": check.value}

    def validate_lookup_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if from_payload(tracker) or tracker.get_slot("requested_slot") != "lookup_phone":
            return {"lookup_phone": None}  # only the answer to the phone question counts
        check = validators.phone_number(str(value or ""))
        if not check.ok:
            dispatcher.utter_message(text=check.error)
        return {"lookup_phone": check.value}


class ValidateWithdrawForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_withdraw_form"

    async def extract_withdraw_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "withdraw_confirmed" or from_payload(tracker):
            return {}
        text = latest_text(tracker)
        if any(word in text for word in _KEEP):
            return {"withdraw_confirmed": False}
        if any(word in text for word in _WITHDRAW):
            return {"withdraw_confirmed": True}
        return {}

    def validate_withdraw_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if isinstance(value, bool):
            return {"withdraw_confirmed": value}
        dispatcher.utter_message(text=replies.WITHDRAW_ANSWER)
        return {"withdraw_confirmed": None}


def _reset() -> List[EventType]:
    return [SlotSet(slot, None) for slot in LOOKUP_SLOTS]


def _checked_lookup(tracker: Tracker) -> tuple[WriteCheck, str, Optional[str], Optional[str]]:
    """The look-up's inputs, validated again whatever called the action."""
    check = WriteCheck()
    conversation = check.conversation(tracker)
    ticket_no = check.take("lookup_ticket_id", validators.ticket_number(tracker.get_slot("lookup_ticket_id")))
    phone = tracker.get_slot("lookup_phone")
    phone = check.take(
        "lookup_phone", validators.phone_number(phone) if isinstance(phone, str) else validators.Check(error="missing")
    )
    return check, conversation, ticket_no, phone


class ActionCheckTicketStatus(Action):
    """Answers the status, or for a withdrawal asks to confirm once the phone matched."""

    def name(self) -> Text:
        return "action_check_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        check, conversation, ticket_no, phone = _checked_lookup(tracker)
        if check.refused(dispatcher, self.name()):
            return _reset()
        svc = services()
        answer = await blocking(svc.tickets.lookup_status, conversation, ticket_no, phone, client_of(tracker))
        if not answer.found or tracker.get_slot("status_purpose") != "withdraw":
            dispatcher.utter_message(text=replies.status_reply(answer))
            return _reset()
        if answer.status_label == TicketStatus.CLOSED.label:
            dispatcher.utter_message(text=replies.already_closed(answer.ticket_no or ""))
            return _reset()
        # Verified: the withdrawal form asks "确认撤回投诉 TS…吗？", naming the ticket.
        return [
            SlotSet("lookup_ticket_id", answer.ticket_no),
            SlotSet("withdraw_confirmed", None),
            SlotSet("requested_slot", None),
            ActiveLoop(WITHDRAW_FORM),
        ]


class ActionWithdrawComplaint(Action):
    """Withdraws the confirmed ticket (verified again at the moment of writing), or keeps it open."""

    def name(self) -> Text:
        return "action_withdraw_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        check, conversation, ticket_no, phone = _checked_lookup(tracker)
        confirmed = tracker.get_slot("withdraw_confirmed")
        if confirmed is not True:
            dispatcher.utter_message(text=replies.withdrawal_kept(ticket_no))
            return _reset()
        if check.refused(dispatcher, self.name()):
            return _reset()
        svc = services()
        answer = await blocking(svc.tickets.lookup_status, conversation, ticket_no, phone, client_of(tracker))
        if not answer.found:
            dispatcher.utter_message(text=replies.status_reply(answer))
            return _reset()
        await blocking(svc.tickets.withdraw, answer.ticket_no, bot_actor(conversation))
        dispatcher.utter_message(text=replies.withdrawn(answer.ticket_no or ""))
        return _reset()
