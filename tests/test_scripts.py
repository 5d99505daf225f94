"""The profiling and demo scripts run to the end (small workloads) and print their figures."""

import pathlib
import subprocess
import sys

import pytest

SCRIPTS = pathlib.Path(__file__).parent.parent / "scripts"


def run(script, *args):
    done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True,
                          text=True, timeout=880)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.timeout(320)
@pytest.mark.parametrize("workload", ["cornernet", "centernet"])
def test_loader_demo(workload):
    out = run("loader_demo.py", "--workload", workload, "--batches", "4", "--batch-size", "4",
              "--workers", "0", "2")
    # (the script exits with an error if the checksums differ between worker counts)
    for mode in ("none", "sparse", "dense"):
        assert f"{mode}: " in out and "KiB pickled per batch" in out
    assert out.count("workers=2:") == 3 and "batches/s" in out


@pytest.mark.timeout(320)
def test_profile_encode():
    out = run("profile_encode.py", "--mode", "encoder", "--batches", "3")
    assert "end-to-end (public call)" in out and "batches/s" in out


@pytest.mark.timeout(320)
def test_clear_modes():
    out = run("clear_modes.py", "--calls", "3")
    # (the script exits with an error if the two ways' bits differ)
    assert out.count(", fresh: old min ") == 4 and out.count(", encoder: old min ") == 4


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readme_figures_quick():
    out = run("readme_figures.py", "--quick")
    assert out.startswith("Machine: ") and "bit-identical to the reference: True" in out
    for title in ("test_bench_calls", "test_bench_corners", "test_bench_handoff", "test_bench_keypoints",
                  "test_bench_deeplabcut", "test_bench_openpose", "CornerNet batches", "CenterNet per-image items", "Thread policy"):
        assert title in out
    for cpu in ("this CPU", "AVX2"):  # the exp floor analyses, NumPy's exp path named
        assert f"exp-bound targets and their floor, {cpu}" in out
    assert "float32 X86_V3" in out  # NumPy's AVX2 exp in the AVX2 run
