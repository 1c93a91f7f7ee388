"""Ticket status look-up and withdrawal, both behind phone verification and failure limits.

Each step is answered from what the user typed in reply to its question: the
ticket number from the message that starts the look-up or answers "请提供您的投诉
编号", the phone number only from the answer to "请提供…手机号". Values carried by
Rasa's intent syntax (`/check_ticket_status{"ticket_id": …, "phone_number": …}`,
a button payload) are dropped, so no single request does a whole look-up.
A withdrawal is confirmed by the user, naming the ticket, after the phone matched.

Without the number ("编号忘了"), a status question is verified with the phone and the
complainant's name instead: one open ticket is answered, several are listed to pick
from, and a pick is answered only for a number that list gave. A withdrawal still
needs the number.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable, Dict, List, Optional, Text, cast

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.consent import ConsentingForm
from actions.services import (
    WriteCheck,
    blocking,
    channel_of,
    client_of,
    from_payload,
    latest_intent,
    latest_text,
    services,
)
from bot import given_fields, replies, validators
from bot.text_normalisation import normalise
from bot.tickets import StatusAnswer, TicketStatus, bot_actor

WITHDRAW_FORM = "withdraw_form"
LOOKUP_SLOTS = ["lookup_ticket_id", "lookup_phone", "lookup_name", "status_purpose", "withdraw_confirmed"]
# The tickets the last phone-and-name look-up listed (verified): kept for the session, to pick from.
LISTED_SLOT = "lookup_choices"
# Intents with a rule inside the status form: their words are never taken for a name.
_NOT_A_NAME = {"cancel", "request_human", "escalation_threat", "ask_claim_materials", "check_ticket_status"}
# Typed answers to "确认撤回投诉 TS…吗？" that NLU may not read as affirm/deny ("不撤回" before "撤回").
_KEEP = ("不撤", "不要撤", "不用撤", "别撤", "先不", "保留", "继续处理", "不了")
_WITHDRAW = ("确认撤回", "撤回", "撤销", "撤了", "确认", "是的")
# "编号忘了，能用手机号查吗": the user cannot give the ticket number.
_FORGOT = (
    "忘了",
    "忘记",
    "不记得",
    "记不得",
    "记不清",
    "找不到",
    "没有编号",
    "没编号",
    "没记",
    "丢了",
    "手机号查",
    "不知道",
)
FORGOTTEN = "forgotten"
WECHAT = "wechat"  # bot/channels/wechat/channel.py CHANNEL_NAME (not imported: the channel pulls in Sanic)


def forgot_ticket_number(text: str) -> bool:
    simplified = normalise(text).text  # "編號不記得了" too
    return any(words in simplified for words in _FORGOT) and validators.ticket_number(text).error is not None


def ticket_of_this_conversation(tracker: Tracker) -> Optional[str]:
    """The ticket this conversation filed last (the slot is reset with a new session; the events are not)."""
    values = [tracker.get_slot("last_ticket_no")] + [
        e.get("value")
        for e in reversed(tracker.events)
        if e.get("event") == "slot" and e.get("name") == "last_ticket_no"
    ]
    return next((v for v in values if isinstance(v, str) and validators.ticket_number(v).ok), None)


def filed_in_this_session(tracker: Tracker) -> Optional[str]:
    """For a withdrawal without a number: the ticket this session filed, if any."""
    if tracker.get_slot("status_purpose") != "withdraw":
        return None
    check = validators.ticket_number(tracker.get_slot("last_ticket_no") or "")
    return check.value if check.ok else None


def listed_tickets(tracker: Tracker) -> List[str]:
    value = tracker.get_slot(LISTED_SLOT)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def chosen_ticket(tracker: Tracker) -> Optional[str]:
    """A status question naming (typed, or tapped on the list) a ticket the phone-and-name look-up listed."""
    if tracker.get_slot("status_purpose") == "withdraw":
        return None
    check = validators.ticket_number(tracker.get_slot("lookup_ticket_id"))
    return check.value if check.ok and check.value in listed_tickets(tracker) else None


def _typed(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper()


def own_wechat_tickets(tracker: Tracker) -> List[StatusAnswer]:
    """A WeChat user's status check: the tickets filed from their OpenID (WeChat signs who is writing), so no
    number is asked. Withdrawals, and every other channel, are verified with the phone number."""
    if channel_of(tracker) != WECHAT or tracker.get_slot("status_purpose") == "withdraw":
        return []
    if tracker.get_slot("lookup_ticket_id") is not None or not validators.conversation_id(tracker.sender_id).ok:
        return []  # already answering the questions
    return services().tickets.own_tickets(tracker.sender_id, WECHAT)


class ValidateStatusForm(ConsentingForm, FormValidationAction):
    def name(self) -> Text:
        return "validate_status_form"

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if chosen_ticket(tracker):
            return []  # verified when it was listed: action_check_ticket_status answers it
        if tracker.get_slot("requested_slot") is None:
            own = await blocking(own_wechat_tickets, tracker)
            if own:
                return []  # answered from the conversation by action_check_ticket_status
        slots = [
            s for s in await super().required_slots(domain_slots, dispatcher, tracker, domain) if s != "lookup_name"
        ]
        if tracker.get_slot("lookup_ticket_id") == FORGOTTEN:  # the name verifies the phone instead of a number
            slots.insert(slots.index("lookup_phone") + 1 if "lookup_phone" in slots else len(slots), "lookup_name")
        return slots

    async def extract_lookup_ticket_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        asked = tracker.get_slot("requested_slot") in (None, "lookup_ticket_id")
        if asked and not from_payload(tracker) and forgot_ticket_number(latest_text(tracker)):
            return {"lookup_ticket_id": FORGOTTEN}
        filed = filed_in_this_session(tracker)
        if filed and tracker.get_slot("requested_slot") is None and tracker.get_slot("lookup_ticket_id") is None:
            # "我想撤回" right after filing: that ticket, named again when the withdrawal is confirmed.
            dispatcher.utter_message(text=replies.withdrawing_the_filed_ticket(filed))
            return {"lookup_ticket_id": filed}
        return {}

    async def extract_lookup_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """ "不好意思输错了 是138…": the number inside whatever the answer says around it."""
        if tracker.get_slot("requested_slot") != "lookup_phone" or from_payload(tracker):
            return {}
        phone = given_fields.phone_in(latest_text(tracker))
        return {"lookup_phone": phone} if phone else {}

    async def extract_lookup_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """ "张三" read as a greeting, "我叫张三": the name however NLU read the answer to its question."""
        asked = tracker.get_slot("requested_slot") == "lookup_name"
        if not asked or from_payload(tracker) or latest_intent(tracker) in _NOT_A_NAME:
            return {}
        text = latest_text(tracker)
        name = given_fields.bare_name(text) or given_fields.name_in(text)
        return {"lookup_name": name} if name else {}

    def validate_lookup_ticket_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value == FORGOTTEN:
            known = ticket_of_this_conversation(tracker)
            if known:
                dispatcher.utter_message(text=replies.ticket_recalled(known))
                return {"lookup_ticket_id": known}
            if tracker.get_slot("status_purpose") != "withdraw":
                # Kept as the marker of a look-up by phone and name (required_slots asks the name too).
                dispatcher.utter_message(text=replies.LOOKUP_BY_PERSON)
                return {"lookup_ticket_id": FORGOTTEN}
            # A withdrawal names its ticket: without the number, today's way on.
            dispatcher.utter_message(text=replies.TICKET_NUMBER_HELP, buttons=[replies.HUMAN_BUTTON])
            return {"lookup_ticket_id": None}
        check = validators.ticket_number(str(value or ""))
        typed = check.ok and cast(str, check.value) in _typed(latest_text(tracker))
        if from_payload(tracker) or (check.ok and not typed and check.value != filed_in_this_session(tracker)):
            return {"lookup_ticket_id": None}  # not typed in this message: ask for it
        if not check.ok:
            dispatcher.utter_message(text=check.error)
        return {"lookup_ticket_id": check.value}

    def validate_lookup_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return _answer_to("lookup_phone", validators.phone_number, value, dispatcher, tracker)

    def validate_lookup_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return _answer_to("lookup_name", validators.complainant_name, value, dispatcher, tracker)


def _answer_to(
    slot: str,
    validate: Callable[[str], validators.Check],
    value: Any,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
) -> Dict[Text, Any]:
    """Only the typed answer to the slot's own question counts; a wrong one is told what is wrong."""
    if from_payload(tracker) or tracker.get_slot("requested_slot") != slot:
        return {slot: None}
    check = validate(str(value or ""))
    if not check.ok:
        dispatcher.utter_message(text=check.error)
    return {slot: check.value}


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


