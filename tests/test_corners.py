"""encode_corners against the CornerNet reference's transcription (tests/naive.py), bit for bit."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from cases import SIZES, batches, edge_case_boxes
from fastheat.workloads import coco_like_detections


def assert_same_as_reference(detections, batch_size, num_classes, input_size, output_size,
                             dtype=np.float32, num_threads=None, **options):
    got = fastheat.encode_corners(
        detections, batch_size=batch_size, num_classes=num_classes, input_size=input_size,
        output_size=output_size, dtype=dtype, num_threads=num_threads, **options,
    )
    want = naive.encode_corners(detections, batch_size, num_classes, input_size, output_size,
                                dtype=dtype, **options)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        mismatches = np.argwhere(g != w)
        assert mismatches.size == 0, f"{len(mismatches)} cells differ, first at {mismatches[0]}"
    return got


@pytest.mark.parametrize("input_size, output_size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_coco_batches(rng, input_size, output_size, dtype):
    for batch_size in (1, 5, 16):
        detections = coco_like_detections(int(rng.integers(1 << 30)), batch_size=batch_size,
                                          num_classes=12, input_size=input_size,
                                          boxes_per_image=rng.choice([0, 3, 20, 150]))
        rng.shuffle(detections)  # any order
        assert_same_as_reference(detections, batch_size, 12, input_size, output_size, dtype)


@pytest.mark.parametrize("input_size, output_size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_case_boxes(rng, input_size, output_size, dtype):
    detections = edge_case_boxes(rng, 400, 4, 3, input_size)
    assert_same_as_reference(detections, 4, 3, input_size, output_size, dtype)


def test_cornernet_batch_float32_input(rng):
    detections = coco_like_detections(7).astype(np.float32)
    assert_same_as_reference(detections, **fastheat.workloads.CORNERNET)


def test_empty_batch_is_all_zero():
    for detections in (np.zeros((0, 6)), [], np.zeros((0, 6), np.int32)):
        tl, br = fastheat.encode_corners(detections, batch_size=2, num_classes=3,
                                         input_size=(64, 64), output_size=(16, 16))
        assert tl.shape == (2, 3, 16, 16) and not tl.any() and not br.any()


def test_integer_detections(rng):
    detections = coco_like_detections(3, batch_size=4, num_classes=5).round().astype(np.int64)
    assert_same_as_reference(detections, 4, 5, (511, 511), (128, 128))


@pytest.mark.parametrize("gaussian_rad", [0, 1, 5, 40])
def test_fixed_radius(rng, gaussian_rad):
    detections = edge_case_boxes(rng, 100, 3, 2, (256, 256))
    assert_same_as_reference(detections, 3, 2, (256, 256), (64, 64), gaussian_rad=gaussian_rad)


@pytest.mark.parametrize("options", [{"delte": 3}, {"delte": 40.5}, {"k": 0.5}, {"k": 3},
                                     {"gaussian_iou": 0.7}, {"gaussian_iou": 0.05}])
def test_options(rng, options):
    detections = edge_case_boxes(rng, 150, 2, 2, (200, 300))
    assert_same_as_reference(detections, 2, 2, (200, 300), (50, 75), np.float64, **options)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_radius_beyond_tables(dtype):
    """Radii above the map's larger side take the window path; values stay the seed's."""
    r = 1063
    detections = np.array([[0, 0, 10.0, 20.0, 30.0, 35.0], [0, 1, -2000.0, -300.0, 3000.0, 900.0],
                           [1, 0, 40.0, 3.0, 40.0, 3.0]])
    assert_same_as_reference(detections, 2, 2, (64, 64), (64, 64), dtype, gaussian_rad=r)
    huge = np.array([[0, 0, -30000.0, -30000.0, 30000.0, 30000.0]])  # computed radius > table
    assert fastheat.gaussian_radius(7501, 7501) > r
    assert_same_as_reference(huge, 1, 1, (64, 64), (16, 16), dtype)


def test_out_is_overwritten_entirely(rng):
    detections = coco_like_detections(1, batch_size=3, num_classes=4)
    shape = (3, 4, 128, 128)
    out = (np.full(shape, np.nan, np.float32), np.full(shape, 7.0, np.float32))
    got = fastheat.encode_corners(detections, batch_size=3, num_classes=4, input_size=(511, 511),
                                  output_size=(128, 128), out=out)
    assert got.tl_heatmaps is out[0] and got.br_heatmaps is out[1]
    want = naive.encode_corners(detections, 3, 4, (511, 511), (128, 128))
    np.testing.assert_array_equal(out[0], want[0])
    np.testing.assert_array_equal(out[1], want[1])


@pytest.mark.parametrize("num_threads", [1, 2])
def test_thread_counts_agree(num_threads):
    detections = coco_like_detections(5, batch_size=9, num_classes=6)
    assert_same_as_reference(detections, 9, 6, (511, 511), (128, 128), num_threads=num_threads)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.sampled_from([np.float32, np.float64]))
def test_property_matches_reference(batch, dtype):
    assert_same_as_reference(*batch, dtype=dtype)
