"""`python -m bot.rasa_server run …`: Rasa's own command line, in a leaner process.

Every launcher of this project starts the Rasa server through this module
(scripts/run, deploy/local/topology.py, bot/embedded.py, the container
image). Arguments are Rasa's, unchanged. Two things happen first, because they
must precede TensorFlow's import and its threads; together they take about
140 MiB off each Rasa process (docs/benchmark.md, "Memory"):

- jax is not imported. TensorFlow 2.12 requires jax and imports it when it is
  installed, for tf.lite's jax converter, which Rasa never uses (~110 MiB).
- glibc keeps two malloc arenas instead of one per thread: TensorFlow's
  thread pools otherwise leave memory spread over many half-empty arenas.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # from glibc's malloc.h
MALLOC_ARENAS = 2


def lean_process() -> None:
    sys.modules.setdefault("jax", None)  # `import jax` now raises ImportError
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        try:
            ctypes.CDLL(libc_name).mallopt(M_ARENA_MAX, MALLOC_ARENAS)
        except (OSError, AttributeError):  # not glibc: keep its defaults
            pass


def main() -> None:
    lean_process()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
