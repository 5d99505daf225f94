"""Sparse targets are checked at every door into rendering (``check_sparse``): a corrupted field
is a named ``ValueError``/``TypeError`` before anything is written, never a crash, a hang or a
stamp written elsewhere; untouched targets render exactly as before."""

import dataclasses
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fastheat
from fastheat._engine.registry import FAMILIES
from fastheat._engine.sparse_check import OPTIONAL_ARRAYS, check_sparse
from fastheat._engine.stamping import expand_cells
from fastheat._engine.tables import max_merged

try:  # the torch doors are tested where torch is installed (CI: always, test_torch_doors)
    import fastheat.torch
    import torch
except ImportError:
    torch = None
from fastheat.workloads import NUSCENES, coco_like_detections, nuscenes_like_boxes

SMALL = dict(num_classes=4, input_size=(96, 120), output_size=(24, 30))
KEYPOINTS = dict(input_size=(64, 48), heatmap_size=(32, 24), sigma=2.0)


def detections(seed, batch_size=4):
    rows = coco_like_detections(seed, batch_size=batch_size, num_classes=4,
                                input_size=(96, 120), boxes_per_image=5)
    return np.vstack([rows, [[0, 1, -50.0, -40.0, 10.0, 12.0]]])


def keypoints(seed, batch_size=3):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-10, 60, (batch_size, 2, 5, 2)).astype(np.float32)
    return points, (rng.uniform(size=(batch_size, 2, 5)) > 0.2).astype(np.float32)


def sparse_of(kind, seed=0):
    """``(targets, encoder)``: sparse targets of one kind (a family, or a family and option)
    and an encoder for them (``SAMPLES``)."""
    return SAMPLES[kind](seed)


def _detections_sample(encode, encoder, **extra):
    options = dict(SMALL, **extra)
    return lambda seed: (encode(detections(seed), batch_size=4, **options, sparse=True),
                         encoder(**options))


def _keypoints_sample(method):
    options = dict(KEYPOINTS, method=method)
    return lambda seed: (fastheat.encode_keypoints(*keypoints(seed), **options, sparse=True),
                         fastheat.KeypointEncoder(**options))


def _simcc_sample(smoothing):
    options = dict(input_size=(64, 48), sigma=(2.0, 3.0), smoothing_type=smoothing)
    return lambda seed: (fastheat.encode_simcc(*keypoints(seed), **options, sparse=True),
                         fastheat.SimCCEncoder(**options))


def _associative_embedding_sample(use_udp):
    options = dict(input_size=(64, 48), heatmap_size=(32, 24), use_udp=use_udp)
    return lambda seed: (fastheat.encode_associative_embedding(*keypoints(seed), **options,
                                                               sparse=True),
                         fastheat.AssociativeEmbeddingEncoder(**options))


def _centerpoint_sample(seed):
    options = dict(NUSCENES, max_objs=8)
    return (fastheat.encode_centerpoint(nuscenes_like_boxes(seed, batch_size=3, boxes_per_scene=12),
                                        batch_size=3, **options, sparse=True),
            fastheat.CenterPointEncoder(**options))


def _deeplabcut_sample(mode, locref=True):
    options = dict(heatmap_size=(24, 20), stride=4, mode=mode, locref=locref)

    def sample(seed):
        rng = np.random.default_rng(seed)
        keypoints = rng.uniform(-10, 100, (3, 2, 5, 2))
        visible = rng.choice([-1.0, 0.0, 1.0], (3, 2, 5), p=[0.1, 0.1, 0.8])
        return (fastheat.encode_deeplabcut(keypoints, visible, **options, sparse=True),
                fastheat.DeepLabCutEncoder(**options))
    return sample


def _openpose_sample(seed):
    options = dict(limbs=((0, 1), (1, 2), (2, 3)), input_size=(96, 80), stride=8)
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(-10, 100, (3, 2, 4, 2))
    visible = (rng.uniform(size=(3, 2, 4)) > 0.2).astype(np.float64)
    return (fastheat.encode_openpose(keypoints, visible, **options, sparse=True),
            fastheat.OpenPoseEncoder(**options))


