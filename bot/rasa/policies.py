"""Dialogue policies (referenced by module path in config.yml).

TED's inference is mostly TensorFlow's per-call overhead, paid for every
action it predicts. Trained on intents (not end to end), TED's prediction
depends only on the last `max_history` dialogue states: intent, entity names,
featurised slots, active loop and previous action, all discrete.
Conversations travel a limited set of such paths, so an exact memo of the
model's answer for them is both safe and cheap. Measurements:
docs/benchmark.md, "Why the Rasa overrides exist".
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

from bot.rasa.serving import ServingTED

# Entries are an action-sized list of floats and TED's small attention
# diagnostics: a few MB when full.
DEFAULT_CACHE_SIZE = 2048


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class MemoizedTEDPolicy(TEDPolicy):
    """TEDPolicy whose predictions are remembered by their input states.

    The answer for a given sequence of states is the one TEDPolicy computes (a
    test checks it on every story); only the repeated inference is skipped. A
    model trained with end-to-end (text) features depends on the user's words
    as well, so it is never memoised.
    """

    @staticmethod
    def model_class() -> type:
        return ServingTED  # loaded without its training graph (bot/rasa/serving.py)

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**TEDPolicy.get_default_config(), "prediction_cache_size": DEFAULT_CACHE_SIZE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memo: "OrderedDict[str, Tuple[List[float], Optional[Dict[Text, Any]]]]" = OrderedDict()
        self.memo_hits = 0
        self.memo_misses = 0

    def _memoisable(self) -> bool:
        return self.model is not None and TEXT not in self.fake_features

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        precomputations: Optional[MessageContainerForCoreFeaturization] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        if not self._memoisable():
            return super().predict_action_probabilities(tracker, domain, rule_only_data, precomputations, **kwargs)
        states = self._prediction_states(tracker, domain, rule_only_data=rule_only_data)
        key = json.dumps(states, sort_keys=True, ensure_ascii=False, default=repr)
        remembered = self._memo.get(key)
        if remembered is not None:
            self._memo.move_to_end(key)
            self.memo_hits += 1
            probabilities, diagnostics = remembered
            return self._prediction(list(probabilities), diagnostic_data=diagnostics)

        prediction = super().predict_action_probabilities(tracker, domain, rule_only_data, precomputations, **kwargs)
        self.memo_misses += 1
        if not prediction.optional_events and not prediction.is_end_to_end_prediction:
            self._memo[key] = (list(prediction.probabilities), prediction.diagnostic_data)
            if len(self._memo) > self.config["prediction_cache_size"]:
                self._memo.popitem(last=False)
        return prediction
