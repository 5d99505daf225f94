"""What every benchmark shares: how calls are timed and how a speed target is reported.

A benchmark measures; it does not fail because the machine is busy. ``target(ok, report)``
prints the report with whether the target was met, and fails on a miss only when
``FASTHEAT_STRICT_TARGETS=1`` (to check the targets on a quiet machine). CI runs the benchmarks
(through ``scripts/readme_figures.py --quick``) without it, beside other work.
"""

import os
import time

import numpy as np
import pytest


@pytest.fixture
def target():
    strict = os.environ.get("FASTHEAT_STRICT_TARGETS") == "1"

    def check(ok: bool, report: str) -> None:
        print(("target met: " if ok else "TARGET MISSED: ") + report)
        if strict:
            assert ok, report

    return check


def durations(function, seconds: float = 1.0, least: int = 5) -> list:
    """Durations of repeated calls of ``function`` for about ``seconds`` (at least ``least``)."""
    times, spent = [], 0.0
    while spent < seconds or len(times) < least:
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times


@pytest.fixture
def timed():
    """``durations``: ``timed(function, seconds=1.0, least=5)``."""
    return durations


@pytest.fixture
def exp_floor():
    """``exp_floor(arguments) -> (count, seconds)``: NumPy's ``exp`` on those arguments here,
    the best of repeated calls: the floor of computing them with NumPy."""

    def floor(arguments):
        out = np.empty_like(arguments)
        return arguments.size, min(durations(lambda: np.exp(arguments, out=out), 0.5, 10))

    return floor
