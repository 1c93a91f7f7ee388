"""The top level of `bot/` is domain code: it runs without Rasa, Sanic or TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys

from bot.settings import PROJECT_ROOT

FORBIDDEN = ("rasa", "rasa_sdk", "sanic", "tensorflow")
DOMAIN_MODULES = sorted(
    f"bot.{path.stem}" for path in (PROJECT_ROOT / "bot").glob("*.py") if path.stem not in ("__init__", "__main__")
)
CHECK = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({forbidden!r}))))
"""


def test_the_domain_modules_are_found():
    assert {"bot.tickets", "bot.handoff", "bot.replies", "bot.settings"} <= set(DOMAIN_MODULES)


def test_no_domain_module_imports_rasa_sanic_or_tensorflow():
    # A fresh process: this test session has imported Rasa already.
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(modules=DOMAIN_MODULES, forbidden=FORBIDDEN)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