def _checked_text(check: WriteCheck, tracker: Tracker, slot: str, validator: Any) -> Optional[str]:
    value = tracker.get_slot(slot)
    return check.take(slot, validator(value) if isinstance(value, str) else validators.Check(error="missing"))


def _checked_lookup(tracker: Tracker) -> tuple[WriteCheck, str, Optional[str], Optional[str]]:
    """The look-up's inputs, validated again whatever called the action."""
    check = WriteCheck()
    conversation = check.conversation(tracker)
    ticket_no = check.take("lookup_ticket_id", validators.ticket_number(tracker.get_slot("lookup_ticket_id")))
    phone = _checked_text(check, tracker, "lookup_phone", validators.phone_number)
    return check, conversation, ticket_no, phone


async def _answer_by_person(dispatcher: CollectingDispatcher, tracker: Tracker, action: str) -> List[EventType]:
    """The open tickets of the phone and name the form verified: one answered, several listed to pick from."""
    check = WriteCheck()
    conversation = check.conversation(tracker)
    phone = _checked_text(check, tracker, "lookup_phone", validators.phone_number)
    name = _checked_text(check, tracker, "lookup_name", validators.complainant_name)
    if check.refused(dispatcher, action):
        return _reset()
    svc = services()
    result = await blocking(
        svc.tickets.lookup_open_tickets, conversation, cast(str, phone), cast(str, name), client_of(tracker)
    )
    if not result.found and not result.locked:
        dispatcher.utter_message(text=replies.open_tickets_retry(result))  # the form asks for the phone again
        return [
            SlotSet("lookup_phone", None),
            SlotSet("lookup_name", None),
            SlotSet("requested_slot", None),
            ActiveLoop("status_form"),
        ]
    if not result.found:
        dispatcher.utter_message(text=replies.open_tickets_failure(result), buttons=[replies.HUMAN_BUTTON])
        return _reset()
    if len(result.tickets) == 1:
        dispatcher.utter_message(text=replies.status_reply(result.tickets[0], svc.tickets.zone))
    else:
        dispatcher.utter_message(
            text=replies.open_tickets_list(result.tickets), buttons=replies.open_ticket_buttons(result.tickets)
        )
    return _reset() + [SlotSet(LISTED_SLOT, [answer.ticket_no for answer in result.tickets])]


