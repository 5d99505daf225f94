"""DeepLabCut targets: fastheat against the NumPy transcription of DeepLabCut's per-keypoint
loop, side by side in one process, one thread.

    python -m pytest benchmarks/test_bench_deeplabcut.py --benchmark-enable -s

The batch: 16 images of 8 animals x 12 keypoints spread over a 512x512 input, stride 8 (64x64
maps), 80% drawn, 10% invisible, 10% missing, default options (gaussian, locref,
``pos_dist_thresh=17``); also the plateau mode. Groups compare DeepLabCut's loop
(``deeplabcut_loop``, tests/naive.py's transcription of its ``forward``) with
``encode_deeplabcut`` (fresh outputs) and a ``DeepLabCutEncoder`` (reused heatmaps).

``test_speedups`` measures the same calls (min and median) and checks the issue's target
(5x DeepLabCut's loop). The Gaussian's float64 ``exp`` over each keypoint's window bounds it:
it also times NumPy's ``exp`` alone on as many values as fastheat computes (and on the whole
maps DeepLabCut computes) and prints which share of fastheat's time that is.
"""

import statistics

import numpy as np
import pytest

import fastheat
import naive
from fastheat._engine import stamping

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
def test_speedups(mode, target, timed):
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
    report = f"deeplabcut {mode}: DeepLabCut's loop {ms(reference)}; " + "; ".join(lines)
    if mode == "gaussian":
        keypoints, visible = animals_batch()
        sparse = fastheat.encode_deeplabcut(keypoints, visible, heatmap_size=HEATMAP_SIZE,
                                            stride=STRIDE, sparse=True)
        _, value_starts = stamping.point_values(sparse.stamps, sparse.spec.gaussian,
                                                *HEATMAP_SIZE)
        ours = -np.random.default_rng(1).uniform(0, 105, int(value_starts[-1]))
        whole = -np.random.default_rng(1).uniform(0, 105, int((visible > 0).sum())
                                                  * HEATMAP_SIZE[0] * HEATMAP_SIZE[1])
        exp_ours = timed(lambda: np.exp(ours, out=ours.copy()))
        exp_whole = timed(lambda: np.exp(whole))
        report += (f"; NumPy exp alone on fastheat's {ours.size} window values: {ms(exp_ours)} "
                   f"({min(exp_ours) / fastest['fastheat']:.0%} of encode_deeplabcut's min, "
                   f"{min(exp_ours) / fastest['encoder']:.0%} of the encoder's), on DeepLabCut's "
                   f"{whole.size} whole-map values: {ms(exp_whole)}")
    target(min(reference) / fastest["fastheat"] >= TARGET, f"{report} (target {TARGET}x)")
