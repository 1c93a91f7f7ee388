"""The memoised TED answers exactly as TED itself, for every step of every test story."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.policies import MemoizedTEDPolicy


@pytest.fixture(scope="module")
def ted(agent) -> Tuple[str, MemoizedTEDPolicy]:
    runner = agent.processor.graph_runner
    found = [
        (name, node._component)
        for name, node in runner._instantiated_nodes.items()
        if isinstance(node._component, MemoizedTEDPolicy)
    ]
    assert len(found) == 1, "config.yml must use bot.rasa.policies.MemoizedTEDPolicy once"
    return found[0]


def predict(agent, node: str, tracker: DialogueStateTracker) -> List[float]:
    return agent.processor.graph_runner.run(inputs={"__tracker__": tracker}, targets=[node])[node].probabilities


def test_remembered_predictions_equal_teds_own(agent, ted, story_steps):
    node, policy = ted
    computed = []
    for tracker in story_steps:  # TED itself: nothing remembered
        policy._memo.clear()
        computed.append(predict(agent, node, tracker))
    assert policy.memo_misses >= len(story_steps)

    policy._memo.clear()
    hits_before = policy.memo_hits
    remembered = [predict(agent, node, tracker) for tracker in story_steps]

    assert remembered == computed
    # stories share their openings, so many steps were answered from memory
    assert policy.memo_hits - hits_before > len(story_steps) // 4


def test_the_memory_is_bounded(agent, ted, story_steps):
    node, policy = ted
    policy._memo.clear()
    size = policy.config["prediction_cache_size"]
    policy.config["prediction_cache_size"] = 5
    try:
        for tracker in story_steps:
            predict(agent, node, tracker)
        assert len(policy._memo) == 5
    finally:
        policy.config["prediction_cache_size"] = size
