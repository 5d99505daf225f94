"""The comparisons with the real libraries, run in the toolkit venv (scripts/toolkit_env.sh):

    .venv-toolkits/bin/python -m pytest tests_toolkits -rs

Not collected by the main suite (``testpaths = ["tests"]``). Nothing here skips for a missing
package: a missing or wrong toolkit fails the run.
"""

import pathlib
import sys
import zlib

import mmpose
import numpy as np
import pytest

TESTS = pathlib.Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # tests/naive.py

MMPOSE_VERSION = "1.3.2"  # requirements-toolkits.txt
assert mmpose.__version__ == MMPOSE_VERSION, (
    f"tests_toolkits compares with mmpose {MMPOSE_VERSION}, found {mmpose.__version__}: "
    f"bash scripts/toolkit_env.sh")


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id (as in tests/conftest.py)."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
