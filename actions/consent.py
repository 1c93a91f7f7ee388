"""The personal-information notice before a form's first personal question, and health consent."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import latest_intent, latest_text, services
from bot import consent, replies
from bot.consent import PrivacyNotice

if TYPE_CHECKING:  # what the mixin is mixed into, for type checkers
    from rasa_sdk.forms import FormValidationAction as _Base
else:
    _Base = object  # at runtime not an Action: rasa-sdk registers every Action subclass

NOTICE_SLOT = "privacy_notice_version"
CONSENT_SLOT = "health_consent"
# Questions that do not collect personal information: no notice needed before them.
IMPERSONAL_SLOTS = {"complaint_category", "callback_wanted", "complaint_confirmed", CONSENT_SLOT}
# Free-text answers in which a policyholder may give health details.
HEALTH_TEXT_SLOTS = ("complaint_description", "customer_request", "callback_message")
_YES = ("同意", "可以", "好的", "行")
_INTENT_ANSWERS = {"affirm": consent.GRANTED, "deny": consent.REFUSED}
_NO = ("不同意", "不可以", "拒绝", "不行", "不要")


@lru_cache(maxsize=4)
def _load(path: str) -> PrivacyNotice:
    return consent.load(Path(path))


def privacy_notice() -> PrivacyNotice:
    return _load(str(services().settings.privacy_notice_file))


def notice_already_shown(tracker: Tracker) -> bool:
    """Once per conversation: any earlier session of this conversation counts."""
    return bool(tracker.get_slot(NOTICE_SLOT)) or any(
        event.get("event") == "slot" and event.get("name") == NOTICE_SLOT and event.get("value")
        for event in tracker.events
    )


class ConsentingForm(_Base):
    """Mixed into a form's validation action (before FormValidationAction): shows the notice
    before its first personal question and asks health consent.

    A mixin rather than an Action subclass, because rasa-sdk registers every Action subclass.
    """

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        slots = list(await super().required_slots(domain_slots, dispatcher, tracker, domain))
        notice = privacy_notice()
        health = [
            s for s in slots if s in HEALTH_TEXT_SLOTS and notice.mentions_health(str(tracker.slots.get(s) or ""))
        ]
        if health:
            slots.insert(slots.index(health[0]) + 1, CONSENT_SLOT)
        elif tracker.slots.get(CONSENT_SLOT) is not None and any(s in HEALTH_TEXT_SLOTS for s in slots):
            slots.append(CONSENT_SLOT)  # answered: listed so that the answer is validated
        return slots

    async def _extract_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = await super()._extract_validation_events(dispatcher, tracker, domain)
        notice = privacy_notice()
        if tracker.slots.get(CONSENT_SLOT) == consent.REFUSED:
            events += self._drop_health_details(events, notice, dispatcher, tracker)
        if notice_already_shown(tracker):
            return events
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        requested = next(
            (e["value"] for e in reversed(events) if e.get("event") == "slot" and e.get("name") == "requested_slot"),
            next((s for s in required if tracker.slots.get(s) is None), None),
        )
        if requested is not None and requested not in IMPERSONAL_SLOTS:
            dispatcher.utter_message(text=notice.short_text(services().settings))
            events.append(SlotSet(NOTICE_SLOT, notice.version))
            tracker.slots[NOTICE_SLOT] = notice.version
        return events

    @staticmethod
    def _drop_health_details(
        events: List[EventType],
        notice: PrivacyNotice,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> List[EventType]:
        """Without consent, answers given this turn that carry health details are not kept."""
        dropped = [
            e["name"]
            for e in events
            if e.get("event") == "slot"
            and e.get("name") in HEALTH_TEXT_SLOTS
            and isinstance(e.get("value"), str)
            and notice.mentions_health(e["value"])
        ]
        if not dropped:
            return []
        dispatcher.utter_message(text=notice.health_details_still_present)
        for name in dropped:
            tracker.slots[name] = None
        return [SlotSet(name, None) for name in dropped] + [SlotSet("requested_slot", dropped[0])]

    async def extract_health_consent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """Affirm/deny, or typed "同意"/"不同意", while the consent question is asked."""
        if tracker.get_slot("requested_slot") != CONSENT_SLOT or tracker.get_slot(CONSENT_SLOT):
            return {}
        intent = latest_intent(tracker)
        answer = _typed_answer(latest_text(tracker)) or _INTENT_ANSWERS.get(intent or "")
        return {CONSENT_SLOT: answer} if answer else {}

    def validate_health_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value == consent.GRANTED:
            return {CONSENT_SLOT: consent.GRANTED}
        if value != consent.REFUSED:
            return {CONSENT_SLOT: None}
        notice = privacy_notice()
        dispatcher.utter_message(text=notice.health_consent_refused, buttons=[replies.HUMAN_BUTTON])
        cleared = {
            slot: None for slot in HEALTH_TEXT_SLOTS if notice.mentions_health(str(tracker.get_slot(slot) or ""))
        }
        return {CONSENT_SLOT: consent.REFUSED, **cleared}


class ActionAskHealthConsent(Action):
    """Asks for separate consent to health details (PIPL Art. 29), in the reviewed words."""

    def name(self) -> Text:
        return "action_ask_health_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(
            text=privacy_notice().health_consent_question,
            buttons=replies.CONSENT_BUTTONS,
        )
        return []


def _typed_answer(text: str) -> Optional[str]:
    if any(word in text for word in _NO):
        return consent.REFUSED
    if any(word in text for word in _YES):
        return consent.GRANTED
    return None
