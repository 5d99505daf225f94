"""The profiling and demo scripts run to the end (small workloads) and print their figures."""

import pathlib
import subprocess
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).parent.parent / "scripts"


def run(script, *args):
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.timeout(320)
@pytest.mark.parametrize("mode, start", [("encoder", "fork"), ("fresh", "fork"), ("encoder", "spawn")])
def test_loader_demo(mode, start):
    out = run("loader_demo.py", "--batches", "20", "--mode", mode, "--start-method", start)
    # (the script exits with an error if the checksums differ between worker counts)
    for workers in (0, 1, 2):
        assert f"workers={workers}:" in out
    assert "2 workers / 1 worker:" in out


@pytest.mark.timeout(320)
def test_profile_encode():
    out = run("profile_encode.py", "--mode", "encoder", "--batches", "3")
    assert "end-to-end (public call)" in out and "batches/s" in out
