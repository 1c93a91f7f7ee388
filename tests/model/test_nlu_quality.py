"""NLU quality on the held-out splits, which are never trained on.

Two splits: the clean one (tests/model/heldout_*.yml) and the noisy one
(tests/model/noisy_heldout.yml: colloquial, typos, no punctuation, traditional
characters, pinyin, full-width digits). Reports intent macro-F1 and entity F1
(entity type and normalised value must both match) of each to
results/nlu_quality.md and holds each to its bar. Training is seeded, so the
figures are reproducible on a clean clone.

The reviewed set, when there is one (data/nlu/reviewed*.yml, which `python -m bot
nlu export-reviewed` writes, and any files NLU_REVIEWED_SET names, separated by
os.pathsep), is measured and reported the same way, without a bar: checked in
under data/nlu it is trained on, so its figures say whether the model learned
what the reviewers decided, not how it generalises.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set, Tuple

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import f1_score

from bot.settings import PROJECT_ROOT

MODEL_TESTS = PROJECT_ROOT / "tests" / "model"
SPLITS: Dict[str, List[Path]] = {
    "held-out": sorted(MODEL_TESTS.glob("heldout_*.yml")),
    "noisy held-out": [MODEL_TESTS / "noisy_heldout.yml"],
}
# (intent macro-F1, entity F1), just under the figures of the trained model (README "NLU quality"), which meet
# issue 17's 0.97 / 0.97 (held-out) and 0.93 / 0.93 (noisy). One message more or less right moves a macro
# average by about 0.003 on the held-out split, 0.006 on the noisy one: the intent bar leaves room for one
# message read differently on other hardware (the held-out figure is 0.9705).
BARS: Dict[str, Tuple[float, float]] = {"held-out": (0.965, 0.97), "noisy held-out": (0.95, 0.945)}
MIN_GOLD_ENTITIES = {"held-out": 75, "noisy held-out": 50}
CONTRACT_ENTITIES = {"policy_number", "phone_number", "id_number", "ticket_id", "claim_type", "complaint_category"}
REPORT = PROJECT_ROOT / "results" / "nlu_quality.md"
REVIEWED = "reviewed"


def reviewed_set() -> List[Path]:
    """The reviewed examples' files: the export's under data/nlu, and those NLU_REVIEWED_SET names."""
    named = [Path(item) for item in os.environ.get("NLU_REVIEWED_SET", "").split(os.pathsep) if item]
    return sorted((PROJECT_ROOT / "data" / "nlu").glob("reviewed*.yml")) + named


@dataclass
class Figures:
    messages: int
    intent_f1: float
    entity_f1: float
    precision: float
    recall: float
    gold_entities: int
    errors: List[str]


def examples(paths: List[Path]):
    for path in paths:
        yield from load_data(str(path)).intent_examples


def squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


@pytest.mark.parametrize("split", SPLITS)
def test_heldout_split_is_never_trained_on(split):
    train = {squash(m.get("text")) for m in examples(sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")))}
    overlap = [m.get("text") for m in examples(SPLITS[split]) if squash(m.get("text")) in train]
    assert overlap == []


def test_the_noisy_split_is_a_split_of_its_own():
    clean = {squash(m.get("text")) for m in examples(SPLITS["held-out"])}
    noisy = list(examples(SPLITS["noisy held-out"]))
    assert len(noisy) >= 140
    assert [m.get("text") for m in noisy if squash(m.get("text")) in clean] == []


def measure(parse: Callable[[str], dict], paths: List[Path]) -> Figures:
    gold_intents, predicted_intents = [], []
    counts: Counter = Counter()
    errors: List[str] = []
    for message in examples(paths):
        text = message.get("text")
        result = parse(text)
        gold_intents.append(message.get("intent"))
        predicted_intents.append(result["intent"]["name"])
        gold: Set[Tuple[str, str]] = {(e["entity"], str(e["value"])) for e in message.get("entities", [])}
        found = {(e["entity"], str(e["value"])) for e in result["entities"] if e["entity"] in CONTRACT_ENTITIES}
        counts["tp"] += len(gold & found)
        counts["fp"] += len(found - gold)
        counts["fn"] += len(gold - found)
        if gold != found or message.get("intent") != result["intent"]["name"]:
            errors.append(
                f"| {text} | {message.get('intent')} → {result['intent']['name']} | "
                f"missed {sorted(gold - found)} extra {sorted(found - gold)} |"
            )
    # Macro over the contract intents; a fallback or wrong prediction counts against the gold intent.
    intent_f1 = f1_score(gold_intents, predicted_intents, labels=sorted(set(gold_intents)), average="macro")
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
    entity_f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return Figures(len(gold_intents), intent_f1, entity_f1, precision, recall, counts["tp"] + counts["fn"], errors)


def section(name: str, paths: List[Path], result: Figures, bars: Optional[Tuple[float, float]]) -> str:
    """The report's section of one split; `bars` None: reported without a bar."""

    def against(value: float, bar: Optional[float]) -> str:
        return "no bar" if bar is None else f"bar {bar}: {'met' if value >= bar else 'NOT met'}"

    intent_bar, entity_bar = bars if bars else (None, None)
    return (
        f"## {name} ({', '.join(p.name for p in paths)})\n\n"
        f"- messages: {result.messages}\n"
        f"- intent macro-F1: {result.intent_f1:.4f} ({against(result.intent_f1, intent_bar)})\n"
        f"- entity F1: {result.entity_f1:.4f} ({against(result.entity_f1, entity_bar)}; "
        f"precision {result.precision:.4f}, recall {result.recall:.4f}, {result.gold_entities} gold entities)\n\n"
        "| message | intent (gold → predicted) | entities |\n|---|---|---|\n" + "\n".join(result.errors) + "\n"
    )