class ActionCheckTicketStatus(Action):
    """Answers the status, or for a withdrawal asks to confirm once the phone matched."""

    def name(self) -> Text:
        return "action_check_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        svc = services()
        own = await blocking(own_wechat_tickets, tracker)
        if own:
            for answer in own:
                dispatcher.utter_message(text=replies.status_reply(answer, svc.tickets.zone))
            return _reset()
        chosen = chosen_ticket(tracker)
        if chosen:
            picked = await blocking(svc.tickets.verified_status, chosen, listed_tickets(tracker))
            told = replies.status_reply(picked, svc.tickets.zone) if picked else replies.WRITE_REFUSED
            dispatcher.utter_message(text=told)
            return _reset()
        if tracker.get_slot("lookup_ticket_id") == FORGOTTEN:
            return await _answer_by_person(dispatcher, tracker, self.name())
        check, conversation, ticket_no, phone = _checked_lookup(tracker)
        if check.refused(dispatcher, self.name()):
            return _reset()
        answer = await blocking(svc.tickets.lookup_status, conversation, ticket_no, phone, client_of(tracker))
        if not answer.found and not answer.locked:
            # A typo is forgiven within the limit: the form asks again for the phone (or a corrected number).
            dispatcher.utter_message(text=replies.status_retry(answer))
            return [SlotSet("lookup_phone", None), SlotSet("requested_slot", None), ActiveLoop("status_form")]
        if not answer.found:
            dispatcher.utter_message(text=replies.status_reply(answer), buttons=[replies.HUMAN_BUTTON])
            return _reset()
        if tracker.get_slot("status_purpose") != "withdraw":
            dispatcher.utter_message(text=replies.status_reply(answer, svc.tickets.zone))
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
