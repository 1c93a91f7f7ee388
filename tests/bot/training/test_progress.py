"""The stages and the remaining time of a run, fed recorded output at moments the test chooses."""

import pytest

from bot.training.history import DEFAULT_PLAN
from bot.training.output import Epoch, Finished, OutputReader, Started
from bot.training.progress import AFTER, PREPARING, Step, TrainingProgress, stage_of
from bot.training.status import status_line
from tests.bot.training.rasa_output import DIET_EPOCHS, DIET_START, FEATURISING, POLICIES, RESTORED
from tests.bot.training.rasa_output import PREPARING as READING

# The previous run on this machine, as var/training-times.json holds it: 177 s in all.
HISTORY = [
    Step(PREPARING, 20),
    Step("ChineseTokenizer", 2),
    Step(AFTER + "ChineseTokenizer", 1),
    Step("CountVectorsFeaturizer", 1),
    Step(AFTER + "CountVectorsFeaturizer", 6),
    Step("CountVectorsFeaturizer#2", 1),
    Step(AFTER + "CountVectorsFeaturizer#2", 6),
    Step("PooledIntentClassifier", 2),
    Step(AFTER + "PooledIntentClassifier", 0),
    Step("ServingDIETClassifier", 120, epochs=4),
    Step(AFTER + "ServingDIETClassifier", 2),
    Step("MemoizationPolicy", 0),
    Step(AFTER + "MemoizationPolicy", 0),
    Step("RulePolicy", 1),
    Step(AFTER + "RulePolicy", 0),
    Step("MemoizedTEDPolicy", 10, epochs=3),
    Step(AFTER + "MemoizedTEDPolicy", 5),
]


def feed(progress: TrainingProgress, text: str, now: float) -> None:
    for event in OutputReader().feed(text.encode()):
        progress.feed(event, now)


def test_with_history_the_remaining_time_is_the_plan_then_the_epochs_extrapolated():
    progress = TrainingProgress(HISTORY, started_at=0)
    assert progress.remaining(0) == 177 and progress.remaining(5) == 172
    assert progress.remaining(30) == 157  # reading the data took longer than planned: nothing left of it

    feed(progress, READING, now=10)
    assert progress.stage == "reading and validating the data" and progress.remaining(10) == 167

    feed(progress, FEATURISING, now=25)
    assert progress.stage == "intent & entity model (DIET)"  # the step before DIET
    assert progress.remaining(25) == 0 + 120 + 2 + 1 + 10 + 5

    feed(progress, DIET_START, now=30)
    assert progress.remaining(30) == 120 + 18
    feed(progress, DIET_EPOCHS[0], now=40)
    assert progress.epoch is not None and (progress.epoch.done, progress.epoch.total) == (0, 4)
    assert progress.remaining(40) == 110 + 18
    feed(progress, DIET_EPOCHS[1], now=90)  # one epoch (and the graph's compilation): still the plan
    assert progress.remaining(90) == 60 + 18
    feed(progress, DIET_EPOCHS[2], now=100)  # from the second epoch on, 10 s an epoch: 2 more
    assert progress.remaining(100) == 20 + 18 and progress.remaining(104) == 16 + 18
    assert status_line(progress, 104) == ("Training 1:44 | intent & entity model (DIET), epoch 2/4 | about 0:35 left")
    feed(progress, DIET_EPOCHS[3], now=110)
    assert progress.remaining(110) == 10 + 18
    feed(progress, DIET_EPOCHS[4], now=120)
    assert progress.epoch is not None and progress.epoch.done == 4 and progress.remaining(120) == 18

    feed(progress, POLICIES, now=130)
    assert progress.stage == "packaging the model" and progress.epoch is None
    assert progress.remaining(130) == 5 and progress.remaining(140) == 0

    steps = progress.finish(141)
    assert [step.key for step in steps] == [step.key for step in HISTORY]
    by_key = {step.key: step for step in steps}
    assert by_key["ServingDIETClassifier"] == Step("ServingDIETClassifier", 100, epochs=4)
    assert by_key["MemoizedTEDPolicy"].epochs == 3 and by_key[AFTER + "MemoizedTEDPolicy"].seconds == 11
    assert by_key[PREPARING].seconds == 25


def test_without_history_the_defaults_are_scaled_to_the_epochs_configured():
    progress = TrainingProgress(DEFAULT_PLAN, started_at=0)
    total = sum(step.seconds for step in DEFAULT_PLAN)
    assert progress.remaining(0) == total
    feed(progress, READING + FEATURISING + DIET_START, now=60)
    diet = next(step for step in DEFAULT_PLAN if step.key == "ServingDIETClassifier")
    after_diet = sum(step.seconds for step in DEFAULT_PLAN[DEFAULT_PLAN.index(diet) + 1 :])
    assert progress.remaining(60) == pytest.approx(diet.seconds + after_diet + 0)  # EntitySynonymMapper: 0 s
    feed(progress, DIET_EPOCHS[0], now=65)  # this config trains DIET 4 epochs, the defaults' 1/10
    assert diet.epochs == 40
    assert progress.remaining(65) == pytest.approx(diet.seconds / 10 - 5 + after_diet)


def test_components_restored_from_the_cache_drop_out_of_the_estimate():
    progress = TrainingProgress(HISTORY, started_at=0)
    feed(progress, RESTORED, now=20)
    assert progress.stage == "dialogue model (TED)"
    # Left: TED itself, the policies not reached and packaging; not the 120 s of DIET.
    assert progress.remaining(20) == 10 + 0 + 0 + 1 + 0 + 5
    steps = {step.key: step for step in progress.finish(30)}
    assert steps["ServingDIETClassifier"] == Step("ServingDIETClassifier", 0, restored=True)


def test_the_epoch_rate_follows_the_last_ten_epochs():
    progress = TrainingProgress(HISTORY, started_at=0)
    feed(progress, READING + FEATURISING + DIET_START, now=0)
    now = 0
    for done in range(1, 16):  # 5 slow epochs (20 s, the machine busy), then 10 fast ones (10 s)
        now += 20 if done <= 5 else 10
        progress.feed(Epoch(done, 40), now)
    assert now == 200
    after_diet = 2 + 0 + 0 + 1 + 0 + 10 + 5
    assert progress.remaining(now) == 25 * 10 + after_diet


def test_components_restored_after_the_last_trained_one_do_not_change_the_stage():
    # The order of a real run whose rule policies came from the cache (2026-12-06): DIET, TED, then the rest.
    progress = TrainingProgress(DEFAULT_PLAN, started_at=0)
    feed(progress, READING + FEATURISING + DIET_START + "".join(DIET_EPOCHS), now=10)
    progress.feed(Finished("ServingDIETClassifier"), 11)
    progress.feed(Started("MemoizedTEDPolicy"), 11)
    progress.feed(Finished("MemoizedTEDPolicy"), 12)
    assert progress.stage == "packaging the model"
    for component in ("EntitySynonymMapper", "MemoizationPolicy", "RulePolicy"):
        progress.feed(Finished(component, restored=True), 12)
        assert progress.stage == "packaging the model"


def test_each_model_trained_has_a_stage_of_its_own():
    stages = [
        "ServingDIETClassifier",
        "PooledIntentClassifier",
        "MemoizedTEDPolicy",
        "RulePolicy",
        "CountVectorsFeaturizer",
    ]
    assert [stage_of(component) for component in stages] == [
        "intent & entity model (DIET)",
        "intent model (logistic regression)",
        "dialogue model (TED)",
        "dialogue policies",
        "featurising",
    ]
