"""The uniform claim-material script, rendered from knowledge/claim_materials.yml."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import latest_text, services
from bot.claim_questions import declines_complaint
from bot.materials import MaterialsScript, claim_type_or_none
from bot.rasa.nlu import vocabulary
from bot.text_normalisation import normalise

logger = logging.getLogger(__name__)

WHY_WORDS = ("为什么", "为啥", "干嘛", "什么用", "有啥用", "凭什么")
# The button under the summary asks for the reasons of the same claim type. Rasa drops
# payload keys that are not domain entities, so the action reads the key from the payload text.
VIEW_ENTITY = "materials_view"
REASONS_VIEW = "reasons"
REASONS_BUTTON_TITLE = "为什么需要这些"
COMPLAINT_FORM = "complaint_form"


def reasons_button(claim_type: str) -> Dict[str, str]:
    payload = f'/ask_claim_materials{{"claim_type":"{claim_type}","{VIEW_ENTITY}":"{REASONS_VIEW}"}}'
    return {"title": REASONS_BUTTON_TITLE, "payload": payload}


def asks_for_reasons(text: str) -> bool:
    """The reasons button, or a typed "why" about the documents as a whole."""
    if text.startswith("/") and "{" in text:
        try:
            fields = json.loads(text[text.index("{") :])
        except ValueError:
            return False
        return isinstance(fields, dict) and fields.get(VIEW_ENTITY) == REASONS_VIEW
    return any(word in text for word in WHY_WORDS)


def _claim_type(tracker: Tracker, text: str) -> Optional[str]:
    """Named now (entity, or a word in the text), else the one asked about before."""
    entity = claim_type_or_none(next(tracker.get_latest_entity_values("claim_type"), None))
    if entity is not None:
        return entity
    if not text.startswith("/"):
        # The same rule as the entity normaliser's, on the text NLU read (traditional characters too).
        named = vocabulary.claim_type_in_situation(normalise(text).text)
        if named is not None:
            return named[0]
    return claim_type_or_none(tracker.get_slot("claim_type"))


def _utter(dispatcher: CollectingDispatcher, script: MaterialsScript, text: str, **extra: Any) -> None:
    """Every materials message carries the script's review record as metadata, never in its text."""
    logger.info("materials answer from script version %s", script.version)
    dispatcher.utter_message(text=text, **extra, **script.metadata())


class ActionExplainClaimMaterials(Action):
    """Same bytes for a claim type on every path: in or out of a form, any channel."""

    def name(self) -> Text:
        return "action_explain_claim_materials"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = self.answer(dispatcher, tracker)
        if tracker.active_loop_name == COMPLAINT_FORM and declines_complaint(latest_text(tracker)):
            # "我不是要投诉，就问问…": answered, and the complaint form is not resumed.
            events += [ActiveLoop(None), SlotSet("requested_slot", None), FollowupAction("action_listen")]
        return events

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        script = services().materials
        text = latest_text(tracker)
        asked_about = script.documents_mentioned(text)
        if asked_about and any(word in text for word in WHY_WORDS):
            for document_id in asked_about:
                _utter(dispatcher, script, script.explain(document_id))
            return []
        claim_type = _claim_type(tracker, text)
        if claim_type is None:
            dispatcher.utter_message(
                response="utter_ask_claim_type",
                buttons=[
                    {"title": kind.name, "payload": f'/ask_claim_materials{{"claim_type":"{kind.id}"}}'}
                    for kind in script.claim_types.values()
                ],
            )
            return []
        if asks_for_reasons(text):
            _utter(dispatcher, script, script.reasons(claim_type))
        else:
            _utter(dispatcher, script, script.summary(claim_type), buttons=[reasons_button(claim_type)])
        return [SlotSet("claim_type", claim_type)]
