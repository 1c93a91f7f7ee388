"""Rasa's side of bot/text_normalisation.py: the text NLU reads, and the user's own characters back at the end.

`TextNormaliser` heads the pipeline and replaces the text with its normalised
form, at training (entity annotations moved with it) and at serving alike.
`OriginalText` ends the pipeline: entity offsets (and values that are a span of
the text and not normalised by EntityNormalizer) point at what the user typed again, and the parse result carries the
original text. The tracker stores the user's message as sent either way.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text_normalisation import NormalisedText, normalise

# Where the user's text waits, between the head and the end of the pipeline (not in the parse output).
ORIGINAL_TEXT = "original_text"


# The entity normaliser (components.EntityNormalizer) names itself in an entity's processors:
# its values are the contract's (11-digit phones, canonical categories) and stay so.
NORMALISED_BY = "EntityNormalizer"


def _moved_entities(entities: List[Dict[str, Any]], source: str, target: str, span: Any) -> List[Dict[str, Any]]:
    """Entities with offsets moved by `span` (start, end → span or None); a raw value that was the span follows it."""
    moved: List[Dict[str, Any]] = []
    for entity in entities:
        start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
        if not isinstance(start, int) or not isinstance(end, int):
            moved.append(entity)
            continue
        new_span = span(start, end)
        if new_span is None:
            continue  # only dropped characters (whitespace): nothing left to point at
        new_start, new_end = new_span
        value = entity.get("value")
        if value == source[start:end] and NORMALISED_BY not in entity.get("processors", []):
            value = target[new_start:new_end]
        moved.append({**entity, ENTITY_ATTRIBUTE_START: new_start, ENTITY_ATTRIBUTE_END: new_end, "value": value})
    return moved


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TextNormaliser(GraphComponent):
    """Normalises the text NLU reads (full width, traditional characters, whitespace, punctuation)."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "TextNormaliser":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            normalised = normalise(text)
            if normalised.text == text:
                continue
            entities = message.get(ENTITIES)
            if entities:
                message.set(ENTITIES, _moved_entities(entities, text, normalised.text, normalised.normalised_span))
            message.set(TEXT, normalised.text)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text:
                normalised = normalise(text)
                if normalised.text != text:
                    message.set(ORIGINAL_TEXT, text)
                    message.set(TEXT, normalised.text)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class OriginalText(GraphComponent):
    """Puts the user's own text back and points the entities at its characters."""

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "OriginalText":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            original = message.get(ORIGINAL_TEXT)
            if not isinstance(original, str):
                continue
            normalised: NormalisedText = normalise(original)
            entities = message.get(ENTITIES)
            if entities:
                restored = _moved_entities(entities, normalised.text, original, normalised.original_span)
                message.set(ENTITIES, restored, add_to_output=True)
            message.set(TEXT, original)
            message.data.pop(ORIGINAL_TEXT, None)
        return messages
