"""fastheat against the NumPy reference on the CornerNet batch, side by side in one run.

    python -m pytest benchmarks/test_bench_corners.py --benchmark-enable --benchmark-columns=min,mean,median,rounds

Groups (compare the rows within a group):
- ``end-to-end``: a fresh batch (allocate, zero, stamp): reference vs encode_corners vs the
  reused-buffer CornerEncoder (steady state, the same batch every round).
- ``stamping-same-batch``: stamping alone, the same batch every round: the reference's loop
  over already-zeroed maps (max-merging the same values again costs what the first time did)
  vs a CornerEncoder on one thread (which also clears what it stamped the round before).
- ``stamping-new-batch``: the same with a different batch every round (16 in turn): the
  encoder clears the previous batch's windows and stamps new ones, mostly out of cache.
- ``fresh-vs-zeros``: encode_corners with fresh outputs vs the bare numpy.zeros + first touch.
"""

import itertools

import numpy as np
import pytest

import fastheat
import naive
from fastheat.workloads import CORNERNET, coco_like_detections

SHAPE = (49, 80, 128, 128)
PAGE = 4096 // 4
CLASSES = {key: value for key, value in CORNERNET.items() if key != "batch_size"}


@pytest.fixture(scope="module")
def detections():
    return coco_like_detections(0)


@pytest.fixture(scope="module")
def rotating():
    return [coco_like_detections(seed) for seed in range(16)]


def reference_stamping(detections, maps):
    """The reference's loop body over already-zeroed maps (naive.encode_corners after np.zeros)."""
    tl, br = maps
    width_ratio = height_ratio = 128 / 511
    for row in detections:
        b, c = int(row[0]), int(row[1])
        xtl, ytl, xbr, ybr = row[2:]
        width = np.ceil((xbr - xtl) * width_ratio)
        height = np.ceil((ybr - ytl) * height_ratio)
        radius = max(0, int(naive.gaussian_radius((int(height), int(width)), 0.3)))
        naive.draw_gaussian(tl[b, c], [int(xtl * width_ratio), int(ytl * height_ratio)], radius)
        naive.draw_gaussian(br[b, c], [int(xbr * width_ratio), int(ybr * height_ratio)], radius)


@pytest.mark.benchmark(group="end-to-end")
def test_reference_fresh(benchmark, detections):
    benchmark.pedantic(naive.encode_corners, args=(detections, 49, 80, (511, 511), (128, 128)),
                       rounds=3, warmup_rounds=0)


@pytest.mark.benchmark(group="end-to-end")
def test_fastheat_fresh(benchmark, detections):
    benchmark(fastheat.encode_corners, detections, **CORNERNET)


@pytest.mark.benchmark(group="end-to-end")
def test_fastheat_encoder_reused(benchmark, detections):
    encoder = fastheat.CornerEncoder(num_classes=80, input_size=(511, 511), output_size=(128, 128))
    encoder(detections, 49)
    benchmark(encoder, detections, 49)


@pytest.fixture(scope="module")
def zeroed_maps():
    maps = (np.zeros(SHAPE, np.float32), np.zeros(SHAPE, np.float32))
    for m in maps:
        m.fill(0)
    return maps


@pytest.mark.parametrize("batches", ["same-batch", "new-batch"])
def test_reference_stamping(benchmark, detections, rotating, zeroed_maps, batches):
    benchmark.group = f"stamping-{batches}"
    turn = itertools.cycle(rotating if batches == "new-batch" else [detections])
    benchmark.pedantic(lambda: reference_stamping(next(turn), zeroed_maps), rounds=5)


@pytest.mark.parametrize("batches", ["same-batch", "new-batch"])
def test_fastheat_stamping(benchmark, detections, rotating, batches):
    benchmark.group = f"stamping-{batches}"
    encoder = fastheat.CornerEncoder(**CLASSES, num_threads=1)
    encoder(detections, 49)
    turn = itertools.cycle(rotating if batches == "new-batch" else [detections])
    benchmark(lambda: encoder(next(turn), 49))
    last = rotating[-1] if batches == "new-batch" else detections
    want = naive.encode_corners(last, 49, 80, (511, 511), (128, 128))
    assert all(np.array_equal(a, b) for a, b in zip(encoder(last, 49), want))


def zeros_and_first_touch():
    maps = (np.zeros(SHAPE, np.float32), np.zeros(SHAPE, np.float32))
    for m in maps:
        m.reshape(-1)[::PAGE] = 0  # one write per 4 KiB page: the OS zeroes each page once
    return maps


@pytest.mark.benchmark(group="fresh-vs-zeros")
def test_numpy_zeros_first_touch(benchmark):
    benchmark(zeros_and_first_touch)


@pytest.mark.benchmark(group="fresh-vs-zeros")
def test_fastheat_fresh_outputs(benchmark, detections):
    benchmark(fastheat.encode_corners, detections, **CORNERNET)
