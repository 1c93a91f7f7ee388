"""The project's entry point for the Rasa server: Rasa's own CLI, without jax."""
from __future__ import annotations

import subprocess
import sys

from bot.embedded import ROOT


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_tensorflow_and_rasa_load_without_importing_jax():
    code = ("import sys; from bot.rasa_server import lean_process; lean_process(); "
            "import tensorflow, rasa.core.agent; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jax', 'jaxlib') and sys.modules[m]))")
    assert run_python(code) == "[]"


def test_without_it_tensorflow_imports_jax():
    # The reason for the module: if this stops being true, it can go.
    assert run_python("import sys, tensorflow; print('jax' in sys.modules)") == "True"


def test_arguments_go_to_rasas_own_command_line():
    result = subprocess.run([sys.executable, "-m", "bot.rasa_server", "--version"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "Rasa Version      :         3.6.21" in result.stdout, result.stdout
