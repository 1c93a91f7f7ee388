"""Running several calls at the same moment, in threads, to test races on the database."""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Sequence


def at_once(calls: Sequence[Callable[[], Any]], timeout: float = 60) -> List[Any]:
    """Each call's result, or the exception it raised, in the order given."""
    barrier = threading.Barrier(len(calls))
    results: List[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # noqa: BLE001 (the test inspects it)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
