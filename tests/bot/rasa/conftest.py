"""Fixtures for the Rasa plug-ins: the trained model's view of every story step."""

from __future__ import annotations

from typing import List

import pytest
from rasa.core.training import load_data
from rasa.shared.core.trackers import DialogueStateTracker

from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="session")
def story_steps(agent) -> List[DialogueStateTracker]:
    """The tracker before each bot action of each test story (and of the training stories)."""
    domain = agent.domain
    stories = load_data(
        str(PROJECT_ROOT / "tests" / "model" / "test_stories.yml"), domain, augmentation_factor=0
    ) + load_data(str(PROJECT_ROOT / "data" / "stories"), domain, augmentation_factor=0)
    steps = [
        DialogueStateTracker.from_events(prior.sender_id, list(prior.events), slots=domain.slots)
        for story in stories
        for prior, _ in story.generate_all_prior_trackers()
    ]
    assert len(steps) > 50
    return steps
