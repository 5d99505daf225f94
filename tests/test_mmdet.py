"""mmdetection's CenterNet and corner heads (``encode_mmdet_centernet``,
``encode_mmdet_corner``) against their NumPy transcriptions (tests/naive.py), bit for bit; the
float32 ``gaussian2D`` kind; cell fields through every sink; the heads' own checks."""

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from cases import SIZES, batches, edge_case_boxes
from fastheat._engine import tables
from fastheat._engine.kinds import Gaussian2D

HYPOTHESIS = settings(max_examples=150, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_fields_equal(got, want):
    assert len(got) == len(want)
    for name, g, w in zip(got._fields, got, want):
        assert g.dtype == w.dtype == np.float32 and g.shape == w.shape, name
        differ = np.argwhere(g.view(np.uint32) != w.view(np.uint32))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def centernet(detections, batch_size, num_classes, input_size, output_size):
    got = fastheat.encode_mmdet_centernet(detections, batch_size=batch_size,
                                          num_classes=num_classes, input_size=input_size,
                                          output_size=output_size)
    want = naive.encode_mmdet_centernet(detections, batch_size, num_classes, input_size,
                                        output_size)
    assert_fields_equal(got, want)
    assert got.avg_factor == max(1, int((want[0] == 1).sum()))
    return got


def corner(detections, batch_size, num_classes, input_size, output_size, **shifts):
    got = fastheat.encode_mmdet_corner(detections, batch_size=batch_size, num_classes=num_classes,
                                       input_size=input_size, output_size=output_size, **shifts)
    want = naive.encode_mmdet_corner(detections, batch_size, num_classes, input_size, output_size,
                                     **shifts)
    assert_fields_equal(got, want)
    return got


def positive_halves(detections, input_size, output_size):
    """The rows whose scaled half widths and heights are > 0 in float32 (centripetal shifts
    take their log)."""
    f32 = np.float32
    keep = np.ones(len(detections), bool)
    for lo, hi, ratio in ((2, 4, f32(output_size[1] / input_size[1])),
                          (3, 5, f32(output_size[0] / input_size[0]))):
        low, high = detections[:, lo].astype(f32), detections[:, hi].astype(f32)
        centre = (low + high) / f32(2) * ratio
        keep &= (centre - low * ratio > 0) & (high * ratio - centre > 0)
    return detections[keep]


@HYPOTHESIS
@given(batches())
def test_centernet_equals_transcription(batch):
    """Any sizes (up- and downsampling, non-square), boxes on and off the map, empty images."""
    centernet(*batch)


@HYPOTHESIS
@given(batches(), st.booleans(), st.booleans())
def test_corner_equals_transcription(batch, guiding, centripetal):
    detections, *sizes = batch
    if centripetal:
        detections = positive_halves(detections, sizes[2], sizes[3])
    corner(detections, *sizes, with_guiding_shift=guiding, with_centripetal_shift=centripetal)


@pytest.mark.parametrize("input_size, output_size", SIZES)
def test_edge_case_boxes(rng, input_size, output_size):
    """Tiny, zero-size, image-sized, border-hugging, off-image and huge boxes."""
    detections = edge_case_boxes(rng, 300, 4, 3, input_size)
    centernet(detections, 4, 3, input_size, output_size)
    corner(detections, 4, 3, input_size, output_size, with_guiding_shift=True)
    corner(positive_halves(detections, input_size, output_size), 4, 3, input_size, output_size,
           with_guiding_shift=True, with_centripetal_shift=True)


def test_later_boxes_overwrite_the_cell_and_the_maps_merge():
    """Two boxes of one image with the same centre cell: the later one's size and offset stay;
    the heatmap is the max of both."""
    boxes = np.array([[0, 0, 10.0, 10.0, 30.0, 30.0], [0, 1, 12.0, 12.0, 28.0, 28.0]])
    sizes = dict(num_classes=2, input_size=64, output_size=16)
    got = fastheat.encode_mmdet_centernet(boxes, batch_size=1, **sizes)
    assert tuple(got.wh_target[0, :, 5, 5]) == (4.0, 4.0)  # the second box, 16 / 4
    flipped = fastheat.encode_mmdet_centernet(boxes[::-1], batch_size=1, **sizes)
    assert tuple(flipped.wh_target[0, :, 5, 5]) == (5.0, 5.0)
    assert (got.wh_offset_target_weight[0, :, 5, 5] == 1).all()
    assert got.wh_offset_target_weight.sum() == 2
    assert got.avg_factor == 2
    assert fastheat.encode_mmdet_centernet(np.zeros((0, 6)), batch_size=1, **sizes).avg_factor == 1


def test_gaussian2d_kind_equals_the_transcription_for_every_tabled_radius():
    values, covered = tables.table_of(Gaussian2D("float32"), np.dtype(np.float32), 300, 300)
    for radius in range(covered + 1):
        start = tables.table_offset(radius)
        kernel = naive.mmdet_gaussian2D(radius)
        rows = values[start:start + (radius + 1) * (2 * radius + 1)].reshape(radius + 1, -1)
        np.testing.assert_array_equal(rows, kernel[radius:])


@pytest.mark.parametrize("shifts", [{}, dict(with_guiding_shift=True),
                                    dict(with_guiding_shift=True, with_centripetal_shift=True)])
@pytest.mark.parametrize("method", ["numba", "scatter"])
def test_cell_fields_through_every_sink(rng, shifts, method):
    """Encoders (cleared where the previous call wrote), out=, sparse (pickled, collated),
    fastheat.torch's two paths: all equal to the one-shot call, cells written twice included."""
    pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    sizes = dict(num_classes=3, input_size=(120, 96), output_size=(30, 24))
    encoder = fastheat.MmdetCornerEncoder(**sizes, **shifts)
    for call in range(6):
        batch_size = int(rng.integers(1, 5))
        rows = edge_case_boxes(rng, 12 * batch_size, batch_size, 3, sizes["input_size"])
        rows = positive_halves(np.vstack([rows, rows[::3]]), sizes["input_size"],
                               sizes["output_size"])  # repeats: cells written twice
        want = fastheat.encode_mmdet_corner(rows, batch_size=batch_size, **sizes, **shifts)
        assert len(want) == 4 + 2 * len(shifts)
        assert_fields_equal(encoder(rows, batch_size), want)
        out = tuple(np.full_like(array, 7) for array in want)
        assert_fields_equal(fastheat.encode_mmdet_corner(rows, batch_size=batch_size, **sizes,
                                                         **shifts, out=out), want)
        sparse = pickle.loads(pickle.dumps(fastheat.encode_mmdet_corner(
            rows, batch_size=batch_size, **sizes, **shifts, sparse=True)))
        assert_fields_equal(sparse.to_dense(), want)
        images = [fastheat.encode_mmdet_corner(rows[rows[:, 0] == b][:, 1:], batch_size=None,
                                               **sizes, **shifts, sparse=True)
                  for b in range(batch_size)]
        assert_fields_equal(encoder.render(fastheat.collate(images)), want)
        tensors = fastheat_torch.to_dense(sparse, method=method)
        assert_fields_equal(type(want)(*(tensor.numpy() for tensor in tensors)), want)


def test_single_image_form_equals_the_batch_of_one(rng):
    sizes = dict(num_classes=3, input_size=(96, 128), output_size=(24, 32))
    rows = edge_case_boxes(rng, 20, 1, 3, sizes["input_size"])
    for encode in (fastheat.encode_mmdet_centernet, fastheat.encode_mmdet_corner):
        single = encode(rows[:, 1:], batch_size=None, **sizes)
        batch = encode(rows, batch_size=1, **sizes)
        assert_fields_equal(type(batch)(*(field[np.newaxis] for field in single)), batch)


def test_options_are_checked():
    sizes = dict(num_classes=3, input_size=96, output_size=24)
    with pytest.raises(TypeError, match="with_guiding_shift must be True or False"):
        fastheat.encode_mmdet_corner(np.zeros((0, 6)), batch_size=1, **sizes,
                                     with_guiding_shift=1)
    with pytest.raises(TypeError, match="unexpected option 'gaussian_iou'"):
        fastheat.encode_mmdet_centernet(np.zeros((0, 6)), batch_size=1, **sizes, gaussian_iou=0.3)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        fastheat.MmdetCenterNetEncoder(**{**sizes, "num_classes": 0})


def test_centripetal_shift_refuses_zero_halves_naming_the_lowest_row():
    sizes = dict(num_classes=3, input_size=96, output_size=24)
    rows = np.array([[0, 0, 1.0, 1.0, 9.0, 9.0], [0, 1, 5.0, 1.0, 5.0, 9.0],
                     [0, 1, np.nan, 1.0, 5.0, 9.0]])
    out = tuple(np.full_like(a, 7) for a in fastheat.encode_mmdet_corner(
        rows[:1], batch_size=1, **sizes, with_centripetal_shift=True))
    with pytest.raises(ValueError, match=r"detections row 1 has a scaled width or height"):
        fastheat.encode_mmdet_corner(rows, batch_size=1, **sizes, with_centripetal_shift=True,
                                     out=out)
    assert all((array == 7).all() for array in out)
    fastheat.encode_mmdet_corner(rows[:2], batch_size=1, **sizes)  # no log taken: fine
