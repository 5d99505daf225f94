"""DeepLabCut targets: fastheat against the NumPy transcription of DeepLabCut's per-keypoint
loop, side by side in one process, one thread.

    python -m pytest benchmarks/test_bench_deeplabcut.py --benchmark-enable -s

The batch: 16 images of 8 animals x 12 keypoints spread over a 512x512 input, stride 8 (64x64
maps), 80% drawn, 10% invisible, 10% missing, default options (gaussian, locref,
``pos_dist_thresh=17``); also the plateau mode. Groups compare DeepLabCut's loop
(``deeplabcut_loop``, tests/naive.py's transcription of its ``forward``) with
``encode_deeplabcut`` (fresh outputs) and a ``DeepLabCutEncoder`` (reused heatmaps).

``test_speedups`` measures the same calls (min and median) and checks the issue's target
(5x DeepLabCut's loop). For the gaussian mode it also prints the floor analysis of
benchmarks/test_bench_keypoints.py: the float64 ``exp`` DeepLabCut evaluates (every cell of
the map, per drawn keypoint), those needed (whose value is not 0 in the float32 map), NumPy's
time for them here and fastheat's time as a multiple of it. fastheat computes these values
without NumPy's ``exp`` (fastheat/_engine/numpy_exp.py: per-axis ``exp`` and a certified
float32 rounding), so it can go below that floor.
"""

import statistics

import numpy as np
import pytest

import fastheat
import naive
from machine import cpu_line, exp_arguments

SHAPE, HEATMAP_SIZE, STRIDE = (16, 8, 12), (64, 64), 8
TARGET = 5


def animals_batch(seed=0):
    """Seeded float64 keypoints ``SHAPE + (2,)`` over a 512x512 input, and DeepLabCut's flags."""
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(0.05, 0.95, (*SHAPE, 2)) * np.array(HEATMAP_SIZE[::-1]) * STRIDE
    visible = rng.choice([1.0, 0.0, -1.0], SHAPE, p=[0.8, 0.1, 0.1])
    return keypoints, visible


def calls(mode):
    keypoints, visible = animals_batch()
    options = dict(heatmap_size=HEATMAP_SIZE, stride=STRIDE, mode=mode)
    encoder = fastheat.DeepLabCutEncoder(**options, num_threads=1)
    return {
        "deeplabcut": lambda: naive.encode_deeplabcut(keypoints, visible, HEATMAP_SIZE, STRIDE,
                                                      mode=mode),
        "fastheat": lambda: fastheat.encode_deeplabcut(keypoints, visible, **options,
                                                       num_threads=1),
        "encoder": lambda: encoder(keypoints, visible),
    }


@pytest.mark.parametrize("mode", ["gaussian", "plateau"])
@pytest.mark.parametrize("runner", ["deeplabcut", "fastheat", "encoder"])
def test_deeplabcut_batch(benchmark, mode, runner):
    benchmark.group = f"deeplabcut-{mode}"
    call = calls(mode)[runner]
    call()  # compile or load the kernels
    if runner == "deeplabcut":
        benchmark.pedantic(call, rounds=5, warmup_rounds=0)
    else:
        benchmark(call)



def ms(times):
    return f"min {min(times) * 1e3:.2f} ms, median {statistics.median(times) * 1e3:.2f} ms"


@pytest.mark.parametrize("mode", ["gaussian", "plateau"])
def test_speedups(mode, target, timed, exp_floor):
    runs = calls(mode)
    for call in runs.values():
        call()
    reference = timed(runs["deeplabcut"], seconds=3.0)
    lines, fastest = [], {}
    for runner in ("fastheat", "encoder"):
        times = timed(runs[runner])
        fastest[runner] = min(times)
        lines.append(f"{runner}: {ms(times)}, {min(reference) / min(times):.1f}x "
                     f"(median {statistics.median(reference) / statistics.median(times):.1f}x)")
    report = f"{cpu_line()}; deeplabcut {mode}: DeepLabCut's loop {ms(reference)}; " + \
        "; ".join(lines)
    if mode == "gaussian":
        arguments = exp_arguments(runs["deeplabcut"])
        count, floor = exp_floor(arguments[np.exp(arguments).astype(np.float32) != 0])
        report += (f"; DeepLabCut evaluates {arguments.size} float64 exp, {count} needed; "
                   f"NumPy's exp takes {floor / count * 1e9:.2f} ns each here, floor "
                   f"{floor * 1e3:.3f} ms; fastheat {fastest['fastheat'] / floor:.2f}x it, the "
                   f"encoder {fastest['encoder'] / floor:.2f}x")
    target(min(reference) / fastest["fastheat"] >= TARGET, f"{report} (target {TARGET}x)")
