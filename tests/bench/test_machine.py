"""Where the benchmark says CPU went: a real child process that burns CPU
counts under its role, not as the harness's or other load."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.machine import HARNESS, CpuWindow

BURN_THEN_SLEEP = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_a_servers_cpu_counts_under_its_role_per_turn():
    server = subprocess.Popen([sys.executable, "-c", BURN_THEN_SLEEP])
    try:
        with CpuWindow(lambda: {"server": server.pid}) as window:
            time.sleep(1.5)  # the server burns 0.6 s of CPU, then idles
        share = window.share
    finally:
        server.kill()
        server.wait()
    assert 0.5 <= share.by_group["server"] <= 0.8
    assert share.by_group[HARNESS] < 0.3  # sleeping while the server works
    per_turn = share.per_turn_ms(turns=10)
    assert 50 <= per_turn["server"] <= 80
    assert share.per_turn_ms(turns=0) == {}
