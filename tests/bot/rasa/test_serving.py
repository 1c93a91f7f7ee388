"""DIET and TED loaded to serve answer exactly as Rasa's own load of the same
model, and carry no training graph.

The reference is the same model archive loaded in fine-tuning mode, where
bot/rasa/serving.py hands over to Rasa's `RasaModel.load` (a training step, then
the trained weights).
"""

from __future__ import annotations

from typing import Dict, Iterator, List

import pytest
from rasa.core.channels import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.graph import ExecutionContext
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.nlu.training_data.loading import load_data

from bot.launch.commands import MODEL
from bot.rasa.nlu.components import ServingDIETClassifier
from bot.rasa.policies import MemoizedTEDPolicy
from bot.settings import PROJECT_ROOT

MESSAGES = sorted((PROJECT_ROOT / "tests" / "model").glob("heldout_*.yml"))


def node_of(runner: DaskGraphRunner, component: type) -> str:
    [name] = [name for name, node in runner._instantiated_nodes.items() if isinstance(node._component, component)]
    return name


def models(runner: DaskGraphRunner) -> List:
    return [
        runner._instantiated_nodes[node_of(runner, kind)]._component.model
        for kind in (ServingDIETClassifier, MemoizedTEDPolicy)
    ]


@pytest.fixture(scope="module")
def served(agent) -> DaskGraphRunner:
    return agent.processor.graph_runner


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Iterator[DaskGraphRunner]:
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path_factory.mktemp("model"), MODEL)
    schema = metadata.predict_schema
    yield DaskGraphRunner.create(schema, storage, ExecutionContext(schema, metadata.model_id, is_finetuning=True))


def parse(runner: DaskGraphRunner, text: str) -> Dict:
    node = node_of(runner, ServingDIETClassifier)
    message = runner.run(inputs={PLACEHOLDER_MESSAGE: [UserMessage(text)]}, targets=[node])[node][0]
    return {
        "ranking": [(i["name"], i["confidence"]) for i in message.get("intent_ranking")],
        "entities": [
            (e["entity"], e["start"], e["end"], e["confidence_entity"])
            for e in message.get("entities", [])
            if e.get("extractor") == "ServingDIETClassifier"
        ],
    }


def same(ours: Dict, theirs: Dict) -> bool:
    names = lambda found: [name for name, *_ in found]  # noqa: E731
    scores = lambda found: [score for *_, score in found]  # noqa: E731
    return all(
        names(ours[k]) == names(theirs[k]) and scores(ours[k]) == pytest.approx(scores(theirs[k]), abs=1e-5)
        for k in ours
    )


def test_served_models_carry_no_training_graph_or_optimizer(served, reference):
    for model in models(served):
        assert model.train_function is None and model.optimizer is None
    for model in models(reference):  # what Rasa's own load leaves behind
        assert model.train_function is not None and model.optimizer is not None


def test_diet_parses_every_held_out_message_as_rasas_load_does(served, reference):
    texts = [m.get("text") for path in MESSAGES for m in load_data(str(path)).intent_examples]
    assert len(texts) > 100
    ours = {t: parse(served, t) for t in texts}
    different = [t for t in texts if not same(ours[t], parse(reference, t))]
    assert different == []
    assert any(parsed["entities"] for parsed in ours.values())  # entities were compared too


def test_ted_predicts_every_story_step_as_rasas_load_does(served, reference, story_steps):
    node = node_of(served, MemoizedTEDPolicy)
    for tracker in story_steps:
        ours = served.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[node])[node]
        theirs = reference.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[node])[node]
        assert ours.probabilities == pytest.approx(theirs.probabilities, abs=1e-5)