#: Every registered family, by kind: ``kind -> seed -> (sparse targets, encoder)``. A new
#: family adds its kinds here (``test_every_family_has_a_sample``).
SAMPLES = {
    "corners": _detections_sample(fastheat.encode_corners, fastheat.CornerEncoder),
    "cornernet": _detections_sample(fastheat.encode_cornernet, fastheat.CornerNetEncoder),
    "centernet": _detections_sample(fastheat.encode_centernet, fastheat.CenterNetEncoder,
                                    dense_wh=True),
    "keypoints-msra": _keypoints_sample("msra"),
    "keypoints-udp": _keypoints_sample("udp"),
    "keypoints-dark": _keypoints_sample("dark"),
    "centerpoint": _centerpoint_sample,
    "simcc-gaussian": _simcc_sample("gaussian"),
    "simcc-standard": _simcc_sample("standard"),
    "associative_embedding-msra": _associative_embedding_sample(False),
    "associative_embedding-udp": _associative_embedding_sample(True),
    "mmdet_centernet": _detections_sample(fastheat.encode_mmdet_centernet,
                                          fastheat.MmdetCenterNetEncoder),
    "mmdet_corner": _detections_sample(fastheat.encode_mmdet_corner, fastheat.MmdetCornerEncoder,
                                       with_guiding_shift=True),
    "ttfnet-gaussian": _detections_sample(fastheat.encode_ttfnet, fastheat.TTFNetEncoder),
    "ttfnet-region": _detections_sample(fastheat.encode_ttfnet, fastheat.TTFNetEncoder,
                                        wh_gaussian=False, wh_agnostic=False),
    "deeplabcut-gaussian": _deeplabcut_sample("gaussian"),
    "deeplabcut-plateau": _deeplabcut_sample("plateau", locref=False),
    "openpose": _openpose_sample,
}
KINDS = sorted(SAMPLES)


def test_every_family_has_a_sample():
    assert {kind.split("-")[0] for kind in SAMPLES} == set(FAMILIES)
    for kind in KINDS:
        targets, encoder = sparse_of(kind)
        assert targets.family == kind.split("-")[0] and len(targets.stamps.points) > 0, kind


def with_stamps(targets, **changes):
    return dataclasses.replace(targets, stamps=dataclasses.replace(targets.stamps, **changes))


def with_point(targets, j, column, value):
    points = targets.stamps.points.copy()
    points[j, column] = value
    return with_stamps(targets, points=points)


def renderings(targets, encoder):
    """Every way into rendering, each a call that must refuse corrupted ``targets``."""
    doors = {
        "to_dense": lambda: targets.to_dense(),
        "render": lambda: encoder.render(targets),
        "collate": lambda: fastheat.collate([targets]),
        "unpickle": lambda: pickle.loads(_unchecked_pickle(targets)),
    }
    if torch is not None:
        doors.update({
            "torch numba": lambda: fastheat.torch.to_dense(targets, method="numba"),
            "torch scatter": lambda: fastheat.torch.to_dense(targets, method="scatter"),
            "Renderer": lambda: fastheat.torch.Renderer(pin_memory=False)(targets),
        })
    return doors


def test_torch_doors():
    """The torch doors are among those tested (a skip here fails CI: FASTHEAT_FAIL_ON_SKIP)."""
    pytest.importorskip("torch")
    assert {"torch numba", "torch scatter", "Renderer"} <= set(renderings(*sparse_of("corners")))


class _Sent:
    """Sparse targets as a worker's ``__reduce__`` would have sent them, corrupted in transit
    (``__reduce__`` checks too: bypass it to test the receiver)."""

    def __init__(self, targets):
        stamps = targets.stamps
        arrays = {name: getattr(stamps, name) for name in OPTIONAL_ARRAYS
                  if getattr(stamps, name) is not None}
        self.args = (targets.family, targets.spec, (stamps.starts, stamps.points,
                     stamps.max_radius, stamps.cells, arrays),
                     targets.slots, [None] * len(targets.slots), np.zeros(0, np.int64),
                     [getattr(slot, "shape", None) for slot in targets.slots])

    def __reduce__(self):
        from fastheat._engine.sparse import _restore

        return _restore, self.args


def _unchecked_pickle(targets):
    return pickle.dumps(_Sent(targets))


