"""fastheat against the NumPy reference on the CornerNet batch, side by side in one run.

    python -m pytest benchmarks/test_bench_corners.py --benchmark-enable --benchmark-columns=min,mean,median,rounds

Groups (compare the rows within a group):
- ``end-to-end``: a fresh batch (allocate, zero, stamp): reference vs encode_corners vs the
  reused-buffer CornerEncoder (steady state).
- ``stamping-cold``: stamping alone into zeroed, already-touched maps, zeroed in full before
  each round (zeroing excluded from the time; it evicts the caches).
- ``stamping-warm``: the same, but before each round only the stamped windows are zeroed
  again (untimed), so the maps' cache lines and pages stay warm for both sides.
- ``fresh-vs-zeros``: encode_corners with fresh outputs vs the bare numpy.zeros + first touch.
"""

import numpy as np
import pytest

import fastheat
import reference
from fastheat import _kernels
from fastheat.corners import CornerOptions, PreparedBoxes, stamp_corners
from fastheat.workloads import CORNERNET, coco_like_detections

SHAPE = (49, 80, 128, 128)
PAGE = 4096 // 4


@pytest.fixture(scope="module")
def detections():
    return coco_like_detections(0)


def reference_stamping(detections, maps):
    """The seed's loop body over already-zeroed maps (what reference.encode_corners does after np.zeros)."""
    tl, br = maps
    width_ratio = height_ratio = 128 / 511
    for row in detections:
        b, c = int(row[0]), int(row[1])
        xtl, ytl, xbr, ybr = row[2:]
        width = np.ceil((xbr - xtl) * width_ratio)
        height = np.ceil((ybr - ytl) * height_ratio)
        radius = max(0, int(reference.gaussian_radius((int(height), int(width)), 0.3)))
        reference.draw_gaussian(tl[b, c], [int(xtl * width_ratio), int(ytl * height_ratio)], radius)
        reference.draw_gaussian(br[b, c], [int(xbr * width_ratio), int(ybr * height_ratio)], radius)


@pytest.mark.benchmark(group="end-to-end")
def test_reference_fresh(benchmark, detections):
    benchmark.pedantic(reference.encode_corners, args=(detections, 49, 80, (511, 511), (128, 128)),
                       rounds=3, warmup_rounds=0)


@pytest.mark.benchmark(group="end-to-end")
def test_fastheat_fresh(benchmark, detections):
    benchmark(fastheat.encode_corners, detections, **CORNERNET)


@pytest.mark.benchmark(group="end-to-end")
def test_fastheat_encoder_reused(benchmark, detections):
    encoder = fastheat.CornerEncoder(num_classes=80, input_size=(511, 511), output_size=(128, 128))
    encoder(detections, 49)
    benchmark(encoder, detections, 49)


def zeroed_maps():
    return ((np.zeros(SHAPE, np.float32), np.zeros(SHAPE, np.float32)),), {}


@pytest.fixture(scope="module")
def touched_maps():
    maps = (np.zeros(SHAPE, np.float32), np.zeros(SHAPE, np.float32))
    for m in maps:
        m.fill(0)
    return maps


@pytest.fixture(scope="module")
def prepared(detections):
    options = CornerOptions.check(80, (511, 511), (128, 128), 0.3, -1, 6, 1.0, np.float32,
                                  "cornernet", 0)
    image, category = detections[:, 0].astype(np.int64), detections[:, 1].astype(np.int64)
    return options, PreparedBoxes.prepare(image, category, detections[:, 2:].copy(), 49, options)


def zero_maps(maps, how, prepared):
    """Zero the maps in full (``"cold"``) or only where ``prepared`` stamps (``"warm"``)."""
    if how == "cold":
        for m in maps:
            m.fill(0)
    else:
        options, boxes = prepared
        stamp_corners(maps, PreparedBoxes.empty(), options, fastheat.default_num_threads(),
                      _kernels.CLEAR_PREVIOUS, boxes)


@pytest.mark.parametrize("how", ["cold", "warm"])
def test_reference_stamping(benchmark, detections, touched_maps, prepared, how):
    benchmark.group = f"stamping-{how}"

    def setup():
        zero_maps(touched_maps, how, prepared)
        return (detections, touched_maps), {}
    benchmark.pedantic(reference_stamping, setup=setup, rounds=5)


@pytest.mark.parametrize("how", ["cold", "warm"])
def test_fastheat_stamping(benchmark, detections, touched_maps, prepared, how):
    benchmark.group = f"stamping-{how}"
    options, boxes = prepared
    threads = fastheat.default_num_threads()

    def setup():
        zero_maps(touched_maps, how, prepared)
        return (touched_maps, boxes, options, threads, _kernels.CLEAR_PREVIOUS), {}
    benchmark.pedantic(stamp_corners, setup=setup, rounds=50)
    want = (np.zeros(SHAPE, np.float32), np.zeros(SHAPE, np.float32))
    reference_stamping(detections, want)
    assert all(np.array_equal(a, b) for a, b in zip(touched_maps, want))


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
