"""NLU quality on the held-out split (tests/model/heldout_*.yml), which is never trained on.

Reports intent macro-F1 and entity F1 (entity type and normalised value must
both match) to results/nlu_quality.md, and holds both to the 0.95 bar.
Training is seeded, so the figures are reproducible on a clean clone.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import List, Set, Tuple

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import f1_score

from bot.settings import PROJECT_ROOT

HELDOUT = sorted((PROJECT_ROOT / "tests" / "model").glob("heldout_*.yml"))
BAR = 0.95
CONTRACT_ENTITIES = {"policy_number", "phone_number", "id_number", "ticket_id", "claim_type", "complaint_category"}


def examples(paths: List[Path]):
    for path in paths:
        yield from load_data(str(path)).intent_examples


def squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def test_heldout_split_is_never_trained_on():
    train = {squash(m.get("text")) for m in examples(sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")))}
    overlap = [m.get("text") for m in examples(HELDOUT) if squash(m.get("text")) in train]
    assert overlap == []


@pytest.fixture(scope="module")
def evaluation(parse):
    gold_intents, predicted_intents = [], []
    counts = Counter()
    errors: List[str] = []
    for message in examples(HELDOUT):
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
    report = PROJECT_ROOT / "results" / "nlu_quality.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(
        "# NLU quality on the held-out split\n\n"
        f"- messages: {len(gold_intents)}\n"
        f"- intent macro-F1: {intent_f1:.4f} (bar {BAR}: {'met' if intent_f1 >= BAR else 'NOT met'})\n"
        f"- entity F1: {entity_f1:.4f} (precision {precision:.4f}, recall {recall:.4f}, "
        f"{counts['tp'] + counts['fn']} gold entities)\n\n"
        "| message | intent (gold → predicted) | entities |\n|---|---|---|\n" + "\n".join(errors) + "\n",
        encoding="utf-8",
    )
    print(f"\nintent macro-F1 {intent_f1:.4f}, entity F1 {entity_f1:.4f}; report: {report}")
    return intent_f1, entity_f1, counts


def test_intent_macro_f1_meets_the_bar(evaluation):
    assert evaluation[0] >= BAR


def test_entity_f1_meets_the_bar(evaluation):
    intent_f1, entity_f1, counts = evaluation
    assert counts["tp"] + counts["fn"] >= 75  # enough gold entities to mean something
    assert entity_f1 >= BAR
