"""CornerNet's full target set against the heatmaps alone, on the CornerNet batch, in one run.

    python -m pytest benchmarks/test_bench_targets.py --benchmark-enable --benchmark-columns=min,mean,median,rounds

Group ``cornernet-targets`` (fresh outputs each call): the NumPy transcription of CornerNet's
whole target loop (heatmaps, offsets, tags, masks) vs ``encode_cornernet`` vs ``encode_corners``
(heatmaps only). Target: ``encode_cornernet`` within 1.3x of ``encode_corners``.
``test_full_targets_overhead`` checks that ratio on best-of times measured side by side.
"""

import time

import pytest

import fastheat
import naive
from fastheat import encode_cornernet
from fastheat.workloads import CORNERNET, coco_like_detections


@pytest.fixture(scope="module")
def detections():
    return coco_like_detections(0)


@pytest.mark.benchmark(group="cornernet-targets")
def test_transcription_full_targets(benchmark, detections):
    benchmark.pedantic(naive.encode_cornernet,
                       args=(detections, 49, 80, (511, 511), (128, 128)), rounds=3, warmup_rounds=0)


@pytest.mark.benchmark(group="cornernet-targets")
def test_encode_cornernet_full_targets(benchmark, detections):
    benchmark(encode_cornernet, detections, **CORNERNET)


@pytest.mark.benchmark(group="cornernet-targets")
def test_encode_corners_heatmaps_only(benchmark, detections):
    benchmark(fastheat.encode_corners, detections, **CORNERNET)


def best_of(function, repeat=15):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def test_full_targets_overhead(detections, target):
    encode_cornernet(detections, **CORNERNET)  # compile or load from cache
    full = best_of(lambda: encode_cornernet(detections, **CORNERNET))
    heatmaps = best_of(lambda: fastheat.encode_corners(detections, **CORNERNET))
    target(full <= 1.3 * heatmaps, f"full targets {full * 1e3:.1f} ms vs heatmaps "
           f"{heatmaps * 1e3:.1f} ms (target: at most 1.3x)")
