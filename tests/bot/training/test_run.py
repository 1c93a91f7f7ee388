"""The launcher around a child that stands in for `rasa train`: a tiny Python or shell command that prints
recorded Rasa output and exits as told (a real training takes minutes; it is checked by hand, README)."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.training import run
from bot.training.run import train
from tests.bot.training.rasa_output import FAILED, PREPARING, TRAINED

# Prints the file argv[1] to stderr in pieces, as Rasa's logging and tqdm do, then exits with argv[2].
FAKE_RASA = (
    "import sys\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "for i in range(0, len(data), 500):\n"
    "    sys.stderr.buffer.write(data[i:i + 500]); sys.stderr.flush()\n"
    "sys.exit(int(sys.argv[2]))\n"
)


def run_fake(tmp_path, output: str, status: int):
    recorded = tmp_path / "rasa-output.txt"
    recorded.write_text(output, encoding="utf-8")
    out, log, times = io.StringIO(), tmp_path / "log" / "training.log", tmp_path / "training-times.json"
    result = train(
        [sys.executable, "-c", FAKE_RASA, str(recorded), str(status)],
        log=log,
        times=times,
        out=out,
        terminal=False,
        cwd=tmp_path,
        env=os.environ,
    )
    return result, out.getvalue(), log, times


def test_a_failing_training_exits_non_zero_with_the_end_of_its_log(tmp_path):
    result, shown, log, times = run_fake(tmp_path, FAILED, status=3)
    assert result == 3
    assert f"Training failed (exit status 3). The end of {log}:" in shown
    assert "  rasa.engine.exceptions.GraphComponentException: Error running graph component" in shown
    assert "intent & entity model (DIET), epoch 1/4" in shown
    assert log.read_bytes() == FAILED.encode()  # all of Rasa's output, as written
    assert not times.exists()  # a failed run is no plan for the next


def test_a_successful_training_records_its_steps_for_the_next_estimate(tmp_path):
    result, shown, log, times = run_fake(tmp_path, TRAINED, status=0)
    assert result == 0, shown
    assert shown.splitlines()[-1].startswith("Model trained in ")
    assert "dialogue model (TED), epoch 3/3" in shown or "packaging the model" in shown
    steps = json.loads(times.read_text(encoding="utf-8"))["steps"]
    keys = [step["key"] for step in steps]
    assert keys[:3] == ["preparing", "ChineseTokenizer", "after ChineseTokenizer"]
    assert "CountVectorsFeaturizer#2" in keys and keys[-1] == "after MemoizedTEDPolicy"
    assert {step["key"]: step["epochs"] for step in steps if step["epochs"]} == {
        "ServingDIETClassifier": 4,
        "MemoizedTEDPolicy": 3,
    }


def test_a_run_that_trained_nothing_leaves_the_plan_alone(tmp_path):
    result, shown, log, times = run_fake(tmp_path, PREPARING, status=0)
    assert result == 0 and not times.exists()


# The launcher in a process of its own with a child that leaves a grandchild running; the child's
# process group id goes to argv[1] so the test can see that the whole group is gone afterwards.
LAUNCHER = (
    "import os, sys\n"
    "from pathlib import Path\n"
    "from bot.training.run import train\n"
    "group = Path(sys.argv[1])\n"
    "child = ['sh', '-c', f'sleep 300 & echo $$ > {group}.tmp && mv {group}.tmp {group}; wait']\n"
    "sys.exit(train(child, log=group.parent / 'training.log', times=group.parent / 'times.json',\n"
    "                out=sys.stdout, terminal=False, cwd=group.parent, env=os.environ))\n"
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_the_child_and_its_process_group(tmp_path, signum):
    group_file = tmp_path / "group"
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(group_file)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60  # a wait for the child to start, not a measurement
    while not group_file.exists() and time.monotonic() < deadline and launcher.poll() is None:
        time.sleep(0.05)
    group = int(group_file.read_text())
    assert alive_in(group)
    launcher.send_signal(signum)
    shown, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 130 and "Training interrupted: stopping rasa" in shown
    assert alive_in(group) == []  # the sleeping grandchild went with it


def alive_in(group: int) -> list:
    """Processes of the group that still run (an orphan killed but not yet reaped by init is a zombie)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


def test_a_ctrl_c_while_rasa_is_being_started_still_stops_it(tmp_path, monkeypatch):
    started = []
    popen = subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        os.kill(os.getpid(), signal.SIGINT)  # lands before Popen returns, as it can once the child has exec'd
        return started[-1]

    monkeypatch.setattr(run.subprocess, "Popen", popen_then_ctrl_c)
    try:
        result = train(
            [sys.executable, "-c", "import time; time.sleep(120)"],
            log=tmp_path / "training.log",
            times=tmp_path / "times.json",
            out=io.StringIO(),
            terminal=False,
            cwd=tmp_path,
            env=os.environ,
        )
    except KeyboardInterrupt:  # how the handler that raised let it escape, leaving Rasa running
        result = None
    assert result == 130
    assert started[0].poll() is not None  # stopped, not left running
