"""Complaint intake form (受理与记录)."""

from __future__ import annotations

from functools import partialmethod
from typing import Any, Callable, Dict, List, Optional, Text, TypedDict

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.consent import CONSENT_SLOT, NOTICE_SLOT, ConsentingForm
from actions.services import (
    WriteCheck,
    blocking,
    channel_of,
    from_payload,
    latest_intent,
    latest_text,
    services,
    user_events,
)
from bot import consent, corrections, given_fields, person_requests, replies, risk, validators
from bot.emotion import is_distressed
from bot.intake import record_complaint
from bot.rasa.nlu import vocabulary
from bot.tickets import CATEGORY_LABELS, ComplaintDraft

FORM = "complaint_form"
FIELDS = list(replies.FIELD_LABELS)
OPTIONAL_FIELDS = {"policy_number"}
MAX_FAILURES = 2
# A first message this long already tells what happened.
DESCRIPTION_FROM_FIRST_MESSAGE_MIN_CHARS = 15
SHORT_ANSWER_CHARS = 10
# Intents whose rule only says "好的，我们继续" and resumes the form, and the confidence
# below which such a reading of a valid name is doubted: "刘洋" is read as affirm at 0.58.
CHITCHAT_INTENTS = {"affirm", "greet", "thank", "deny", "skip"}
SURE = 0.9
# The read-back's value for "the user typed a correction to `field`" (complaint_confirmed).
CORRECTED = "corrected:"


def answered_name(tracker: Tracker, slot: str) -> Dict[Text, Any]:
    """A valid name typed when `slot` was asked is the name, even if NLU, unsure, read it as chit-chat."""
    if tracker.get_slot("requested_slot") != slot or tracker.get_slot(slot) is not None:
        return {}
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") not in CHITCHAT_INTENTS or float(intent.get("confidence") or 0) >= SURE:
        return {}
    name = given_fields.bare_name(latest_text(tracker))
    return {slot: name} if name else {}


def submission_key(tracker: Tracker, form: str = FORM) -> str:
    """Stable across retries of the same submission: the form's activation time."""
    started = next(
        (
            event.get("timestamp")
            for event in reversed(tracker.events)
            if event.get("event") == "active_loop" and event.get("name") == form
        ),
        None,
    )
    return f"{tracker.sender_id}:{started}"


