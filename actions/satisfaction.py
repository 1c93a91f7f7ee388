"""The rating after a result notice, a follow-up question or a live agent conversation (满意/基本满意/不满意,
bot/satisfaction.py).

The question comes from outside the dialogue (the notice's chat delivery sets
`rating_notice`, the desk's hand-back `rating_handoff`). An answer is a button, a
typed word ("还行吧", "太差了"), or, only while a rating is asked and for a week after
the question, the number it offers ("1"/"2"/"3", as WeChat and SMS users answer). 不满意 asks for the
reason once (any text is the reason), then sends the ticket back and says how to
apply for 核查.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import WriteCheck, blocking, from_payload, latest_text, services
from bot import replies, satisfaction
from bot.satisfaction import DISSATISFIED, RATINGS, RatingOutcome

log = logging.getLogger(__name__)

REASON_FORM = "rating_reason_form"
PENDING_SLOTS = ("rating_notice", "rating_handoff")
ANSWER_SLOTS = ("rating", "rating_by_number", "rating_reason")
MAX_NOTICE_KEY = 128
# A bare 1/2/3 later than this after the question is not taken for the rating (buttons and words still are).
NUMBERED_REPLY_DAYS = 7


def pending_rating(tracker: Tracker) -> Optional[Tuple[str, str]]:
    """The question waiting for an answer, ("rating_notice", key) or ("rating_handoff", id): the latest asked."""
    asked = {slot: tracker.get_slot(slot) for slot in PENDING_SLOTS}
    asked = {slot: value for slot, value in asked.items() if isinstance(value, str) and value}
    if len(asked) > 1:
        for event in reversed(tracker.events):
            if event.get("event") == "slot" and event.get("name") in asked:
                return event["name"], asked[event["name"]]
    return next(iter(asked.items()), None)


def asked_lately(tracker: Tracker) -> bool:
    """Whether the rating question (or its re-ask) was put within NUMBERED_REPLY_DAYS of the latest message."""
    latest: Optional[float] = None  # the latest user message's time
    for event in reversed(tracker.events):
        if event.get("event") == "user" and latest is None:
            latest = float(event.get("timestamp") or 0)
        elif event.get("event") == "bot" and event.get("text") in (replies.RATING_QUESTION, replies.RATING_UNCLEAR):
            return (latest or 0.0) - float(event.get("timestamp") or 0) <= NUMBERED_REPLY_DAYS * 86400
    return False


def answered_rating(tracker: Tracker) -> Optional[str]:
    """The rating of the latest message: the button's or NLU's value, else the words typed."""
    value = tracker.get_slot("rating")
    if value in RATINGS:
        return str(value)
    if from_payload(tracker):
        return None
    return satisfaction.typed_rating(latest_text(tracker))


def _checked(tracker: Tracker, pending: Tuple[str, str]) -> Tuple[WriteCheck, str, Optional[str], Optional[int]]:
    """The conversation and what is rated, validated again whatever called the action."""
    slot, asked = pending
    check = WriteCheck()
    conversation = check.conversation(tracker)
    notice_key: Optional[str] = None
    handoff_id: Optional[int] = None
    if slot == "rating_notice" and len(asked) <= MAX_NOTICE_KEY:
        notice_key = asked
    elif slot == "rating_handoff" and asked.isdigit() and len(asked) <= 12:
        handoff_id = int(asked)
    else:
        check.problems.append(slot)
    return check, conversation, notice_key, handoff_id


def _clear(*slots: str) -> List[EventType]:
    return [SlotSet(slot, None) for slot in slots]


class ActionReadRatingNumber(Action):
    """Slot mapping: "1"/"2"/"3" is a rating only while one is asked, and asked lately (otherwise NLU's reading
    stands: a digit weeks later is not a rating)."""

    def name(self) -> Text:
        return "action_read_rating_number"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if pending_rating(tracker) is None or from_payload(tracker) or not asked_lately(tracker):
            return []
        rating = satisfaction.numbered_rating(latest_text(tracker))
        if rating is None:
            return []
        return [SlotSet("rating", rating), SlotSet("rating_by_number", True)]


class ValidateRatingReasonForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_rating_reason_form"

    def validate_rating_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        # A button pressed again (its payload is not words) is no reason: the question stands.
        reason = satisfaction.clean_reason(value if isinstance(value, str) else None)
        if reason is None or from_payload(tracker):
            return {"rating_reason": None}
        return {"rating_reason": reason}


class ActionRate(Action):
    """Records the answer to the pending rating question, once, and answers accordingly."""

    def name(self) -> Text:
        return "action_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        pending = pending_rating(tracker)
        rating = answered_rating(tracker)
        if pending is None:
            # Nothing asked (or answered already, or the user moved on and it was cleared): thanked politely.
            dispatcher.utter_message(text=replies.RATING_NOT_ASKED)
            return _clear(*ANSWER_SLOTS)
        if rating is None:
            dispatcher.utter_message(text=replies.RATING_UNCLEAR, buttons=replies.rating_buttons())
            return _clear(*ANSWER_SLOTS)
        if rating == DISSATISFIED and tracker.latest_action_name == "action_listen":
            if await self._rated(tracker, pending):
                dispatcher.utter_message(text=replies.RATING_REPEATED)
                return _clear(*ANSWER_SLOTS, pending[0])
            # The reason first (one message); the form's end comes back here.
            return [
                SlotSet("rating", rating),
                SlotSet("rating_by_number", None),
                SlotSet("rating_reason", None),
                SlotSet("requested_slot", None),
                ActiveLoop(REASON_FORM),
            ]
        return await self._record(dispatcher, tracker, pending, rating)

    @staticmethod
    async def _rated(tracker: Tracker, pending: Tuple[str, str]) -> bool:
        check, conversation, notice_key, handoff_id = _checked(tracker, pending)
        if check.problems:
            return False  # refused, and said so, when it is recorded
        svc = services()
        return await blocking(
            lambda: satisfaction.already_rated(
                svc.tickets.db, conversation_id=conversation, notice_key=notice_key, handoff_id=handoff_id
            )
        )

    async def _record(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, pending: Tuple[str, str], rating: str
    ) -> List[EventType]:
        done = _clear(*ANSWER_SLOTS, pending[0])
        check, conversation, notice_key, handoff_id = _checked(tracker, pending)
        if check.refused(dispatcher, self.name()):
            return done
        reason = tracker.get_slot("rating_reason") if rating == DISSATISFIED else None
        svc = services()
        result = await blocking(
            lambda: satisfaction.record_rating(
                svc.tickets.db,
                conversation_id=conversation,
                rating=rating,
                notice_key=notice_key,
                handoff_id=handoff_id,
                reason=reason if isinstance(reason, str) else None,
                now=svc.tickets.clock(),
            )
        )
        if result.outcome is RatingOutcome.REPEATED:
            dispatcher.utter_message(text=replies.RATING_REPEATED)
        elif result.outcome is RatingOutcome.UNKNOWN:
            log.warning("rating for an unknown %s in conversation %s", pending[0], conversation)
            dispatcher.utter_message(text=replies.RATING_NOT_ASKED)
        elif rating == DISSATISFIED:
            dispatcher.utter_message(text=replies.rating_reopened(result.ticket_no, result.sent_back))
        else:
            dispatcher.utter_message(text=replies.rating_thanks(rating))
        return done
