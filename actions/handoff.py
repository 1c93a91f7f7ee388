"""Handoff to a human agent, fallbacks, and keeping the pause through new sessions."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
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

from actions.complaint import FIELDS, MAX_FAILURES
from actions.services import blocking, channel_of, latest_intent, latest_text, services, user_events
from bot import replies
from bot.emotion import is_distressed
from bot.handoff import HandoffReason

FALLBACKS_BEFORE_HANDOFF = 2


def _reason(tracker: Tracker) -> HandoffReason:
    if latest_intent(tracker) == "escalation_threat":
        return HandoffReason.THREAT
    failures = tracker.get_slot("validation_failures") or {}
    if any(count >= MAX_FAILURES for count in failures.values()):
        return HandoffReason.VALIDATION_FAILURE
    return HandoffReason.USER_REQUEST


async def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: HandoffReason
) -> List[EventType]:
    collected: Dict[str, Any] = {
        field: tracker.get_slot(field) for field in FIELDS if tracker.get_slot(field) is not None
    }
    queued = await blocking(
        services().handoffs.request, tracker.sender_id, channel_of(tracker), reason,
        collected, tracker.get_slot("last_ticket_no"),
    )
    if reason is HandoffReason.THREAT or is_distressed(latest_text(tracker)):
        dispatcher.utter_message(response="utter_empathize")
    dispatcher.utter_message(text=replies.queued(queued.position))
    events: List[EventType] = []
    if tracker.active_loop.get("name"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    return events + [ConversationPaused()]


class ActionRequestHandoff(Action):
    def name(self) -> Text:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        return await hand_off(dispatcher, tracker, _reason(tracker))


class ActionHandleFallback(Action):
    """First misunderstanding: rephrase help; second in a row: a human takes over."""

    def name(self) -> Text:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
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
    """A new session must not lift a human agent's pause (SessionStarted resets it)."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted(), ActionExecuted("action_listen")]
        if await blocking(services().handoffs.is_active, tracker.sender_id):
            events.append(ConversationPaused())
        return events


class ActionRestart(Action):
    """`/restart` resets the conversation but not an active handoff."""

    def name(self) -> Text:
        return "action_restart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        if await blocking(services().handoffs.is_active, tracker.sender_id):
            dispatcher.utter_message(response="utter_still_with_agent")
            return [Restarted(), ConversationPaused()]
        dispatcher.utter_message(response="utter_restarted")
        return [Restarted()]