def corruptions(targets):
    """``(description, corrupted targets, expected message fragment)`` for every field."""
    stamps, n = targets.stamps, len(targets.stamps.points)
    starts = stamps.starts
    yield "channel beyond", with_point(targets, 0, 1, 10**6), r"points\[0\].*channel 1000000"
    yield "channel -1", with_point(targets, 0, 1, -1), "channel -1"
    yield "map -1", with_point(targets, 0, 0, -1), "map -1"
    yield "map 5", with_point(targets, 0, 0, 5), "map 5"
    yield "x beyond", with_point(targets, n - 1, 2, 2**40), rf"points\[{n - 1}\].*x = "
    yield "y beyond", with_point(targets, 0, 3, -(2**40)), "y = "
    yield "negative radius", with_point(targets, 0, 4, -3), "radius -3"
    yield "max_radius 0", with_stamps(targets, max_radius=0), "max_radius is 0"
    yield "max_radius float", with_stamps(targets, max_radius=2.0), "max_radius must be an int"
    yield "cells negative", with_stamps(targets, cells=-1), "cells must be an int >= 0"
    yield "starts shifted", with_stamps(targets, starts=starts + 1), "starts"
    if targets.slots:  # (without slot arrays, one more empty image is a batch of its own)
        yield "starts extended", with_stamps(targets, starts=np.append(starts, starts[-1])), \
            "slots"
    yield "starts cut", with_stamps(targets, starts=starts[:2]), "starts"
    decreasing = starts.copy()
    decreasing[1] = starts[-1] + 1
    yield "starts decreasing", with_stamps(targets, starts=decreasing), r"starts\[2\]"
    yield "starts empty", with_stamps(targets, starts=starts[:1]), "starts"
    yield "starts float", with_stamps(targets, starts=starts.astype(float)), "starts is float64"
    yield "points float", with_stamps(targets, points=stamps.points.astype(float)), "float64"
    yield "points int32", with_stamps(targets, points=stamps.points.astype(np.int32)), "int32"
    # (int32 points and a list of slots are what unpickling restores: not refused there)
    yield "points transposed", with_stamps(targets, points=stamps.points.T.copy()), "points is"
    yield "points list", with_stamps(targets, points=stamps.points.tolist()), "numpy array"
    for field, (dtype, columns, values) in OPTIONAL_ARRAYS.items():
        array = getattr(stamps, field)
        if array is None:
            yield f"{field} added", with_stamps(targets, **{field: np.zeros(
                (n, columns or 1), dtype)}), f"{field} must be None"
            continue
        yield f"{field} dropped", with_stamps(targets, **{field: None}), \
            f"{field} must be an array"
        yield f"{field} short", with_stamps(targets, **{field: array[1:]}), f"{field} is"
        cast = np.dtype(np.float64 if dtype.kind == "i" else np.int16)
        yield f"{field} cast", with_stamps(targets, **{field: array.astype(cast)}), \
            f"{field} is {cast}"
        if columns is None:
            yield f"{field} narrow", with_stamps(targets, **{field: array[:, :1]}), "columns"
        if values != "any":
            bad = array.copy()
            bad[0, 1] = 2**40 if values == "cells" else np.nan
            yield f"{field} beyond", with_stamps(targets, **{field: bad}), \
                rf"{field}\[0\].*(beyond|not finite)"
    if targets.family == "ttfnet":  # an ellipse's box, around the point's cell
        for field in ("clips", "regions") if targets.spec.wh_gaussian else ("clips",):
            shifted = getattr(stamps, field).copy()
            shifted[0, 0] -= 1
            yield f"{field} asymmetric", with_stamps(targets, **{field: shifted}), \
                rf"{field}\[0\].*ellipse"
    for i, slot in enumerate(targets.slots):
        cut = targets.slots[:i] + (slot[:1],) + targets.slots[i + 1:]
        yield f"slot {i} cut to batch 1", dataclasses.replace(targets, slots=cut), "slots"
        cast = targets.slots[:i] + (slot.astype(np.float64 if slot.dtype != np.float64
                                                else np.float32),) + targets.slots[i + 1:]
        yield f"slot {i} cast", dataclasses.replace(targets, slots=cast), "slots"
    yield "slots missing", dataclasses.replace(targets, slots=targets.slots[:-1] if targets.slots
                                               else (np.zeros(1),)), "slots must be a tuple"
    yield "slots a list", dataclasses.replace(targets, slots=list(targets.slots)), "slots must"
    other = "centernet" if targets.family != "centernet" else "cornernet"
    yield "other family", dataclasses.replace(targets, family=other), "spec|slots|family"
    yield "unknown family", dataclasses.replace(targets, family="nope"), "unknown family"
    yield "spec dtype", dataclasses.replace(
        targets, spec=dataclasses.replace(targets.spec, dtype=np.dtype(np.int64))), "dtype"


@pytest.mark.parametrize("kind", KINDS)
def test_every_corrupted_field_is_refused_at_every_door(kind):
    targets, encoder = sparse_of(kind)
    want = targets.to_dense()
    for name, corrupted, message in corruptions(targets):
        for door, render in renderings(corrupted, encoder).items():
            if door == "unpickle" and name in ("points int32", "slots a list"):
                continue
            with pytest.raises((ValueError, TypeError), match=message) as error:
                render()
            assert "targets" in str(error.value) or "items[0]" in str(error.value), (name, door)
    for got, expected in zip(targets.to_dense(), want):  # the original is untouched, still good
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("kind", KINDS)
def test_good_targets_pass_every_door_unchanged(kind):
    targets, encoder = sparse_of(kind, seed=3)
    want = targets.to_dense()
    check_sparse(targets)
    for door, render in renderings(targets, encoder).items():
        got = render()
        if door in ("collate", "unpickle"):
            got = got.to_dense()
        for g, w in zip(got, want):
            np.testing.assert_array_equal(np.asarray(g), w, err_msg=door)


