import os
import zlib

import numpy as np
import pytest


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id: the same numbers on every run and machine.

    A failing test's report shows its seed ("rng seed: N"); ``np.random.default_rng(N)``
    replays it.
    """
    seed = zlib.crc32(request.node.nodeid.encode())
    request.node.user_properties.append(("rng seed", seed))
    return np.random.default_rng(seed)


#: CI sets it: a skipped test (a missing package, a missing capability) fails instead, so that
#: nothing CI claims to test is silently left out.
FAIL_ON_SKIP = os.environ.get("FASTHEAT_FAIL_ON_SKIP") == "1"


def _fail_if_skipped(report) -> None:
    if FAIL_ON_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and FASTHEAT_FAIL_ON_SKIP=1 fails every skip: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    _fail_if_skipped((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    _fail_if_skipped(report)
    if report.failed:
        for name, value in item.user_properties:
            if name == "rng seed":
                report.sections.append(("rng", f"rng seed: {value}"))
