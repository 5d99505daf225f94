"""TTFNet (``encode_ttfnet``) against its NumPy transcription (tests/naive.py), bit for bit; the
elliptical Gaussian kind and its pair tables; TTFNet's options checked."""

import dataclasses
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from cases import SIZES, batches, edge_case_boxes
from fastheat._engine import cells, kinds, tables
from fastheat.workloads import coco_like_detections

HYPOTHESIS = settings(max_examples=150, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
OPTIONS = st.fixed_dictionaries(dict(
    alpha=st.sampled_from([0.54, 0.3, 1.0, 0.01]), beta=st.sampled_from([0.54, 0.8, 1.0]),
    wh_area_process=st.sampled_from(["log", "sqrt", "norm", None]), wh_gaussian=st.booleans(),
    wh_agnostic=st.booleans()))


def assert_same(detections, batch_size, num_classes, input_size, output_size, **options):
    got = fastheat.encode_ttfnet(detections, batch_size=batch_size, num_classes=num_classes,
                                 input_size=input_size, output_size=output_size, **options)
    want = naive.encode_ttfnet(detections, batch_size, num_classes, input_size, output_size,
                               **options)
    for name, g, w in zip(got._fields, got, want):
        assert g.dtype == w.dtype == np.float32 and g.shape == w.shape, name
        differ = np.argwhere(g.view(np.uint32) != w.view(np.uint32))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"
    return got


@HYPOTHESIS
@given(batches(), OPTIONS)
def test_equals_transcription(batch, options):
    """Any sizes (non-square, up- and downsampling), boxes on and off the map, empty images."""
    assert_same(*batch, **options)


@HYPOTHESIS
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40), OPTIONS, st.data())
def test_equal_areas_keep_input_order(batch_size, out_h, out_w, options, data):
    """Boxes of equal areas (shifted copies, some exactly on top of each other): later boxes
    in input order win where they overlap, as a stable sort leaves them."""
    side = data.draw(st.integers(0, 30))
    corners = data.draw(st.lists(st.tuples(st.integers(0, batch_size - 1), st.integers(0, 2),
                                           st.integers(-10, 4 * out_w), st.integers(-10, 4 * out_h)),
                                 min_size=1, max_size=12))
    detections = np.array([(b, c, x, y, x + side, y + 2 * side) for b, c, x, y in corners],
                          np.float64)
    assert_same(detections, batch_size, 3, (4 * out_h, 4 * out_w), (out_h, out_w), **options)


@pytest.mark.parametrize("input_size, output_size", SIZES)
def test_edge_case_boxes(rng, input_size, output_size):
    """Tiny, zero-size, image-sized, border-hugging, off-image and huge boxes."""
    detections = edge_case_boxes(rng, 200, 3, 4, input_size)
    for options in (dict(), dict(alpha=0.3, beta=0.9, wh_agnostic=False),
                    dict(wh_gaussian=False, wh_area_process=None)):
        assert_same(detections, 3, 4, input_size, output_size, **options)


def test_smaller_boxes_overwrite_larger_ones():
    """A small box inside a large one, given first: the small one still wins its cells."""
    boxes = np.array([[0, 0, 40.0, 40.0, 60.0, 60.0], [0, 1, 0.0, 0.0, 120.0, 120.0]])
    got = fastheat.encode_ttfnet(boxes, batch_size=1, num_classes=2, input_size=128,
                                 output_size=32)
    assert tuple(got.box_target[0, :, 12, 12]) == (40.0, 40.0, 60.0, 60.0)
    assert tuple(got.box_target[0, :, 8, 8]) == (0.0, 0.0, 120.0, 120.0)
    assert (got.box_target[0, :, 31, 31] == -1).all() and got.reg_weight[0, 0, 31, 31] == 0


def test_elliptical_kind_equals_ttfnet_gaussian_for_every_pair():
    kind = kinds.EllipticalGaussian("float64")
    for rx in range(0, 40, 3):
        for ry in range(0, 40, 5):
            kernel = kind.kernel(rx, ry)
            np.testing.assert_array_equal(kernel, naive.ttf_gaussian_2d(ry, rx).astype(np.float32))


def test_pair_tables_are_bounded(monkeypatch):
    """A table that would grow beyond TABLE_BYTES starts over; pairs too big for it at once are
    computed window by window: the targets stay exact."""
    monkeypatch.setattr(tables, "TABLE_BYTES", 40_000)
    monkeypatch.setattr(kinds, "_PAIR_TABLES", {})
    detections = coco_like_detections(3, batch_size=4, num_classes=3, input_size=(256, 256),
                                      boxes_per_image=20)
    for size in (64, 96):
        assert_same(detections, 4, 3, (256, 256), (size, size))
        values, _, _ = kinds._PAIR_TABLES[kinds.EllipticalGaussian("float64")].snapshot
        assert values.nbytes <= 40_000


