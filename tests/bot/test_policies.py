"""The memoised TED answers exactly as TED itself, for every step of every test story."""
from __future__ import annotations

from typing import List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.training import load_data
from rasa.shared.core.trackers import DialogueStateTracker

from bot.embedded import MODEL, ROOT
from bot.policies import MemoizedTEDPolicy


@pytest.fixture(scope="module")
def agent() -> Agent:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it)")
    return Agent.load(str(MODEL))


@pytest.fixture(scope="module")
def ted(agent) -> Tuple[str, MemoizedTEDPolicy]:
    runner = agent.processor.graph_runner
    found = [(name, node._component) for name, node in runner._instantiated_nodes.items()
             if isinstance(node._component, MemoizedTEDPolicy)]
    assert len(found) == 1, "config.yml must use bot.policies.MemoizedTEDPolicy once"
    return found[0]


@pytest.fixture(scope="module")
def story_steps(agent) -> List[DialogueStateTracker]:
    """The tracker before each bot action of each test story (and of the training stories)."""
    domain = agent.domain
    stories = load_data(str(ROOT / "tests" / "stories"), domain, augmentation_factor=0) + \
        load_data(str(ROOT / "data" / "stories"), domain, augmentation_factor=0)
    steps = [DialogueStateTracker.from_events(prior.sender_id, list(prior.events), slots=domain.slots)
             for story in stories for prior, _ in story.generate_all_prior_trackers()]
    assert len(steps) > 50
    return steps


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
