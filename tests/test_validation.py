"""Every bad input raises a clear TypeError/ValueError, and ``out`` is left untouched."""

import warnings

import numpy as np
import pytest

import fastheat
from fastheat._engine import validate as _validate

GOOD = dict(batch_size=2, num_classes=3, input_size=(64, 80), output_size=(16, 20))
ROW = [1, 2, 10.0, 12.0, 30.0, 40.0]


def encode(detections=(ROW,), **changes):
    return fastheat.encode_corners(np.array(detections) if isinstance(detections, tuple)
                                   else detections, **{**GOOD, **changes})



@pytest.mark.parametrize("detections, error, match", [
    (np.zeros((3, 5)), ValueError, "6 columns"),
    (np.zeros((2, 6, 1)), ValueError, "2-D"),
    (np.zeros(6), ValueError, "2-D"),
    (np.array([["a"] * 6]), TypeError, "real numbers"),
    (np.array([ROW], dtype=object), TypeError, "real numbers"),
    (np.array([ROW], dtype=complex), TypeError, "real numbers"),
    (np.ones((1, 6), bool), TypeError, "real numbers"),
    ([[1, 2, 3], [1, 2]], ValueError, r"\(N, 6\)"),
])
def test_detections_shape_and_type(detections, error, match):
    with pytest.raises(error, match=match):
        encode(detections)


@pytest.mark.parametrize("bad_row, match", [
    ([0, 0, np.nan, 1, 2, 3], "row 3 is not finite"),
    ([0, 0, 1, 1, np.inf, 3], "row 3 is not finite"),
    ([0.5, 0, 1, 1, 2, 3], "row 3 has a batch index that is not a whole number"),
    ([2, 0, 1, 1, 2, 3], r"row 3 has a batch index outside \[0, 2\)"),
    ([-1, 0, 1, 1, 2, 3], r"row 3 has a batch index outside"),
    ([0, 1.25, 1, 1, 2, 3], "row 3 has a category that is not a whole number"),
    ([0, 3, 1, 1, 2, 3], r"row 3 has a category outside \[0, 3\)"),
    ([0, -1, 1, 1, 2, 3], "row 3 has a category outside"),
    ([0, 0, 5, 1, 4.9, 3], "row 3 has x2 < x1"),
    ([0, 0, 1, 5, 2, 4], "row 3 has y2 < y1"),
    ([0, 0, 1, 1, 2**34, 3], r"row 3 has coordinates beyond"),
    ([0, 0, -(2**34), 1, 2, 3], r"row 3 has coordinates beyond"),
    ([0, 0, -1e308, 1, 1e308, 3], r"row 3 has coordinates beyond"),  # x2 - x1 overflows
])
def test_detections_rows_name_the_first_bad_row(bad_row, match):
    rows = np.array([ROW] * 6)
    rows[3] = bad_row
    rows[5] = bad_row
    with pytest.raises(ValueError, match=match):
        encode(rows)


@pytest.mark.parametrize("bad, want", [
    ({5: (2, np.nan), 2: (1, 7)}, r"row 2 has a category outside"),
    ({4: (0, 9), 1: (4, 1.0)}, r"row 1 has x2 < x1"),
    ({3: (1, 0.5), 0: (5, 1e300)}, r"row 0 has coordinates beyond"),
    ({3: (1, 0.5), 5: (0, -1)}, r"row 3 has a category that is not a whole number"),
    ({2: (0, np.inf)}, r"row 2 is not finite"),  # also a bad batch index: first reason wins
])
def test_detections_name_the_lowest_bad_row_over_all_checks(bad, want):
    rows = np.array([ROW] * 6)
    for row, (column, value) in bad.items():
        rows[row, column] = value
    with pytest.raises(ValueError, match=want):
        encode(rows)