def test_kernels_beyond_the_pair_limit_are_computed_per_window(monkeypatch):
    """Kernels above PAIR_BYTES (here any wider than about 10 x 10 cells) are computed for their
    visible windows alone: the same targets."""
    monkeypatch.setattr(kinds, "PAIR_BYTES", 400)
    detections = edge_case_boxes(np.random.default_rng(5), 60, 2, 3, (256, 320))
    for options in (dict(), dict(alpha=0.2, beta=1.0)):
        assert_same(detections, 2, 3, (256, 320), (64, 80), **options)


@pytest.mark.parametrize("options, error, message", [
    (dict(alpha=0), ValueError, r"alpha must be in \(0, 1\], got 0.0"),
    (dict(beta=1.5), ValueError, r"beta must be in \(0, 1\], got 1.5"),
    (dict(alpha="big"), TypeError, "alpha must be a real number"),
    (dict(beta=float("nan")), ValueError, "beta must be finite"),
    (dict(wh_area_process="area"), ValueError, "wh_area_process must be one of"),
    (dict(wh_gaussian=1), TypeError, "wh_gaussian must be True or False"),
    (dict(wh_agnostic=None), TypeError, "wh_agnostic must be True or False"),
])
def test_options_are_checked(options, error, message):
    with pytest.raises(error, match=message):
        fastheat.encode_ttfnet(np.zeros((0, 6)), batch_size=1, num_classes=2, input_size=64,
                               output_size=16, **options)
    with pytest.raises(error, match=message):
        fastheat.TTFNetEncoder(num_classes=2, input_size=64, output_size=16, **options)


def test_class_specific_planes_and_single_image_form(rng):
    sizes = dict(num_classes=3, input_size=(96, 128), output_size=(24, 32))
    rows = edge_case_boxes(rng, 20, 1, 3, sizes["input_size"])
    single = fastheat.encode_ttfnet(rows[:, 1:], batch_size=None, **sizes, wh_agnostic=False)
    assert single.box_target.shape == (12, 24, 32) and single.reg_weight.shape == (3, 24, 32)
    batch = fastheat.encode_ttfnet(rows, batch_size=1, **sizes, wh_agnostic=False)
    for s, b in zip(single, batch):
        np.testing.assert_array_equal(s, b[0])


@pytest.mark.parametrize("options", [{}, dict(wh_gaussian=False, wh_agnostic=False)])
def test_torch_renderer_and_encoder_clear_the_regions_they_wrote(rng, options):
    """Batches of different boxes in turn through an encoder and fastheat.torch's Renderer
    (reused buffers: the heatmap and the regression regions of the previous call cleared),
    and the scatter path (region fields rendered on the CPU): all equal to the one-shot call."""
    pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    sizes = dict(num_classes=3, input_size=(96, 128), output_size=(24, 32))
    encoder = fastheat.TTFNetEncoder(**sizes, **options)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for call in range(6):
        batch_size = int(rng.integers(1, 4))
        rows = edge_case_boxes(rng, 10 * batch_size, batch_size, 3, sizes["input_size"])
        want = fastheat.encode_ttfnet(rows, batch_size=batch_size, **sizes, **options)
        sparse = fastheat.encode_ttfnet(rows, batch_size=batch_size, **sizes, **options,
                                        sparse=True)
        for got in (encoder(rows, batch_size), renderer(sparse),
                    fastheat_torch.to_dense(sparse, method="scatter")):
            for name, g, w in zip(want._fields, got, want):
                np.testing.assert_array_equal(np.asarray(g), w, err_msg=name)


def test_calc_region_ratio_is_the_configs_python_float():
    """``calc_region``'s ratio is ``(1 - beta) / 2`` of the config's Python float beta, each
    share rounded to float32 where it meets the box: from beta's float32 value instead, a box
    whose region end lands on a half pixel (here -6.5 and 5.5) rounds to another cell."""
    boxes = np.array([[0, 0, -8.0, 0.0, 7.0, 30.0]])
    options = dict(alpha=0.54, beta=0.8, wh_gaussian=False, wh_agnostic=False)
    assert_same(boxes, 1, 3, (4, 12), (1, 3), **options)
    got = fastheat.encode_ttfnet(boxes, batch_size=1, num_classes=3, input_size=(4, 12),
                                 output_size=(1, 3), **options)
    assert got.box_target[0, 0, 0].tolist() == [-8.0, -8.0, -1.0]


