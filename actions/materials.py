"""The uniform claim-material script, rendered from knowledge/claim_materials.yml."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import latest_text, services
from bot.materials import claim_type_or_none

WHY_WORDS = ("为什么", "为啥", "干嘛", "什么用", "有啥用", "凭什么")


class ActionExplainClaimMaterials(Action):
    """Same bytes for a claim type on every path: in or out of a form, any channel."""

    def name(self) -> Text:
        return "action_explain_claim_materials"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        script = services().materials
        text = latest_text(tracker)
        asked_about = script.documents_mentioned(text)
        if asked_about and any(word in text for word in WHY_WORDS):
            for document_id in asked_about:
                dispatcher.utter_message(text=script.explain(document_id))
            return []
        claim_type = claim_type_or_none(
            next(tracker.get_latest_entity_values("claim_type"), None)
        ) or claim_type_or_none(tracker.get_slot("claim_type"))
        if claim_type is None:
            dispatcher.utter_message(
                response="utter_ask_claim_type",
                buttons=[
                    {"title": kind.name, "payload": f'/ask_claim_materials{{"claim_type":"{kind.id}"}}'}
                    for kind in script.claim_types.values()
                ],
            )
            return []
        dispatcher.utter_message(text=script.render(claim_type))
        return [SlotSet("claim_type", claim_type)]