@pytest.fixture(scope="module")
def evaluation(parse) -> Dict[str, Figures]:
    figures = {split: measure(parse, paths) for split, paths in SPLITS.items()}
    sections = [section(split, SPLITS[split], figures[split], BARS[split]) for split in SPLITS]
    reviewed = reviewed_set()
    if reviewed and any(True for _ in examples(reviewed)):
        figures[REVIEWED] = measure(parse, reviewed)
        sections.append(section(f"{REVIEWED} (trained on once checked in)", reviewed, figures[REVIEWED], None))
    else:
        sections.append(f"## {REVIEWED}\n\nNo reviewed examples ({NO_REVIEWED_SET}).\n")
    for split, result in figures.items():
        print(f"\n{split}: intent macro-F1 {result.intent_f1:.4f}, entity F1 {result.entity_f1:.4f}")
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("# NLU quality on the held-out splits\n\n" + "\n".join(sections), encoding="utf-8")
    return figures


NO_REVIEWED_SET = "no data/nlu/reviewed*.yml and no NLU_REVIEWED_SET: `python -m bot nlu export-reviewed` writes one"


def test_the_reviewed_set_is_reported(evaluation):
    if REVIEWED not in evaluation:
        pytest.skip(NO_REVIEWED_SET)
    result = evaluation[REVIEWED]
    assert result.messages > 0
    assert f"intent macro-F1: {result.intent_f1:.4f} (no bar" in REPORT.read_text(encoding="utf-8")


@pytest.mark.parametrize("split", SPLITS)
def test_intent_macro_f1_meets_the_bar(evaluation, split):
    assert evaluation[split].intent_f1 >= BARS[split][0]


@pytest.mark.parametrize("split", SPLITS)
def test_entity_f1_meets_the_bar(evaluation, split):
    result = evaluation[split]
    assert result.gold_entities >= MIN_GOLD_ENTITIES[split]  # enough gold entities to mean something
    assert result.entity_f1 >= BARS[split][1]