@pytest.mark.parametrize("smoothing", ["gaussian", "standard"])
def test_simcc_label_points_are_checked(smoothing):
    """Label points (``Stamps``, label kinds): a row beyond ``K``, a radius that is not the
    row's largest offset, a centre the options do not label, two labels of one row."""
    targets, encoder = sparse_of(f"simcc-{smoothing}")
    points = targets.stamps.points
    first = int(np.flatnonzero(points[:, 0] == 0)[0])
    x, reach = points[first, 2], points[first, 4]
    twin = int(np.flatnonzero((points[:, 0] == 0) & (points[:, 1] == points[first, 1]))[1])
    for corrupted in (with_point(targets, first, 3, 5), with_point(targets, first, 3, -1),
                      with_point(targets, first, 4, reach - 1),
                      with_stamps(with_point(with_point(targets, first, 2, -500), first, 4, 595),
                                  max_radius=595),  # (labels 96 cells long)
                      with_point(targets, twin, 3, points[first, 3])):
        for door, render in renderings(corrupted, encoder).items():
            if door != "unpickle":
                with pytest.raises(ValueError, match=r"points\[\d+\].*(label|labels a row)"):
                    render()
    assert x >= 0  # (the sample's first label is on the row)
    zero = fastheat.encode_simcc(np.zeros((1, 0, 3, 2)), input_size=(8, 8), sparse=True)
    check_sparse(zero)  # no instances: label maps without channels pass


def test_out_is_untouched_when_the_targets_are_refused():
    targets, _ = sparse_of("cornernet")
    out = tuple(np.full_like(field, 7) for field in targets.to_dense())
    with pytest.raises(ValueError, match="channel"):
        with_point(targets, 3, 1, 4).to_dense(out=out)
    assert all((field == 7).all() for field in out)


def test_pickling_corrupted_targets_is_refused_where_they_are_made():
    targets, _ = sparse_of("centernet")
    with pytest.raises(ValueError, match=r"pickled targets\.stamps\.points\[0\]"):
        pickle.dumps(with_point(targets, 0, 1, 10**6))


COLUMN_BOUNDS = {0: 2, 1: 4, 4: None}  # map, channel: [0, bound); radius: [0, max_radius]


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 50),
       column=st.integers(0, 4), value=st.integers(-(2**62), 2**62), which=st.integers(0, 10**6))
def test_any_changed_point_is_refused_or_rendered_in_bounds(kind, seed, column, value, which):
    """Whatever value lands in any column of any point, rendering either refuses it with a named
    error or stamps within the maps: a valid-looking change (a cell moved on the map) renders
    exactly what the changed stamps say, never outside them."""
    targets, _ = sparse_of(kind, seed)
    if not len(targets.stamps.points):
        return
    j = which % len(targets.stamps.points)
    corrupted = with_point(targets, j, column, value)
    try:
        check_sparse(corrupted)
    except (ValueError, TypeError) as error:
        assert "targets.stamps." in str(error)  # a named field (the point, or one it now clashes with)
        return
    # accepted: a cell moved (x or y within +-2**31); the maps equal the changed stamps' render
    got = corrupted.to_dense()
    if not max_merged(corrupted.spec.gaussian):  # (added or overwritten in order: rendered only)
        return
    family = FAMILIES[corrupted.family]
    expanded = expand_cells(corrupted.stamps, family.maps, corrupted.spec.map_shape(corrupted.batch_size),
                            corrupted.spec.gaussian, corrupted.spec.dtype)
    for field, (cells, values) in zip(got, expanded):  # what the changed stamps say, only that
        scattered = np.zeros(field.size, field.dtype)
        np.maximum.at(scattered, cells, values)
        np.testing.assert_array_equal(field.ravel(), scattered)


def test_half_precision_tensors_are_widened_exactly():
    torch = pytest.importorskip("torch")
    rows = torch.tensor([[0, 3, 10.0, 20.0, 200.0, 300.0], [0, 1, 50.5, 60.0, 90.0, 75.0]])
    for dtype in (torch.bfloat16, torch.float16):
        half = rows.to(dtype)
        got = fastheat.encode_corners(half, batch_size=1, **SMALL)
        want = fastheat.encode_corners(half.float().numpy(), batch_size=1, **SMALL)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        points = torch.full((1, 1, 2, 2), 10.5, dtype=dtype)
        got = fastheat.encode_keypoints(points, **KEYPOINTS)
        want = fastheat.encode_keypoints(points.float().numpy(), **KEYPOINTS)
        np.testing.assert_array_equal(got.heatmaps, want.heatmaps)
