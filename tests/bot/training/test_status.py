import io

from bot.training.output import Started
from bot.training.progress import AFTER, PREPARING, Step, TrainingProgress
from bot.training.status import StatusView, duration

PLAN = [Step(PREPARING, 20), Step("ChineseTokenizer", 10), Step(AFTER + "ChineseTokenizer", 0)]


def test_durations_read_as_minutes_and_seconds():
    assert [duration(s) for s in (0, 9.9, 75, 3725)] == ["0:00", "0:09", "1:15", "1:02:05"]


def test_in_a_log_a_line_is_printed_at_each_stage_and_every_15_seconds():
    out = io.StringIO()
    view, progress = StatusView(out, terminal=False), TrainingProgress(PLAN, started_at=0)
    for now in (0, 5, 14, 16):
        view.show(progress, now)
    progress.feed(Started("ChineseTokenizer"), 17)
    view.show(progress, 17)
    view.close()
    assert out.getvalue().splitlines() == [
        "Training 0:00 | reading and validating the data | about 0:30 left",
        "Training 0:16 | reading and validating the data | about 0:15 left",
        "Training 0:17 | featurising | about 0:10 left",
    ]


def test_on_a_terminal_one_line_is_rewritten_and_ended_once():
    out = io.StringIO()
    view, progress = StatusView(out, terminal=True), TrainingProgress(PLAN, started_at=0)
    view.show(progress, 0)
    progress.feed(Started("ChineseTokenizer"), 1)
    view.show(progress, 1)
    assert "\n" not in out.getvalue()
    view.close()
    first, second = out.getvalue().split("\r")[1:]
    assert first.startswith("Training 0:00 | reading and validating the data")
    # The shorter line blanks out the rest of the longer one before it.
    assert second.startswith("Training 0:01 | featurising") and len(second.rstrip("\n")) == len(first)
    assert second.endswith("\n")


def test_on_a_narrow_terminal_the_line_is_cut_so_it_does_not_wrap():
    out = io.StringIO()
    view = StatusView(out, terminal=True, columns=30)
    view.show(TrainingProgress(PLAN, started_at=0), 0)
    assert out.getvalue() == "\r" + "Training 0:00 | reading and validating the data"[:29]
