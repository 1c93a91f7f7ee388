import json

from bot.training.history import DEFAULT_PLAN, load_plan, record
from bot.training.progress import AFTER, PREPARING, Step

PLAN = [Step(PREPARING, 20), Step("ServingDIETClassifier", 120, epochs=40), Step(AFTER + "ServingDIETClassifier", 2)]


def test_no_history_or_an_unreadable_one_gives_the_defaults(tmp_path):
    times = tmp_path / "training-times.json"
    assert load_plan(times) == list(DEFAULT_PLAN)
    times.write_text("{not json", encoding="utf-8")
    assert load_plan(times) == list(DEFAULT_PLAN)
    times.write_text(json.dumps({"steps": [{"key": "preparing"}]}), encoding="utf-8")
    assert load_plan(times) == list(DEFAULT_PLAN)


def test_a_run_is_recorded_and_read_back_as_the_next_plan(tmp_path):
    times = tmp_path / "var" / "training-times.json"
    run = [Step(PREPARING, 18.04), Step("ServingDIETClassifier", 300.26, epochs=40), Step(AFTER + "X", 1)]
    record(times, run, PLAN)
    assert load_plan(times) == [
        Step(PREPARING, 18.0),
        Step("ServingDIETClassifier", 300.3, epochs=40),
        Step(AFTER + "X", 1),
    ]


def test_a_component_restored_from_the_cache_keeps_its_planned_time(tmp_path):
    times = tmp_path / "training-times.json"
    run = [
        Step(PREPARING, 30),
        Step("ServingDIETClassifier", 0, restored=True),
        Step(AFTER + "ServingDIETClassifier", 1),
    ]
    record(times, run, PLAN)
    assert load_plan(times)[1] == Step("ServingDIETClassifier", 120, epochs=40)
