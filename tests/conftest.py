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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.failed:
        for name, value in item.user_properties:
            if name == "rng seed":
                report.sections.append(("rng", f"rng seed: {value}"))
