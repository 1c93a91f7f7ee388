"""Performance benchmark of the assistant (docs/benchmark.md): `python -m bench`."""
