"""The launcher's own output: timestamped lines for the operator."""

from __future__ import annotations

import time


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)
