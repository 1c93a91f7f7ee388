"""Handoff to a human agent, fallbacks, and keeping the pause through new sessions.

When no human can answer (outside service hours, or no agent online) nothing is
queued: the bot says so and offers to take a message (留言) that becomes a
callback ticket, collected by `callback_form`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    EventType,
    Restarted,
    SessionStarted,
    SlotSet,
)
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.complaint import (
    FIELDS,
    MAX_FAILURES,
    ValidateComplaintForm,
    answered_name,
    consent_checked,
    conversation_risks,
    field_check,
    submission_key,
)
from actions.satisfaction import PENDING_SLOTS
from actions.services import (
    WriteCheck,
    blocking,
    channel_of,
    latest_intent,
    latest_text,
    services,
    user_events,
)
from bot import replies, validators
from bot.emotion import is_distressed
from bot.handoff import Availability, HandoffReason
from bot.intake import record_complaint
from bot.tickets import ComplaintDraft

FALLBACKS_BEFORE_HANDOFF = 2
CALLBACK_FORM = "callback_form"
CALLBACK_SLOTS = ["callback_wanted", "callback_message", "callback_name"]
# Typed answers to "需要为您登记留言吗？" that NLU may not read as affirm/deny.
_CALLBACK_NO = ("不留", "不用", "不需要", "不要", "算了")
_CALLBACK_YES = ("留言", "留个言", "回电", "回拨", "打给我", "打电话给我", "联系我")


def _reason(tracker: Tracker) -> HandoffReason:
    if latest_intent(tracker) == "escalation_threat":
        return HandoffReason.THREAT
    failures = tracker.get_slot("validation_failures") or {}
    if any(count >= MAX_FAILURES for count in failures.values()):
        return HandoffReason.VALIDATION_FAILURE
    return HandoffReason.USER_REQUEST


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: HandoffReason) -> List[EventType]:
    """Every path to a human comes through here: queue and pause, or offer a 留言."""
    handoffs = services().handoffs
    availability = await blocking(handoffs.availability)
    if reason is HandoffReason.THREAT or is_distressed(latest_text(tracker)):
        dispatcher.utter_message(response="utter_empathize")
    if availability is not Availability.OPEN:
        return _offer_callback(dispatcher, tracker, availability)
    check = WriteCheck()
    conversation = check.conversation(tracker)
    channel = check.take("channel", validators.channel_name(channel_of(tracker)))
    collected: Dict[str, Any] = {
        field: check.take(field, field_check(field, tracker.get_slot(field)))
        for field in FIELDS
        if tracker.get_slot(field) is not None
    }
    last_ticket = tracker.get_slot("last_ticket_no")
    if last_ticket is not None:
        last_ticket = check.take("last_ticket_no", validators.ticket_number(last_ticket))
    if check.refused(dispatcher, "action_request_handoff"):
        return []
    queued = await blocking(handoffs.request, conversation, channel, reason, collected, last_ticket)
    dispatcher.utter_message(text=replies.queued(queued.position))
    events: List[EventType] = []
    if tracker.active_loop.get("name"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    if tracker.active_loop.get("name") == CALLBACK_FORM:
        events += [SlotSet(slot, None) for slot in CALLBACK_SLOTS]
    return events + [ConversationPaused()]


def _offer_callback(dispatcher: CollectingDispatcher, tracker: Tracker, availability: Availability) -> List[EventType]:
    """Explains why no human answers and opens `callback_form`, whose first question is the offer.

    The form is activated here rather than by a rule because only this action
    knows whether a human is available; Rasa runs an active loop next by itself.
    """
    hours = services().handoffs.hours.describe()
    dispatcher.utter_message(text=replies.handoff_unavailable(availability is Availability.OUTSIDE_HOURS, hours))
    events: List[EventType] = [SlotSet("requested_slot", None)]
    if tracker.active_loop.get("name") != CALLBACK_FORM:
        # A fresh offer; asking for a human again mid-留言 keeps what was given.
        events += [SlotSet(slot, None) for slot in CALLBACK_SLOTS] + [SlotSet("validation_failures", None)]
    return events + [ActiveLoop(CALLBACK_FORM)]


class ActionRequestHandoff(Action):
    def name(self) -> Text:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return await hand_off(dispatcher, tracker, _reason(tracker))


class ActionHandleFallback(Action):
    """First misunderstanding: rephrase help; second in a row: a human takes over."""

    def name(self) -> Text:
        return "action_handle_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        consecutive = 0
        for event in reversed(user_events(tracker)):
            if (event.get("parse_data", {}).get("intent") or {}).get("name") != "nlu_fallback":
                break
            consecutive += 1
        if consecutive >= FALLBACKS_BEFORE_HANDOFF:
            return await hand_off(dispatcher, tracker, HandoffReason.FALLBACK)
        dispatcher.utter_message(response="utter_default")
        return []


class ActionSessionStart(Action):
    """A new session must not lift a human agent's pause (SessionStarted resets it), nor forget a rating question
    put to the user while they were away (a notice may arrive days after their last message)."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(slot, tracker.get_slot(slot)) for slot in PENDING_SLOTS if tracker.get_slot(slot)]
        events.append(ActionExecuted("action_listen"))
        if await blocking(services().handoffs.is_active, tracker.sender_id):
            events.append(ConversationPaused())
        return events


class ActionRestart(Action):
    """`/restart` resets the conversation but not an active handoff."""

    def name(self) -> Text:
        return "action_restart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if await blocking(services().handoffs.is_active, tracker.sender_id):
            dispatcher.utter_message(response="utter_still_with_agent")
            return [Restarted(), ConversationPaused()]
        dispatcher.utter_message(response="utter_restarted")
        return [Restarted()]


