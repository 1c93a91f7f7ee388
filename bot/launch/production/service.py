"""One supervised process of the topology: started with its log, checked for health, stopped with its group."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional

from bot.launch.processes import signal_group, spawn
from bot.launch.readiness import answers


@dataclass
class Service:
    name: str
    command: List[str]
    health: Optional[str]  # URL that answers 2xx when the process serves
    log: Path
    port: Optional[int] = None
    process: Optional["subprocess.Popen[bytes]"] = None
    restarts: int = 0
    started_at: float = 0.0
    ready: bool = False
    next_start: float = 0.0
    backoff: float = 1.0

    def start(self, env: Mapping[str, str]) -> None:
        with open(self.log, "ab") as log:
            log.write(f"\n--- started {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n".encode())
        self.process = spawn(self.command, self.log, env)
        self.started_at = time.time()
        self.ready = False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        if not self.alive():
            return False
        if self.health is None:
            return time.time() - self.started_at > 3
        return answers(self.health)

    def stop(self) -> None:
        if self.process is not None and self.alive():
            signal_group(self.process, signal.SIGTERM)

    def kill(self) -> None:
        if self.process is not None and self.alive():
            signal_group(self.process, signal.SIGKILL)
