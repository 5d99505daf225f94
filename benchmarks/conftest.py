"""What every benchmark shares: how a speed target is reported.

A benchmark measures; it does not fail because the machine is busy. ``target(ok, report)``
prints the report with whether the target was met, and fails on a miss only when
``FASTHEAT_STRICT_TARGETS=1`` (to check the targets on a quiet machine). CI runs the benchmarks
(through ``scripts/readme_figures.py --quick``) without it, beside other work.
"""

import os

import pytest


@pytest.fixture
def target():
    strict = os.environ.get("FASTHEAT_STRICT_TARGETS") == "1"

    def check(ok: bool, report: str) -> None:
        print(("target met: " if ok else "TARGET MISSED: ") + report)
        if strict:
            assert ok, report

    return check
