"""Custom Rasa NLU components (referenced by module path in config.yml)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import claim_questions, person_requests, risk, validators
from bot.rasa.nlu import vocabulary
from bot.rasa.serving import ServingDIET
from bot.settings import Settings


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ChineseTokenizer(JiebaTokenizer):
    """JiebaTokenizer without whitespace tokens (RasaHQ/rasa#7910)."""

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        return [token for token in super().tokenize(message, attribute) if token.text.strip()]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class ServingDIETClassifier(DIETClassifier):
    """DIETClassifier, trained as Rasa trains it, loaded without its training graph (bot/rasa/serving.py)."""

    @staticmethod
    def model_class() -> type:
        return ServingDIET


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class PooledIntentClassifier(LogisticRegressionClassifier):
    """DIET's intent distribution pooled with a logistic regression's over the same sparse features.

    The two err on different messages; their weighted geometric mean (log-linear pooling)
    keeps confident agreements confident. Weight and C chosen by cross-validation
    (README "NLU quality"). DIET must rank every intent (`ranking_length: 0`).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0, "diet_weight": 0.5}

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=self.config["C"])

    def process(self, messages: List[Message]) -> List[Message]:
        # A message without text features (an empty one) keeps DIET's reading.
        featurised = [message for message in messages if message.get_sparse_features(TEXT)[1] is not None]
        if not featurised:
            return messages
        weight = float(self.config["diet_weight"])
        intents = list(self.clf.classes_)
        regression = self.clf.predict_proba(self._create_X(featurised))
        for message, row in zip(featurised, regression):
            ranked = {i[INTENT_NAME_KEY]: i[PREDICTED_CONFIDENCE_KEY] for i in message.get(INTENT_RANKING_KEY) or []}
            diet = np.array([ranked.get(intent, 0.0) for intent in intents])
            pooled = np.exp(weight * np.log(np.maximum(diet, 1e-9)) + (1 - weight) * np.log(np.maximum(row, 1e-9)))
            pooled /= pooled.sum()
            ranking = [
                {INTENT_NAME_KEY: intents[i], PREDICTED_CONFIDENCE_KEY: float(pooled[i])} for i in np.argsort(-pooled)
            ][: self.config["ranking_length"] or None]
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages


def _implied(name: str, value: str, start: int, end: int) -> Dict[str, Any]:
    """An entity a rule of the normaliser found in the text."""
    return {
        "entity": name,
        "start": start,
        "end": end,
        "value": value,
        "extractor": "EntityNormalizer",
        "processors": ["EntityNormalizer"],
    }


# A message that is only a number ("1365555150", "136 5555 150"): an answer the form
# validates, never a goodbye or a threat. Short ones ("3") stay with the classifier (ratings).
_BARE_NUMBER = re.compile(r"\s*\+?\d[\d\s-]{3,}\d\s*")
INFORM_INTENT = "inform"
# Readings of a message asking for a person that the FallbackClassifier after this component would turn
# into nlu_fallback: out of scope, a low confidence (its threshold in config.yml), or request_human only a
# little ahead of another intent (its ambiguity threshold).
_UNSURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope", "request_human"})
_UNSURE_CONFIDENCE = 0.4


def decide(message: Message, intent: str) -> None:
    """Sets the intent a rule decided, with confidence 1.0 and alone in the ranking, so that the
    FallbackClassifier (low confidence, or the first two of the ranking close) does not undo it."""
    decided = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, decided, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [dict(decided)], add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class EntityNormalizer(GraphComponent):
    """Normalises entity values to the contract and drops what fails validation.

    phone_number → 11 digits; id_number → 18 characters with a valid checksum;
    policy_number and ticket_id → upper case; claim_type and complaint_category
    → one of their canonical values. Runs after all extractors and the classifier,
    so it also routes claim questions the classifier took for a complaint to the
    materials intent (bot/claim_questions.py): asking how to claim never opens the form.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "EntityNormalizer":
        return cls(Settings.from_env())

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = [self.normalise(entity, text) for entity in message.get(ENTITIES, [])]
            kept: List[Dict[str, Any]] = []
            seen = set()
            for entity in entities:
                if entity is None:
                    continue
                key = (entity["entity"], entity["value"], entity.get("start"))
                if key not in seen:
                    seen.add(key)
                    kept.append(entity)
            self.route_claim_question(message)
            self.route_person_request(message)
            self.route_bare_number(message)
            self.route_thanks(message)
            implied = self.implied_claim_type(message, kept) + self.implied_category(message, kept)
            message.set(ENTITIES, kept + implied, add_to_output=True)
        return messages

    @staticmethod
    def implied_category(message: Message, entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """A complaint (or a question about one) whose substance names the category gets it as an entity.

        The same evidence the complaint form weighs (vocabulary.CATEGORY_EVIDENCE): a claim
        delay is a claims complaint even when the classifier did not mark the word.
        """
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent not in ("complain", "check_ticket_status"):
            return []
        if any(entity["entity"] == "complaint_category" for entity in entities):
            return []
        found = vocabulary.category_in_description(message.get(TEXT) or "")
        return [] if found is None else [_implied("complaint_category", *found)]

    @staticmethod
    def implied_claim_type(message: Message, entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """A materials question whose situation implies the claim type (住院, 去世 …) gets it as an entity."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent != "ask_claim_materials" or any(entity["entity"] == "claim_type" for entity in entities):
            return []
        found = vocabulary.claim_type_in_situation(message.get(TEXT) or "")
        if found is None:
            return []
        return [_implied("claim_type", *found)]

    @staticmethod
    def route_claim_question(message: Message) -> None:
        intent = message.get(INTENT) or {}
        text = message.get(TEXT) or ""
        bereaved = vocabulary.PASSED_AWAY.search(text) is not None
        routed = claim_questions.routed_intent(text, intent.get(INTENT_NAME_KEY), bereaved)
        if routed is not None:
            decide(message, routed)

    @staticmethod
    def route_person_request(message: Message) -> None:
        """A message that asks for a person ("…给我找个真人说话") is request_human when the classifier is unsure."""
        intent = message.get(INTENT) or {}
        text = message.get(TEXT) or ""
        unsure = (
            intent.get(INTENT_NAME_KEY) in _UNSURE_INTENTS
            or float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < _UNSURE_CONFIDENCE
        )
        if unsure and not text.startswith("/") and person_requests.wants_a_person(text):
            decide(message, "request_human")

    @staticmethod
    def route_bare_number(message: Message) -> None:
        """A bare number is information (a phone, a ticket number typed with a slip), as the training data has it."""
        if _BARE_NUMBER.fullmatch(message.get(TEXT) or ""):
            decide(message, INFORM_INTENT)

    @staticmethod
    def route_thanks(message: Message) -> None:
        """Thanks read as a threat (the training threats say "等着收律师函吧") are thanks when they name no threat."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent == "escalation_threat" and risk.thanks_without_threat(message.get(TEXT) or ""):
            decide(message, "thank")

    def normalise(self, entity: Dict[str, Any], text: str = "") -> Optional[Dict[str, Any]]:
        name, value = entity.get("entity"), str(entity.get("value", ""))
        if name == "phone_number":
            normalised: Optional[str] = validators.phone_number(value).value
        elif name == "id_number":
            normalised = validators.id_number(value).value
        elif name == "policy_number":
            normalised = validators.policy_number(value, self.settings.policy_number_pattern).value
        elif name == "ticket_id":
            normalised = value.upper()
        elif name == "claim_type":
            # The situation decides, not the wording: 门诊 after an accident is accident medical.
            situation = vocabulary.claim_type_in_situation(value)
            named = value if value in vocabulary.CLAIM_TYPES else (situation[0] if situation else None)
            normalised = vocabulary.with_accident(named, text) if named else None
        elif name == "complaint_category":
            normalised = vocabulary.complaint_category(value)
        else:
            return entity
        if normalised is None:
            return None
        # Rasa's record of who changed an entity; OriginalText leaves these values normalised.
        processors = [*entity.get("processors", []), type(self).__name__]
        return {**entity, "value": normalised, "processors": processors}
