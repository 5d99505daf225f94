"""Produce every figure of the README's "Performance" section, in one run.

    python scripts/readme_figures.py            # about 10 minutes on 2 cores
    python scripts/readme_figures.py --quick    # fewer repeats, to check that it runs

Prints the machine, then runs, one after the other and each in a fresh process: the demo
(reference vs fastheat's shippable paths, side by side), the per-call, stamping, hand-off,
keypoint, pose-codec (SimCC, associative embedding), CenterNet-option, CenterPoint,
mmdetection-head, TTFNet, DeepLabCut and OpenPose benchmarks (pytest-benchmark: min, median,
max), the speedups and ``exp`` floor analyses of the ``exp``-bound ones (UDP, DarkPose,
DeepLabCut) on this CPU and again with NumPy and Numba held to AVX2 (``AVX2``: how they run on
a CPU without AVX-512), the old and current ways of clearing fresh outputs and encoders'
buffers side by side (``clear_modes.py``), the DataLoader demo (CornerNet batches and
CenterNet per-image items; modes none, sparse, dense; 0/1/2 workers) and the thread-policy
comparison under 0, 1 and 2 busy background processes. Needs the ``test`` extra and, for the
DataLoader figures, torch.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys

import numba
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: NumPy without its AVX-512 code paths and Numba compiling for Haswell (AVX2, FMA3): an
#: AVX2-only x86-64 CPU, on an AVX-512 one.
AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "NUMBA_CPU_NAME": "haswell"}


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{model}, {len(os.sched_getaffinity(0))} cores, {memory:.0f} GiB; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, NumPy {np.__version__}, "
            f"Numba {numba.__version__}, torch {torch_version}")


def run(title: str, *command: str, env: dict | None = None) -> None:
    shown = " ".join(f"{name}='{value}'" for name, value in (env or {}).items())
    print(f"\n### {title}\n$ {shown + ' ' if shown else ''}{' '.join(command)}", flush=True)
    done = subprocess.run([sys.executable, *command], cwd=ROOT, text=True, capture_output=True,
                          env={**os.environ, **(env or {})})
    lines = [line for line in done.stdout.splitlines()
             if not line.startswith(("platform ", "cachedir", "rootdir", "configfile", "plugins",
                                     "benchmark:", "collected", "Legend", "  Outliers", "  OPS"))]
    print("\n".join(lines).strip(), flush=True)
    if done.returncode:
        print(done.stderr[-2000:])
        raise SystemExit(f"{title}: exit {done.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: checks that it runs")
    quick = parser.parse_args().quick
    print(f"Machine: {machine()}")
    run("CornerNet batch: the reference and fastheat's paths", "scripts/demo.py",
        "--repeat", "5" if quick else "50", "--reference-repeat", "1" if quick else "5")
    benchmark = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--benchmark-enable",
                 "--benchmark-columns=min,median,max,rounds", "--benchmark-sort=name"]
    if quick:
        benchmark += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.05"]
    for name in ("calls", "corners", "handoff", "keypoints", "pose_codecs", "centernet",
                 "centerpoint", "mmdet", "ttfnet", "deeplabcut", "openpose"):
        run(f"benchmarks/test_bench_{name}.py", *benchmark, f"benchmarks/test_bench_{name}.py")
    exp_bound = ["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-k",
                 "floor" if quick else "speedups or floor", "benchmarks/test_bench_keypoints.py",
                 *([] if quick else ["benchmarks/test_bench_deeplabcut.py"])]
    run("exp-bound targets and their floor, this CPU", *exp_bound)
    run("exp-bound targets and their floor, AVX2", *exp_bound, env=AVX2)
    run("Fresh outputs and encoders' clearing, old and current ways", "scripts/clear_modes.py",
        "--calls", "10" if quick else "300")
    batches = ["--batches", "20"] if quick else []
    run("DataLoader: CornerNet batches", "scripts/loader_demo.py", *batches)
    run("DataLoader: CenterNet per-image items", "scripts/loader_demo.py", "--workload",
        "centernet", *(["--batches", "4"] if quick else ["--batches", "200"]))
    run("Thread policy under load", "scripts/thread_policy.py",
        *(["--repeats", "10"] if quick else ["--repeats", "100"]))


if __name__ == "__main__":
    main()
