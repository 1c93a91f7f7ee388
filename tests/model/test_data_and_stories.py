"""Rasa's own checks: `rasa data validate` and test stories against the trained model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

RASA = str(Path(sys.executable).parent / "rasa")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RASA, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        },
    )


def responses_used_by_code() -> set:
    """Responses uttered by custom actions or asked by forms, which Rasa's validator cannot see."""
    code = "\n".join(p.read_text("utf-8") for p in (PROJECT_ROOT / "actions").glob("*.py"))
    used = set(re.findall(r'response="(utter_\w+)"', code))
    domain = (PROJECT_ROOT / "domain.yml").read_text("utf-8")
    slots = re.findall(r"^      - (\w+)$", domain, flags=re.M)
    return used | {f"utter_ask_{slot}" for slot in slots}


def test_rasa_data_validate_is_clean():
    result = run("data", "validate", "--domain", "domain.yml", "--data", "data", "--config", "config.yml")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    unused = set(re.findall(r"The utterance '(\w+)' is not used in any story or rule", output))
    # Only false positives remain: responses that actions or forms do use.
    assert unused <= responses_used_by_code(), unused - responses_used_by_code()
    other = [
        line for line in output.splitlines() if "UserWarning" in line and "is not used in any story or rule" not in line
    ]
    assert other == []


def test_stories_are_predicted_without_errors(tmp_path):
    result = run(
        "test",
        "core",
        "--model",
        "models/complaints.tar.gz",
        "--stories",
        "tests/model/test_stories.yml",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text("utf-8") if failed.exists() else ""
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:] + details
