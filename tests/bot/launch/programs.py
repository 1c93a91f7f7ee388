"""Small Python programs the launcher tests start as real processes."""

from __future__ import annotations

import sys
from typing import List

# Says it is up, then waits.
SLEEPER = """
import time
print("up", flush=True)
time.sleep(120)
"""
# The same, deaf to SIGTERM.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("up", flush=True)
time.sleep(120)
"""
# Forks a grandchild, writes both pids, then waits.
PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(os.getpid(), child.pid, flush=True)
time.sleep(120)
"""


def python(program: str) -> List[str]:
    return [sys.executable, "-c", program]
