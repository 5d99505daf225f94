"""The profiling hook: ``profile_stages`` records the time every encode call spends per stage."""

from __future__ import annotations

import contextlib
import time
from typing import Iterator


class StageClock:
    """Adds the time since the previous stage (or its creation) to ``times[stage]``."""

    def __init__(self, times: dict):
        self.times = times
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.times.setdefault(stage, []).append(now - self.last)
        self.last = now


_stage_times: dict | None = None  # set while ``profile_stages`` records


@contextlib.contextmanager
def profile_stages() -> Iterator[dict]:
    """Record the time every encode call spends per stage, for profiling scripts.

    Yields a dict that fills, per stage, with one duration in seconds per call: ``check``
    (arguments), ``pass`` (the family's compiled pass: row checks, stamps, slot arrays),
    ``stamp`` (tables, clearing and stamping the maps), ``outputs`` (the result). Not
    thread-safe: profile one thread at a time.
    """
    global _stage_times
    previous, _stage_times = _stage_times, {}
    try:
        yield _stage_times
    finally:
        _stage_times = previous


def stage_clock() -> StageClock | None:
    """A ``StageClock`` while ``profile_stages`` records, else None (one check per call)."""
    return None if _stage_times is None else StageClock(_stage_times)