# -- leave a message (留言) for a callback ------------------------------------


class ValidateCallbackForm(ValidateComplaintForm):
    """Validates the 留言: the phone number (same slot and checks as the complaint
    form, so a number already given is not asked again), the message and a name."""

    def name(self) -> Text:
        return "validate_callback_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # On the form's first run hand_off has already answered the feelings in the message.
        if tracker.latest_action_name == "action_listen" and is_distressed(latest_text(tracker)):
            dispatcher.utter_message(response="utter_empathize")
        return await FormValidationAction.run(self, dispatcher, tracker, domain)

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.slots.get("callback_wanted") is False:
            return ["callback_wanted"]  # declined: nothing more to ask
        return await super().required_slots(domain_slots, dispatcher, tracker, domain)

    # -- extraction: typed answers to the offer, and what the complaint form already has

    async def extract_callback_wanted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "callback_wanted" or tracker.get_slot("callback_wanted") is not None:
            return {}
        text = latest_text(tracker)
        if any(word in text for word in _CALLBACK_NO):
            return {"callback_wanted": False}
        if any(word in text for word in _CALLBACK_YES):
            return {"callback_wanted": True}
        return {}

    @staticmethod
    def _carried_over(tracker: Tracker, slot: str, source: str) -> Dict[Text, Any]:
        # Only when the form starts (nothing requested yet), never over an answer.
        if tracker.get_slot("requested_slot") is None and tracker.get_slot(slot) is None:
            value = tracker.get_slot(source)
            if value:
                return {slot: value}
        return {}

    async def extract_callback_message(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._carried_over(tracker, "callback_message", "complaint_description")

    async def extract_callback_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._carried_over(tracker, "callback_name", "complainant_name") or answered_name(
            tracker, "callback_name"
        )

    # -- validation ------------------------------------------------------------

    def _failed(
        self,
        slot: str,
        error: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        buttons: Optional[List[Dict[str, str]]] = None,
    ) -> Dict[str, Any]:
        failures = dict(tracker.get_slot("validation_failures") or {})
        failures[slot] = failures.get(slot, 0) + 1
        if failures[slot] >= MAX_FAILURES:
            dispatcher.utter_message(
                text=replies.callback_field_help(error, slot), buttons=replies.CALLBACK_FIELD_HELP_BUTTONS
            )
        else:
            dispatcher.utter_message(text=error, buttons=buttons or [])
        return {slot: None, "validation_failures": failures}

    def validate_callback_wanted(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"callback_wanted": value if isinstance(value, bool) else None}

    def validate_callback_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked("callback_message", validators.free_text(value, "留言内容"), dispatcher, tracker)

    def validate_callback_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked("callback_name", validators.complainant_name(str(value)), dispatcher, tracker)


def _reset_callback_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in CALLBACK_SLOTS + ["validation_failures"]]


class ActionSubmitCallback(Action):
    """Writes the callback ticket once the 留言 is complete, or says where else to turn if declined."""

    def name(self) -> Text:
        return "action_submit_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        svc = services()
        if tracker.get_slot("callback_wanted") is not True:
            dispatcher.utter_message(text=replies.callback_declined(svc.handoffs.hours.describe()))
            return _reset_callback_slots()
        check = WriteCheck()
        request = tracker.get_slot("customer_request")
        if request is not None:
            request = check.take("customer_request", field_check("customer_request", request))
        phone = check.take("phone_number", field_check("phone_number", tracker.get_slot("phone_number"))) or ""
        draft = ComplaintDraft(
            conversation_id=check.conversation(tracker),
            channel=check.take("channel", validators.channel_name(channel_of(tracker))) or "",
            category=check.take(
                "complaint_category",
                field_check("complaint_category", tracker.get_slot("complaint_category") or "other"),
            )
            or "",
            complainant_name=check.take("callback_name", validators.complainant_name(tracker.get_slot("callback_name")))
            or "",
            phone_number=phone,
            description=check.take(
                "callback_message", validators.free_text(tracker.get_slot("callback_message"), "留言内容")
            )
            or "",
            customer_request=replies.CALLBACK_REQUEST + (f"；{request}" if request else ""),
            policy_number=check.take("policy_number", field_check("policy_number", tracker.get_slot("policy_number"))),
            kind="callback",
            risk_flags=tuple(conversation_risks(tracker)),
            **consent_checked(check, tracker),
        )
        if check.refused(dispatcher, self.name()):
            return _reset_callback_slots()
        # The regulatory clock runs from acceptance: the same durable path as a complaint.
        outcome = await blocking(
            record_complaint, svc.tickets, svc.spool, draft, submission_key(tracker, CALLBACK_FORM)
        )
        # What an interrupted complaint had collected is in the ticket now.
        reset = _reset_callback_slots() + [SlotSet(field, None) for field in FIELDS]
        if outcome.recorded:
            assert outcome.ticket_no is not None  # recorded means a ticket number
            dispatcher.utter_message(
                text=replies.callback_created(outcome.ticket_no, phone, svc.settings.contact_promise)
            )
            return reset + [SlotSet("last_ticket_no", outcome.ticket_no)]
        dispatcher.utter_message(text=replies.callback_spooled(outcome.spool_reference or ""))
        return reset


class ActionCancelCallback(Action):
    def name(self) -> Text:
        return "action_cancel_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(text=replies.callback_declined(services().handoffs.hours.describe(), cancelled=True))
        return _reset_callback_slots()