class ValidateComplaintForm(ConsentingForm, FormValidationAction):
    def name(self) -> Text:
        return "validate_complaint_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text = latest_text(tracker)
        if is_distressed(text):
            dispatcher.utter_message(response="utter_empathize")
        return await super().run(dispatcher, tracker, domain)

    # -- custom extraction: never ask for what the user already said ----------

    async def extract_complaint_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("complaint_category") is not None:
            return {}
        text, requested = latest_text(tracker), tracker.get_slot("requested_slot")
        # The complaint itself ("理赔拖了两个月…"), or a short answer to the question
        # ("理赔的") that NLU may take for a materials question.
        activating = requested is None and latest_intent(tracker) == "complain"
        answering = requested == "complaint_category" and len(text) <= SHORT_ANSWER_CHARS
        if activating:  # the substance of the whole complaint, not its first keyword
            category = vocabulary.category_from_description(text)
        else:
            category = vocabulary.complaint_category(text) if answering else None
        return {"complaint_category": category} if category else {}

    async def extract_complaint_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text, requested, intent = latest_text(tracker), tracker.get_slot("requested_slot"), latest_intent(tracker)
        # The complaint's first message, or a whole account typed in answer to "哪一类问题"
        # after the "我要投诉" button ("理赔拖了两个月了…").
        telling = (requested is None and intent == "complain") or (
            requested == "complaint_category" and intent in ("complain", "inform") and not from_payload(tracker)
        )
        if (
            telling
            and tracker.get_slot("complaint_description") is None
            and validators.free_text(text, "", DESCRIPTION_FROM_FIRST_MESSAGE_MIN_CHARS).ok
        ):
            return {"complaint_description": text}
        return {}

    async def extract_complainant_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return answered_name(tracker, "complainant_name") or given(tracker, "complainant_name")

    async def _extract_given(
        self, field: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return given(tracker, field)

    # rasa-sdk calls `extract_<slot>(dispatcher, tracker, domain)` for each required slot.
    extract_policy_number = partialmethod(_extract_given, "policy_number")
    extract_phone_number = partialmethod(_extract_given, "phone_number")

    async def extract_customer_request(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = latest_text(tracker)
        # "钱赶紧给我", read as a request for a person: the answer to "您希望我们怎么处理？" unless it names one.
        if (
            tracker.get_slot("requested_slot") == "customer_request"
            and latest_intent(tracker) == "request_human"
            and not from_payload(tracker)
            and not person_requests.mentions_a_person(text)
        ):
            return {"customer_request": text}
        return given(tracker, "customer_request")

    async def extract_complaint_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """A correction typed at the read-back ("电话写错了，应该是139…") is applied directly."""
        if tracker.get_slot("requested_slot") != "complaint_confirmed" or from_payload(tracker):
            return {}
        correction = corrections.parse(latest_text(tracker), replies.FIELD_WORDS, _policy_pattern())
        if correction is None:
            return {}
        if correction.value is None:
            return {"complaint_confirmed": correction.field}  # "手机号不对": that field is asked again
        return {correction.field: correction.value, "complaint_confirmed": CORRECTED + correction.field}

    # -- failure bookkeeping -------------------------------------------------

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
            skippable = slot in OPTIONAL_FIELDS
            dispatcher.utter_message(
                text=replies.field_help(error, slot, skippable), buttons=replies.field_help_buttons(skippable)
            )
        else:
            dispatcher.utter_message(text=error, buttons=buttons or [])
        return {slot: None, "validation_failures": failures}

    @staticmethod
    def _passed(slot: str, value: Any, tracker: Tracker) -> Dict[str, Any]:
        failures = dict(tracker.get_slot("validation_failures") or {})
        result: Dict[str, Any] = {slot: value}
        if failures.pop(slot, None) is not None:
            result["validation_failures"] = failures
        return result

    def _checked(
        self, slot: str, check: validators.Check, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        if not check.ok:
            return self._failed(slot, check.error or "", dispatcher, tracker)
        return self._passed(slot, check.value, tracker)

    # -- one validator per slot ----------------------------------------------

    def validate_complaint_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text, requested = latest_text(tracker), tracker.get_slot("requested_slot")
        if requested in FIELDS and requested != "complaint_category":
            # A word like 客服 in a later answer is not a new category: keep the one set before.
            return {"complaint_category": _category_before_this_turn(tracker)}
        if requested is None and not text.startswith("/"):
            # Taken from the description, not chosen: only when its substance is clear;
            # otherwise the form asks, with the categories as buttons.
            return {"complaint_category": vocabulary.category_from_description(text)}
        category = vocabulary.complaint_category(str(value or ""))
        if category is None:
            return self._failed(
                "complaint_category",
                replies.CATEGORY_UNCLEAR,
                dispatcher,
                tracker,
                buttons=replies.category_buttons(),
            )
        return self._passed("complaint_category", category, tracker)

    def validate_policy_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value == replies.SKIPPED:
            return self._passed("policy_number", value, tracker)
        check = narrowed("policy_number", str(value), lambda text: validators.policy_number(text, _policy_pattern()))
        return self._checked("policy_number", check, dispatcher, tracker)

    def validate_complainant_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        check = narrowed("complainant_name", str(value), validators.complainant_name)
        return self._checked("complainant_name", check, dispatcher, tracker)

    def validate_phone_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked(
            "phone_number", narrowed("phone_number", str(value), validators.phone_number), dispatcher, tracker
        )

    def validate_complaint_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked("complaint_description", validators.free_text(value, "投诉事项"), dispatcher, tracker)

    def validate_customer_request(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._checked("customer_request", validators.free_text(value, "诉求", minimum=2), dispatcher, tracker)

    def validate_complaint_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is True:
            return {"complaint_confirmed": True, "awaiting_correction": None}
        if isinstance(value, str) and value.startswith(CORRECTED):
            # The corrected field was validated in this same run; its error, if any, was told.
            label = replies.FIELD_LABELS.get(value[len(CORRECTED) :])
            if label and tracker.get_slot(value[len(CORRECTED) :]) is not None:
                dispatcher.utter_message(text=replies.field_corrected(label))
            return {"complaint_confirmed": None, "awaiting_correction": None}
        if value is False:
            return {"complaint_confirmed": None, "awaiting_correction": True}
        field = value if value in FIELDS else _field_named_in(str(value or ""))
        if field is None:
            return {"complaint_confirmed": None, "awaiting_correction": True}
        if field in _fields_set_this_turn(tracker):
            # "手机号改成139…": the new value is already in; show the summary again.
            return {"complaint_confirmed": None, "awaiting_correction": None}
        return {field: None, "complaint_confirmed": None, "awaiting_correction": None}


def _policy_pattern() -> str:
    return services().settings.policy_number_pattern


def narrowed(field: str, value: str, check: Callable[[str], validators.Check]) -> validators.Check:
    """The answer as typed, or else the field's value within it ("刚说了 李建国", "李建国，电话138…")."""
    first = check(value)
    if first.ok:
        return first
    for candidate in given_fields.answer_candidates(field, value, _policy_pattern()):
        again = check(candidate)
        if again.ok:
            return again
    return first


def given(tracker: Tracker, field: str) -> Dict[Text, Any]:
    """`field` as the user stated it unasked, or recalled from earlier messages when they say they did."""
    requested, text, tapped = tracker.get_slot("requested_slot"), latest_text(tracker), from_payload(tracker)
    if requested == field:
        if tapped:
            return {}
        if not given_fields.looking_back(text):
            if latest_intent(tracker) not in CHITCHAT_INTENTS:
                return {}  # a plain answer: the slot's own mapping takes it
            # Read as small talk, which the mapping skips, yet it states the field ("你好，我是李建国").
            value = given_fields.volunteered(text, _policy_pattern()).get(field)
            return {field: value} if value else {}
        answer = given_fields.without_look_back(text)
        if answer and field_check(field, answer).ok:
            return {field: answer}
        # "电话也一样 前面给过了": what is left is no answer; the earlier one is.
        earlier = [str(e.get("text") or "") for e in user_events(tracker)[:-1]]
        value = given_fields.recalled(field, earlier, _policy_pattern()) or answer
        return {field: value} if value else {}
    if tracker.get_slot(field) is not None or requested == "complaint_confirmed":
        return {}
    value = None
    if not tapped and (requested is not None or latest_intent(tracker) == "complain"):  # nor a bare category
        value = given_fields.volunteered(text, _policy_pattern()).get(field)
    if value is None and requested is None and field in WHO_FIELDS:
        # The form starts: who the user said they are before it ("你好，我是李建国", then "我要投诉").
        value = given_fields.recalled(field, said_before_this_form(tracker), _policy_pattern())
    return {field: value} if value else {}


# Who the user is (not what they want) carries over from before the form: a wish said
# about something else ("我希望了解一下理赔流程") is not this complaint's request.
WHO_FIELDS = {"complainant_name", "phone_number", "policy_number"}
# Where an earlier request ends: what was said before belongs to it, not to the form starting now.
EPISODE_ENDS = {
    "action_session_start",
    "action_restart",
    "action_submit_complaint",
    "action_cancel_complaint",
    "action_submit_callback",
    "action_cancel_callback",
}


def said_before_this_form(tracker: Tracker) -> List[str]:
    """The user's typed messages before the latest one, since the last request ended (oldest first)."""
    texts: List[str] = []
    latest_seen = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("restart", "session_started") or (kind == "action" and event.get("name") in EPISODE_ENDS):
            break
        if kind != "user":
            continue
        text = str(event.get("text") or "")
        if latest_seen and not text.lstrip().startswith("/"):
            texts.append(text)
        latest_seen = True
    return texts[::-1]


def _field_named_in(text: str) -> Optional[str]:
    for field, words in replies.FIELD_WORDS.items():
        if any(word in text for word in words):
            return field
    return None


def _fields_set_this_turn(tracker: Tracker) -> List[str]:
    names = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("name") in FIELDS:
            names.append(event["name"])
    return names


class ActionAskComplaintConfirmed(Action):
    """Reads the summary back (phone masked) or asks which field to correct."""

    def name(self) -> Text:
        return "action_ask_complaint_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("awaiting_correction"):
            dispatcher.utter_message(text=replies.WHICH_FIELD, buttons=replies.field_choice_buttons())
            return []
        dispatcher.utter_message(
            text=replies.summary({field: tracker.get_slot(field) for field in FIELDS}),
            buttons=replies.SUMMARY_BUTTONS,
        )
        return []


def _reset_form_slots() -> List[EventType]:
    return [
        SlotSet(slot, None)
        for slot in FIELDS + ["complaint_confirmed", "awaiting_correction", "validation_failures", CONSENT_SLOT]
    ]


def field_check(field: str, value: Any) -> validators.Check:
    """The form's validation of one complaint field, applied again before it is written."""
    if field == "complaint_category":
        return validators.complaint_category(value, CATEGORY_LABELS)
    if field == "policy_number":
        if value in (None, replies.SKIPPED):
            return validators.Check(value=None)
        return validators.policy_number(value, services().settings.policy_number_pattern)
    if field == "complainant_name":
        return validators.complainant_name(value)
    if field == "phone_number":
        return validators.phone_number(value)
    if field == "complaint_description":
        return validators.free_text(value, "投诉事项")
    if field == "customer_request":
        return validators.free_text(value, "诉求", minimum=2)
    raise KeyError(field)


class ConsentFields(TypedDict):
    privacy_notice_version: Optional[str]
    health_consent: Optional[str]


def consent_checked(check: WriteCheck, tracker: Tracker) -> ConsentFields:
    """The notice version and health consent recorded on a ticket, checked before writing."""
    return {
        "privacy_notice_version": check.take(NOTICE_SLOT, validators.optional_label(tracker.get_slot(NOTICE_SLOT))),
        "health_consent": check.take(
            CONSENT_SLOT, validators.choice(tracker.get_slot(CONSENT_SLOT), (None, consent.GRANTED, consent.REFUSED))
        ),
    }


def conversation_risks(tracker: Tracker) -> List[str]:
    """Threats (media, regulator, lawsuit, violence) in anything the policyholder wrote (bot/risk.py)."""
    return risk.detect(event.get("text") for event in user_events(tracker))


class ActionSubmitComplaint(Action):
    def name(self) -> Text:
        return "action_submit_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        svc = services()
        check = WriteCheck()
        slots = {field: tracker.get_slot(field) for field in FIELDS}
        slots["complaint_category"] = slots["complaint_category"] or "other"
        fields = {field: check.take(field, field_check(field, value)) for field, value in slots.items()}
        draft = ComplaintDraft(
            conversation_id=check.conversation(tracker),
            channel=check.take("channel", validators.channel_name(channel_of(tracker))) or "",
            category=fields["complaint_category"] or "",
            complainant_name=fields["complainant_name"] or "",
            phone_number=fields["phone_number"] or "",
            description=fields["complaint_description"] or "",
            customer_request=fields["customer_request"] or "",
            policy_number=fields["policy_number"],
            risk_flags=tuple(conversation_risks(tracker)),
            **consent_checked(check, tracker),
        )
        if check.refused(dispatcher, self.name()):
            return _reset_form_slots()
        outcome = await blocking(record_complaint, svc.tickets, svc.spool, draft, submission_key(tracker))
        if outcome.recorded:
            assert outcome.ticket_no is not None and outcome.deadline is not None  # recorded: both set
            dispatcher.utter_message(
                text=replies.ticket_created(
                    outcome.ticket_no, outcome.deadline, svc.settings.handling_days, svc.settings.contact_promise
                )
            )
            return _reset_form_slots() + [SlotSet("last_ticket_no", outcome.ticket_no)]
        dispatcher.utter_message(text=replies.ticket_spooled(outcome.spool_reference or ""))
        return _reset_form_slots()


class ActionCancelComplaint(Action):
    def name(self) -> Text:
        return "action_cancel_complaint"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response="utter_complaint_cancelled")
        return _reset_form_slots()


def _category_before_this_turn(tracker: Tracker) -> Optional[str]:
    """The category as it stood before the user's latest message."""
    seen_latest_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_latest_user = True
        elif seen_latest_user and event.get("event") == "slot" and event.get("name") == "complaint_category":
            value = event.get("value")
            return value if isinstance(value, str) else None
    return None
