"""The steps of the last successful training on this machine (var/training-times.json), or the defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence

from bot.training.progress import AFTER, PREPARING, Step

# A full `make train` from an empty cache on the idle 2-core development machine, 2026-12-06 (README).
DEFAULT_PLAN: Sequence[Step] = (
    Step(PREPARING, 13),
    Step("ChineseTokenizer", 1),
    Step(AFTER + "ChineseTokenizer", 0.5),
    Step("CountVectorsFeaturizer", 0.1),
    Step(AFTER + "CountVectorsFeaturizer", 1.4),
    Step("CountVectorsFeaturizer#2", 0.1),
    Step(AFTER + "CountVectorsFeaturizer#2", 1.8),
    Step("PooledIntentClassifier", 13),
    Step(AFTER + "PooledIntentClassifier", 0),
    Step("ServingDIETClassifier", 178, epochs=40),
    Step(AFTER + "ServingDIETClassifier", 0.2),
    Step("EntitySynonymMapper", 0),
    Step(AFTER + "EntitySynonymMapper", 0),
    Step("MemoizationPolicy", 0.4),
    Step(AFTER + "MemoizationPolicy", 0),
    Step("RulePolicy", 0.6),
    Step(AFTER + "RulePolicy", 0),
    Step("MemoizedTEDPolicy", 9, epochs=30),
    Step(AFTER + "MemoizedTEDPolicy", 4.6),
)


def load_plan(path: Path) -> List[Step]:
    """The steps recorded at `path`; the defaults when there are none or the file is unreadable."""
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["steps"]
        steps = [Step(str(row["key"]), float(row["seconds"]), _epochs(row.get("epochs"))) for row in recorded]
    except (OSError, ValueError, KeyError, TypeError):
        return list(DEFAULT_PLAN)
    return steps or list(DEFAULT_PLAN)


def _epochs(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def record(path: Path, run: Sequence[Step], plan: Sequence[Step]) -> List[Step]:
    """Writes the run's steps to `path`; a component restored from Rasa's cache keeps its planned time."""
    planned = {step.key: step for step in plan}
    steps = [planned.get(step.key, step) if step.restored else step for step in run]
    rows = [{"key": step.key, "seconds": round(step.seconds, 1), "epochs": step.epochs} for step in steps]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"steps": rows}, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)
    return steps
