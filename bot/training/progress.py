"""Where a training run is (its stage, DIET's and TED's epochs) and how long it should still take.

A run is a sequence of steps: "preparing" (reading and validating the data), then for each component
that trains its own step and the step "after <component>" up to the next one (the last of these is
packaging the model). The expected remaining time is what the plan (the steps of the previous successful
run, or the defaults) gives for the steps not reached yet, plus what is left of the current step: within
DIET or TED extrapolated from the last epochs' rate, otherwise the planned duration less the time spent in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from bot.training.output import Epoch, Event, Finished, Started

PREPARING = "preparing"
AFTER = "after "
# Epochs the rate is taken over: recent ones, as the machine's other load comes and goes (2 cores).
EPOCH_WINDOW = 10


@dataclass(frozen=True)
class Step:
    key: str  # "preparing", a component ("CountVectorsFeaturizer#2" for its second use) or "after <component>"
    seconds: float
    epochs: Optional[int] = None  # the epochs trained, for DIET and TED
    restored: bool = False  # from Rasa's cache: its time says nothing about training it


def stage_of(component: str) -> str:
    if "DIET" in component:
        return "intent & entity model (DIET)"
    if "TED" in component:
        return "dialogue model (TED)"
    if component.endswith("IntentClassifier"):
        return "intent model (logistic regression)"
    if component.endswith("Policy"):
        return "dialogue policies"
    return "featurising"


class TrainingProgress:
    """Fed Rasa's output events with the time each arrived (seconds on any monotonic clock)."""

    def __init__(self, plan: Sequence[Step], started_at: float) -> None:
        self._plan = list(plan)
        self._planned: Dict[str, Step] = {step.key: step for step in self._plan}
        self._steps: List[Step] = []
        self._uses: Dict[str, int] = {}
        self._current = PREPARING
        self._shown = PREPARING  # the step the stage is named after: restored components leave it alone
        self._since = started_at
        self.started_at = started_at
        self.epoch: Optional[Epoch] = None
        self._epochs_at: List[Tuple[int, float]] = []  # (epochs done, when), the last EPOCH_WINDOW + 1

    def feed(self, event: Event, now: float) -> None:
        if isinstance(event, Started):
            self._begin(self._key(event.component), now)
            self._shown = self._current
        elif isinstance(event, Finished):
            key = self._current
            if event.restored:  # no "Starting to train" line for a restored component
                key = self._key(event.component)
                self._begin(key, now)
            self._end(now, restored=event.restored)
            self._current, self._since = AFTER + key, now
            if not event.restored:
                self._shown = self._current
        elif self.epoch is None or event.done != self.epoch.done:
            self.epoch = event
            if event.done > 0:  # the first epoch also builds the graph: the rate counts from its end
                self._epochs_at = [*self._epochs_at, (event.done, now)][-(EPOCH_WINDOW + 1) :]

    def _key(self, component: str) -> str:
        self._uses[component] = self._uses.get(component, 0) + 1
        uses = self._uses[component]
        return component if uses == 1 else f"{component}#{uses}"

    def _begin(self, key: str, now: float) -> None:
        self._end(now)
        self._current, self._since = key, now

    def _end(self, now: float, restored: bool = False) -> None:
        epochs = self.epoch.total if self.epoch else None
        self._steps.append(Step(self._current, now - self._since, epochs, restored))
        self.epoch = None
        self._epochs_at = []

    def finish(self, now: float) -> List[Step]:
        """The steps of the whole run, the current one ended at `now`."""
        self._end(now)
        self._current = ""
        return list(self._steps)

    @property
    def stage(self) -> str:
        """What is being done, e.g. "intent & entity model (DIET)"; "" once finished."""
        # Rasa logs the components it restores from its cache in a burst, some after those it trains.
        key = self._shown if self._current else ""
        if key == PREPARING:
            return "reading and validating the data"
        if key.startswith(AFTER):
            upcoming = self._next_component(key[len(AFTER) :])
            return stage_of(upcoming.split("#")[0]) if upcoming else "packaging the model"
        return stage_of(key.split("#")[0]) if key else ""

    def _next_component(self, previous: str) -> Optional[str]:
        """The plan's next component after `previous` (the one a gap follows), not reached yet."""
        keys = [step.key for step in self._plan]
        start = keys.index(previous) + 1 if previous in keys else 0
        seen = self._seen
        return next((key for key in keys[start:] if key not in seen and not _is_gap(key)), None)

    @property
    def _seen(self) -> set[str]:
        return {step.key for step in self._steps} | {self._current}

    def remaining(self, now: float) -> float:
        """Expected seconds until the model is saved."""
        later = sum(step.seconds for step in self._plan if step.key not in self._seen)
        return later + self._left_in_current(now)

    def _left_in_current(self, now: float) -> float:
        epoch = self.epoch
        if epoch and len(self._epochs_at) >= 2:
            (first, first_at), (last, last_at) = self._epochs_at[0], self._epochs_at[-1]
            per_epoch = (last_at - first_at) / (last - first)
            return max(per_epoch * (epoch.total - epoch.done) - (now - last_at), 0.0)
        planned = self._planned.get(self._current)
        if planned is None:
            return 0.0
        seconds = planned.seconds
        if epoch and planned.epochs and epoch.total != planned.epochs:
            seconds = seconds * epoch.total / planned.epochs  # a config with other epochs than the plan's
        return max(seconds - (now - self._since), 0.0)


def _is_gap(key: str) -> bool:
    return key.startswith(AFTER) or key == PREPARING