@pytest.mark.parametrize("pair_bytes", [kinds.PAIR_BYTES, 400])
def test_window_sums_add_window_values_in_order(monkeypatch, rng, pair_bytes):
    """Every region's sum (``reg_weight``'s divisor): its window's values added one after
    another in float64, whole windows from the pair table's totals, clipped ones (at the map's
    edges) and kernels beyond PAIR_BYTES added up."""
    monkeypatch.setattr(kinds, "PAIR_BYTES", pair_bytes)
    rows = np.vstack([edge_case_boxes(rng, 60, 2, 3, (256, 320)),
                      coco_like_detections(1, batch_size=2, num_classes=3, input_size=(256, 320),
                                           boxes_per_image=20)])
    targets = fastheat.encode_ttfnet(rows, batch_size=2, num_classes=3, input_size=(256, 320),
                                     output_size=(64, 80), sparse=True)
    stamps = dataclasses.replace(targets.stamps, clips=targets.stamps.regions)
    windows, value_starts = cells.region_windows(stamps.regions, 64, 80)
    values = kinds.EllipticalGaussian("float64").window_values(stamps, windows, value_starts)
    sums = kinds.EllipticalGaussian("float64").window_sums(stamps, windows)
    want = [kinds.sequential_sum(values[value_starts[j]:value_starts[j + 1]])
            for j in range(len(windows))]
    assert sums.tolist() == want
    clipped = (windows[:, 1] - windows[:, 0]) < (stamps.regions[:, 3] - stamps.regions[:, 2])
    assert clipped.any() and not clipped.all()


class _PatchyWeights:
    """A per-point region kind whose weights have zeros: at both ends of some rows, inside
    others, none in some regions (``cells.RegionField``'s three ways of writing)."""

    per_point = True

    def window_values(self, stamps, windows, value_starts):
        values = np.random.default_rng(7).uniform(0.1, 1, value_starts[-1]).astype(np.float32)
        for j, (y0, y1, x0, x1) in enumerate(windows.tolist()):
            rows = values[value_starts[j]:value_starts[j + 1]].reshape(y1 - y0, x1 - x0)
            if j % 3 == 1 and rows.size:
                rows[::2, 0] = rows[::2, -1] = 0  # ends of rows
            elif j % 3 == 2 and rows.shape[1] > 2:
                rows[1::2, rows.shape[1] // 2] = 0  # inside rows
        return values


def _render_regions(stamps, weights, value_starts, windows, shape):
    """``box_target`` and ``reg_weight`` as ``cells.RegionField`` says, point after point."""
    box_target = np.full((shape[0], 4, *shape[1:]), -1, np.float32)
    reg_weight = np.zeros((shape[0], 1, *shape[1:]), np.float32)
    for b in range(shape[0]):
        for j in range(stamps.starts[b], stamps.starts[b + 1]):
            y0, y1, x0, x1 = windows[j]
            g = weights[value_starts[j]:value_starts[j + 1]].reshape(y1 - y0, x1 - x0)
            values = stamps.cell_values[j]
            box_target[b, :, y0:y1, x0:x1][:, g > 0] = values[:4, None]
            scaled = (g * values[4]).astype(np.float32) / values[5]
            reg_weight[b, 0, y0:y1, x0:x1][g > 0] = scaled[g > 0]
    return box_target, reg_weight


def test_region_fields_where_weights_are_zero(rng):
    """Region fields of a kind whose weights have zeros: only the cells of positive weights
    written, fresh and reused (the previous call's regions cleared to each field's fill)."""
    spec = types.SimpleNamespace(region_gaussian=_PatchyWeights(), class_specific=False,
                                 num_classes=3)
    shape = (2, 24, 32)
    fields = (np.full((2, 4, 24, 32), 5, np.float32), np.full((2, 1, 24, 32), 5, np.float32))
    previous = None
    for clear in (cells.CLEAR_ALL, cells.CLEAR_PREVIOUS, cells.CLEAR_PREVIOUS):
        rows = edge_case_boxes(rng, 30, 2, 3, (96, 128))
        stamps = fastheat.encode_ttfnet(rows, batch_size=2, num_classes=3, input_size=(96, 128),
                                        output_size=shape[1:], sparse=True).stamps
        windows, value_starts = cells.region_windows(stamps.regions, *shape[1:])
        weights = spec.region_gaussian.window_values(stamps, windows, value_starts)
        cells.write_regions(fields, fastheat.ttfnet.TTFNET.regions, spec, stamps, clear,
                            previous)
        for got, want in zip(fields, _render_regions(stamps, weights, value_starts, windows,
                                                     shape)):
            np.testing.assert_array_equal(got, want)
        previous = stamps