@pytest.mark.parametrize("row", [[0, 0, 1e307, 1, 1.5e308, 3], [0, 0, -1e308, 1, 1e308, 3]])
def test_detections_overflowing_when_scaled(row):
    """x * ratio and (x2 - x1) * ratio overflow to inf: caught quietly, never NaN output."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="row 0 has coordinates beyond"):
            encode(np.array([row]), input_size=(1, 1))


def test_torch_detections():
    torch = pytest.importorskip("torch")
    want = encode()
    for tensor in (torch.tensor([ROW], requires_grad=True),
                   torch.tensor([ROW], dtype=torch.float32), torch.tensor([ROW]).long()):
        np.testing.assert_array_equal(encode(tensor), want)
    targets = fastheat.encode_centernet(torch.tensor([ROW], requires_grad=True), **GOOD)
    np.testing.assert_array_equal(targets.hm, fastheat.encode_centernet(np.array([ROW]), **GOOD).hm)


def test_zero_size_and_off_image_boxes_are_valid():
    tl, br = encode(np.array([[0, 0, 5, 5, 5, 5], [1, 2, -500, -500, -400, -400],
                              [1, 1, 1000, 1000, 5000, 5000]]))
    assert tl[0, 0, 1, 1] == 1 and not tl[1].any() and not br[1].any()


@pytest.mark.parametrize("name, value, error", [
    ("batch_size", 0, ValueError), ("batch_size", 2.0, TypeError), ("batch_size", "2", TypeError),
    ("batch_size", True, TypeError), ("num_classes", -3, ValueError), ("num_classes", 3.5, TypeError),
    ("num_classes", 2**31, ValueError),
    ("input_size", (0, 64), ValueError), ("input_size", (64.0, 64), TypeError),
    ("input_size", 64.0, TypeError), ("input_size", True, TypeError), ("input_size", (64, 64, 3), TypeError),
    ("input_size", {64, 80}, TypeError), ("input_size", np.array(64), TypeError),
    ("input_size", np.array([[64, 80]]), TypeError), ("input_size", (4, 2**31), ValueError),
    ("output_size", (16, -1), ValueError), ("output_size", "ab", TypeError),
    ("output_size", (2**31, 20), ValueError),
    ("gaussian_iou", 0.0, ValueError), ("gaussian_iou", 1.0, ValueError),
    ("gaussian_iou", np.nan, ValueError), ("gaussian_iou", "0.3", TypeError),
    ("gaussian_rad", -2, ValueError), ("gaussian_rad", 2.5, TypeError),
    ("gaussian_rad", 2**40, ValueError),
    ("delte", 0, ValueError), ("delte", -6, ValueError), ("delte", np.inf, ValueError),
    ("delte", None, TypeError), ("delte", 1e300, ValueError),
    ("k", 0.0, ValueError), ("k", np.nan, ValueError), ("k", 1e300, ValueError),
    ("dtype", np.float16, TypeError), ("dtype", np.int32, TypeError), ("dtype", "banana", TypeError),
    ("radius_formula", "mmdet", ValueError), ("radius_formula", [], ValueError),
    ("radius_formula", None, ValueError), ("min_radius", -1, ValueError),
    ("num_threads", 0, ValueError), ("num_threads", 1.5, TypeError),
])
def test_options_are_checked(name, value, error):
    with pytest.raises(error, match=name):
        encode(**{name: value})


@pytest.mark.parametrize("size", [[64, 80], np.array([64, 80]), np.array([64, 80], np.uint16)])
def test_sizes_as_lists_and_arrays(size):
    np.testing.assert_array_equal(encode(input_size=size), encode())


def test_largest_delte_gives_finite_maps():
    tl, br = encode(delte=1e150)
    assert np.isfinite(tl).all() and tl.max() == 1 and (tl > 0).sum() == 1


def encode_targets(encoder, detections, **changes):
    """``encoder`` is encode_corners, encode_cornernet, encode_centernet or CornerEncoder."""
    options = {**GOOD, **changes}
    if encoder is fastheat.CornerEncoder:
        batch_size = options.pop("batch_size")
        return encoder(**options)(detections, batch_size)
    return encoder(detections, **options)


ENCODERS = [fastheat.encode_corners, fastheat.CornerEncoder, fastheat.encode_cornernet,
            fastheat.encode_centernet]


@pytest.mark.parametrize("encoder", ENCODERS)
def test_batch_larger_than_memory(encoder):
    with pytest.raises(ValueError, match=r"batch_size=1000000000000.* GiB .*physical memory"):
        encode_targets(encoder, np.array([ROW]), batch_size=10**12)


@pytest.mark.parametrize("encoder, slots", [(fastheat.encode_cornernet, "max_tag_len"),
                                            (fastheat.encode_centernet, "max_objs")])
def test_slots_larger_than_memory(encoder, slots):
    with pytest.raises(ValueError, match=rf"^batch_size=2 of \d x 3 x 16 x 20 maps and "
                                         rf"{slots}=1000000000000 slots needs"):
        encoder(np.array([ROW]), **GOOD, **{slots: 10**12})


@pytest.mark.parametrize("encoder", ENCODERS)
def test_memory_limit_counts_every_output(encoder, monkeypatch):
    """Maps (and slots) of the batch: the limit is checked exactly, before allocating."""
    map_bytes = {fastheat.encode_corners: 2 * 4, fastheat.CornerEncoder: 2 * 4,
                 fastheat.encode_cornernet: 2 * 4, fastheat.encode_centernet: 4}[encoder]
    slot_bytes = {fastheat.encode_cornernet: 33 * 128 + 4, fastheat.encode_centernet: 25 * 128}
    needed = 2 * (map_bytes * 3 * 16 * 20 + slot_bytes.get(encoder, 0))
    monkeypatch.setattr(_validate, "memory_limit", lambda: (needed, "test memory"))
    encode_targets(encoder, np.array([ROW]))
    monkeypatch.setattr(_validate, "memory_limit", lambda: (needed - 1, "test memory"))
    with pytest.raises(ValueError, match=rf"batch_size=2.* \({needed} bytes\) .* test memory"):
        encode_targets(encoder, np.array([ROW]))


def test_memory_limit_skipped_with_out(monkeypatch):
    monkeypatch.setattr(_validate, "memory_limit", lambda: (0, "test memory"))
    encode(out=good_out())


def test_memory_limit_without_sysconf(monkeypatch):
    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(_validate.os, "sysconf", no_sysconf)
    assert _validate.memory_limit.__wrapped__() == (2**63 - 1, "the largest possible array")


def test_warmup_accepts_one_dtype():
    assert fastheat.warmup("float32", num_threads=1) >= 0
    assert fastheat.warmup(np.float64, num_threads=1) >= 0
    with pytest.raises(TypeError, match="dtype"):
        fastheat.warmup("float16", num_threads=1)


def good_out(dtype=np.float32):
    shape = (2, 3, 16, 20)
    return np.full(shape, 5.0, dtype), np.full(shape, 5.0, dtype)


@pytest.mark.parametrize("make_out, error, match", [
    (lambda: good_out()[0], TypeError, "tuple of 2"),
    (lambda: (good_out()[0],), TypeError, "tuple of 2"),
    (lambda: (good_out()[0], [0.0]), TypeError, r"out\[1\] \(br_heatmaps\) must be a numpy.ndarray"),
    (lambda: good_out(np.float64), TypeError, r"out\[0\] \(tl_heatmaps\) has dtype float64"),
    (lambda: (good_out()[0], np.zeros((2, 3, 20, 16), np.float32)), ValueError, r"out\[1\] \(br_heatmaps\) has shape"),
    (lambda: (good_out()[0], np.zeros((2, 3, 16, 40), np.float32)[..., ::2]), ValueError, "C-contiguous"),
    (lambda: (good_out()[0], np.asfortranarray(good_out()[1])), ValueError, "C-contiguous"),
    (lambda: (lambda a: (a, a))(good_out()[0]), ValueError, "share memory"),
])
def test_bad_out(make_out, error, match):
    out = make_out()
    with pytest.raises(error, match=match):
        encode(out=out)


def test_read_only_out():
    out = good_out()
    out[1].flags.writeable = False
    with pytest.raises(ValueError, match=r"out\[1\] \(br_heatmaps\) is not writeable"):
        encode(out=out)


@pytest.mark.parametrize("changes", [
    {"detections": np.array([[0, 9, 1, 1, 2, 2]])}, {"gaussian_iou": 2.0}, {"k": -1.0},
])
def test_out_untouched_on_error(changes):
    out = good_out()
    with pytest.raises(ValueError):
        encode(out=out, **changes)
    assert (out[0] == 5).all() and (out[1] == 5).all()


def test_draw_gaussian_checks():
    heatmap = np.zeros((8, 8), np.float32)
    with pytest.raises(TypeError, match="heatmap"):
        fastheat.draw_gaussian([[0.0]], (1, 1), 1)
    with pytest.raises(TypeError, match="heatmap"):
        fastheat.draw_gaussian(np.zeros((8, 8), np.int32), (1, 1), 1)
    with pytest.raises(ValueError, match="2-D"):
        fastheat.draw_gaussian(np.zeros(8), (1, 1), 1)
    with pytest.raises(TypeError, match="center"):
        fastheat.draw_gaussian(heatmap, (1.5, 1), 1)
    with pytest.raises(TypeError, match="center"):
        fastheat.draw_gaussian(heatmap, 3, 1)
    with pytest.raises(ValueError, match="radius"):
        fastheat.draw_gaussian(heatmap, (1, 1), -1)
    with pytest.raises(ValueError, match="radius must be < 2147483648"):
        fastheat.draw_gaussian(heatmap, (1, 1), 10**400)
    with pytest.raises(ValueError, match="radius must be < 2147483648"):
        fastheat.draw_gaussian(heatmap, (1, 1), 2**31)
    with pytest.raises(ValueError, match=r"center\[0\] must be < 2147483648"):
        fastheat.draw_gaussian(heatmap, (2**31, 1), 1)
    with pytest.raises(ValueError, match=r"center\[1\] must be >= -2147483647"):
        fastheat.draw_gaussian(heatmap, (1, -(2**31)), 1)
    with pytest.raises(ValueError, match="delte must be <= 1e"):
        fastheat.draw_gaussian(heatmap, (1, 1), 1, delte=1e300)
    with pytest.raises(ValueError, match="k"):
        fastheat.draw_gaussian(heatmap, (1, 1), 1, k=0)
    with pytest.raises(ValueError, match="delte"):
        fastheat.draw_gaussian(heatmap, (1, 1), 1, delte=np.inf)
    heatmap.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        fastheat.draw_gaussian(heatmap, (1, 1), 1)
    assert not heatmap.any()


def test_gaussian_radius_checks():
    with pytest.raises(ValueError, match="min_overlap"):
        fastheat.gaussian_radius(3, 4, 1.5)
    with pytest.raises(ValueError, match="height"):
        fastheat.gaussian_radius(-3, 4)
    with pytest.raises(ValueError, match="width"):
        fastheat.gaussian_radius(3, np.nan)
    with pytest.raises(ValueError, match="radius_formula"):
        fastheat.gaussian_radius(3, 4, radius_formula="x")
    with pytest.raises(ValueError, match="radius_formula"):
        fastheat.gaussian_radius(3, 4, radius_formula=[])


def test_gaussian_radius_bounds_sizes():
    """Beyond 1e150 the products overflow (1e200: NaN); up to it the radius is finite."""
    with pytest.raises(ValueError, match="height"):
        fastheat.gaussian_radius(1e200, 1e200)
    with pytest.raises(ValueError, match="width"):
        fastheat.gaussian_radius(np.array([3, 4]), np.array([5, 1e151]))
    for formula in ("cornernet", "centernet"):
        assert np.isfinite(fastheat.gaussian_radius(1e150, 1e150, radius_formula=formula))
