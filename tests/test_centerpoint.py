"""encode_centerpoint and CenterPointEncoder against the NumPy transcription of mmdetection3d's
CenterHead.get_targets (tests/naive.py), bit for bit; their validation; and what every family
gets from the engine (encoder, out=, sparse targets, collate, torch), for the CenterPoint
family."""

import inspect
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from fastheat.workloads import NUSCENES, nuscenes_like_boxes

SMALL = dict(tasks=(1, 2, 2), point_cloud_range=(-12.8, -9.6, -3.0, 12.8, 9.6, 1.0),
             voxel_size=(0.2, 0.2, 0.5), grid_size=(128, 96, 8), out_size_factor=4)


def assert_identical(got, want):
    """Same type (``CenterPointTargets``), and every field the same dtype, shape and bits."""
    assert type(got) is fastheat.CenterPointTargets
    for name, g, w in zip(got._fields, got, want):
        w = np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape), name
        bits = f"u{g.itemsize}"
        differ = np.argwhere(g.view(bits) != w.view(bits))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def reference(boxes, batch_size, **options):
    """The transcription's targets (of one scene's ``(N, 10)`` rows if ``batch_size`` is
    None, without the batch axis)."""
    if batch_size is None:
        scene = np.asarray(boxes, np.float64).reshape(-1, 10)
        batch = reference(np.hstack([np.zeros((len(scene), 1)), scene]), 1, **options)
        return tuple(field[0] for field in batch)
    with np.errstate(divide="ignore"):  # log(0) of a zero dz, as torch gives it
        return naive.encode_centerpoint(boxes, batch_size, **options)


def assert_like_mmdet3d(boxes, batch_size, **options):
    got = fastheat.encode_centerpoint(boxes, batch_size=batch_size, **options)
    assert_identical(got, reference(boxes, batch_size, **options))
    return got


def edge_boxes(rng, n, batch_size, options):
    """``n`` rows of ``batch_size`` scenes: centres inside the range, beyond it, on cell
    boundaries and borders of the map (within a cell of -1, 0, W and H, where truncation
    decides), degenerate and tiny sizes, huge ones (up to 4 times the map: radii beyond the
    Gaussian tables, which the transcription's whole kernels can still afford), any yaw."""
    pc = np.array(options["point_cloud_range"], np.float64)
    voxel = np.array(options["voxel_size"][:2], np.float64)
    cell = voxel * options["out_size_factor"]
    cells = np.array(options["grid_size"][:2]) // options["out_size_factor"]
    kind = rng.integers(0, 5, (n, 2))
    inside = pc[:2] + rng.uniform(0, 1, (n, 2)) * cells * cell
    beyond = pc[:2] + rng.uniform(-0.5, 1.5, (n, 2)) * cells * cell
    border = pc[:2] + (rng.choice([0, 1], (n, 2)) * cells + rng.choice(
        [-1.0, -0.999, -0.5, -1e-6, 0.0, 1e-6, 0.5, 0.999, 1.0], (n, 2))) * cell
    boundary = pc[:2] + rng.integers(-2, cells + 2, (n, 2)) * cell
    far = rng.uniform(-1e6, 1e6, (n, 2))
    xy = np.choose(kind, [inside, beyond, border, boundary, far])
    size_kind = rng.integers(0, 4, n)[:, None]
    dims = np.choose(size_kind, [rng.uniform(0.1, 15, (n, 3)),
                                 rng.choice([0.0, 1e-30, 1e-4, 0.05], (n, 3)),
                                 rng.uniform(0.5, 4, (n, 3)) * (cells * cell).max(),
                                 rng.uniform(0.0, 3, (n, 3))])
    return np.column_stack([rng.integers(0, batch_size, n),
                            rng.integers(0, sum(options["tasks"]), n), xy,
                            rng.uniform(-5, 3, n), dims, rng.uniform(-10, 10, n),
                            rng.normal(0, 5, (n, 2))])


@st.composite
def scenes(draw):
    """``(boxes, batch_size, options)``: 1 to 4 tasks of 1 to 3 classes, out_size_factor 4 or
    8 (or 1, 2), any map of up to 40 x 40 cells, any range and voxel, norm_bbox both ways,
    few slots (more boxes than max_objs) or many, up to 60 edge boxes."""
    tasks = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=4)))
    factor = draw(st.sampled_from([4, 8, 4, 8, 1, 2]))
    cells = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    grid = (cells[0] * factor, cells[1] * factor) + draw(st.sampled_from([(), (40,)]))
    low = (draw(st.floats(-80, 10)), draw(st.floats(-80, 10)))
    voxel = (draw(st.floats(0.01, 2)), draw(st.floats(0.01, 2)), 0.2)
    pc_range = (low[0], low[1], -5.0, low[0] + grid[0] * voxel[0], low[1] + grid[1] * voxel[1], 3.0)
    options = dict(tasks=tasks, point_cloud_range=pc_range, voxel_size=voxel, grid_size=grid,
                   out_size_factor=factor, gaussian_overlap=draw(st.sampled_from([0.1, 0.3, 0.7])),
                   min_radius=draw(st.sampled_from([2, 0, 1, 6])),
                   max_objs=draw(st.sampled_from([500, 1, 3, 8])),
                   dense_reg=draw(st.sampled_from([1, 1, 2])), norm_bbox=draw(st.booleans()))
    batch_size = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    boxes = edge_boxes(rng, draw(st.integers(0, 60)), batch_size, options)
    return boxes, batch_size, options


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenes())
def test_random_scenes(scene):
    boxes, batch_size, options = scene
    assert_like_mmdet3d(boxes, batch_size, **options)


@pytest.mark.parametrize("norm_bbox", [True, False])
@pytest.mark.parametrize("factor", [4, 8])
def test_nuscenes_batches(rng, norm_bbox, factor):
    options = dict(NUSCENES, out_size_factor=factor, norm_bbox=norm_bbox)
    for seed in range(3):
        boxes = nuscenes_like_boxes(seed, batch_size=3)
        got = assert_like_mmdet3d(boxes, 3, **options)
        assert got.heatmap.shape == (3, 10, 1024 // factor, 1024 // factor)
        assert got.anno_box.shape == (3, 6, 500, 10) and got.mask.sum() > 300
    boxes = edge_boxes(rng, 400, 3, options)
    assert_like_mmdet3d(boxes, 3, **options)


def one_scene(*rows):
    """``(N, 10)`` rows ``(label, x, y, z, dx, dy, dz, yaw, vx, vy)``."""
    return np.array(rows, np.float64).reshape(-1, 10)


def test_slots_follow_classes_within_each_task():
    """Slot k of a task is the k-th box of its classes' boxes regrouped class by class; the
    max_objs cap applies before boxes are skipped (an off-map box still takes its slot)."""
    boxes = one_scene(*[(label, x, 0.0, 0.0, 2.0, 2.0, 1.5, 0.0, 0.0, 0.0)
                        for label, x in [(2, 1.0), (1, 2.0), (0, 3.0), (2, -99.0), (1, 4.0),
                                         (2, 5.0), (1, -6.0)]])
    targets = assert_like_mmdet3d(boxes, None, **SMALL, max_objs=3)
    # task 1 (labels 1, 2): labels 1 at x = 2, 4, -6, then label 2 at x = 1, -99, 5: cap 3
    x_cell = (np.float32(np.float32(np.float32([2.0, 4.0, -6.0]) + np.float32(12.8))
                         / np.float32(0.2)) / np.float32(4)).astype(int)
    np.testing.assert_array_equal(targets.ind[1], 12 * 32 + x_cell)
    np.testing.assert_array_equal(targets.mask, [[1, 0, 0], [1, 1, 1], [0, 0, 0]])
    # task 1 of labels 2 at x = -99 (off the map) and 1, then label 1 at x = 2: with 2
    # slots the box at x = 1 is capped away although the one before it is skipped
    skipped = assert_like_mmdet3d(boxes[[3, 0, 1]], None, **SMALL, max_objs=2)
    np.testing.assert_array_equal(skipped.mask, [[0, 0], [1, 0], [0, 0]])
    assert not skipped.anno_box[1, 1].any() and skipped.ind[1, 1] == 0
    assert not skipped.heatmap[2].any() and skipped.heatmap[1].max() == 1.0


def test_centres_truncate_toward_zero():
    """A centre in (-1, 0) cells lands in cell 0 and is kept; -1 and W are off the map."""
    cell = 0.2 * 4
    xs = [-12.8 - 0.5 * cell, -12.8 - cell, -12.8 + 32 * cell - 0.01, -12.8 + 32 * cell]
    boxes = one_scene(*[(0, x, 0.0, 0.0, 2.0, 2.0, 1.5, 0.3, 0.0, 0.0) for x in xs])
    targets = assert_like_mmdet3d(boxes, None, **SMALL)
    np.testing.assert_array_equal(targets.mask[0, :4], [1, 0, 1, 0])
    assert targets.ind[0, 0] == 12 * 32 and targets.ind[0, 2] == 12 * 32 + 31
    assert -1 < targets.anno_box[0, 0, 0] < 0  # the offset from cell 0 is negative
    assert targets.heatmap[0, 12, 0] == 1.0


def test_degenerate_boxes_and_norm_bbox():
    """Zero length or width skips a box (a subnormal one does not); a zero height keeps it,
    with log(0) = -inf under norm_bbox, as mmdetection3d's torch code gives."""
    rows = [(0, 1.0, 1.0, -1.0, dx, dy, dz, 1.0, 0.5, -0.5)
            for dx, dy, dz in [(0.0, 2.0, 1.0), (2.0, 0.0, 1.0), (1e-45, 2.0, 1.0),
                               (2.0, 2.0, 0.0), (1e-30, 1e-30, 1e-30)]]
    targets = assert_like_mmdet3d(one_scene(*rows), None, **SMALL)
    np.testing.assert_array_equal(targets.mask[0, :5], [0, 0, 1, 1, 1])
    assert targets.anno_box[0, 3, 5] == -np.inf and targets.anno_box[0, 3, 2] == -1.0
    raw = assert_like_mmdet3d(one_scene(*rows), None, **SMALL, norm_bbox=False)
    np.testing.assert_array_equal(raw.anno_box[0, 3, 3:6], [2.0, 2.0, 0.0])
    assert raw.anno_box[0, 4, 3] == np.float32(1e-30)


def test_radius_is_mmdet3d_float32_formula():
    """The radius (and so the heatmap) follows gaussian_radius in float32 with
    ``max(min_radius, int(r))``: a box's Gaussian spans exactly that radius."""
    for dx, dy in [(4.0, 1.8), (12.0, 3.0), (0.6, 0.6), (40.0, 40.0), (100.0, 2.0)]:
        for min_radius in (0, 2, 9):
            boxes = one_scene((0, 0.1, 0.1, 0.0, dx, dy, 1.0, 0.0, 0.0, 0.0))
            options = dict(SMALL, min_radius=min_radius)
            targets = assert_like_mmdet3d(boxes, None, **options)
            length = np.float32(np.float32(dx) / np.float32(0.2)) / np.float32(4)
            width = np.float32(np.float32(dy) / np.float32(0.2)) / np.float32(4)
            radius = max(min_radius, int(naive.centerpoint_radius((width, length), 0.1)))
            row = targets.heatmap[0, 12]
            assert np.flatnonzero(row).min() == max(16 - radius, 0) or radius == 0


def test_tasks_split_into_mmdet3d_lists():
    boxes = nuscenes_like_boxes(3, batch_size=2, boxes_per_scene=80)
    targets = fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES)
    heatmaps, anno_boxes, inds, masks = targets.per_task(NUSCENES["tasks"])
    assert [h.shape[1] for h in heatmaps] == list(NUSCENES["tasks"])
    for b in range(2):
        mine = boxes[boxes[:, 0] == b]
        with np.errstate(divide="ignore"):
            want = naive.centerpoint_scene(
                mine[:, 2:], mine[:, 1].astype(int).tolist(), NUSCENES["tasks"],
                NUSCENES["point_cloud_range"], NUSCENES["voxel_size"], NUSCENES["grid_size"],
                8, 0.1, 2, 500, True)
        for got, lists in zip((heatmaps, anno_boxes, inds, masks), want):
            for t, expected in enumerate(lists):
                assert got[t][b].tobytes() == expected.tobytes()
    single = fastheat.encode_centerpoint(boxes[boxes[:, 0] == 1, 1:], batch_size=None,
                                         **NUSCENES)
    for whole, one in zip(targets.per_task(NUSCENES["tasks"]),
                          single.per_task(NUSCENES["tasks"])):
        for w, o in zip(whole, one):
            assert w[1].tobytes() == o.tobytes()
    with pytest.raises(ValueError, match="do not match"):
        targets.per_task((1, 2, 2, 1, 4))
    with pytest.raises(ValueError, match="tasks"):
        targets.per_task(())


def test_single_scene_form_and_input_types():
    boxes = nuscenes_like_boxes(1, batch_size=1)
    batch = fastheat.encode_centerpoint(boxes, batch_size=1, **NUSCENES)
    for scene in (boxes[:, 1:], boxes[:, 1:].astype(np.float32).tolist()):
        single = fastheat.encode_centerpoint(scene, batch_size=None, **NUSCENES)
        assert_identical(single, tuple(field[0] for field in batch))
    encoder = fastheat.CenterPointEncoder(**NUSCENES)
    assert_identical(encoder(boxes[:, 1:], None), tuple(field[0] for field in batch))
    torch = pytest.importorskip("torch")
    tensor = torch.tensor(boxes, requires_grad=True)
    assert_identical(fastheat.encode_centerpoint(tensor, batch_size=1, **NUSCENES), batch)
    empty = fastheat.encode_centerpoint([], batch_size=2, **SMALL)
    assert not any(field.any() for field in empty) and empty.heatmap.shape == (2, 5, 24, 32)


def garbage(result):
    """Arrays of ``result``'s shapes and dtypes, full of 7s (a tuple)."""
    return tuple(np.full_like(array, 7) for array in result)


BATCHES = [2, 2, 5, 1, 3, 3, 1, 4]  # grow, shrink, grow again


@pytest.mark.parametrize("threads", [None, 1, 2])
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, threads):
    options = dict(SMALL, min_radius=1, max_objs=6)
    encoder = fastheat.CenterPointEncoder(**options, num_threads=threads)
    kept = []
    for call, batch_size in enumerate(BATCHES):
        boxes = edge_boxes(rng, [0, 10 * batch_size, 3][call % 3], batch_size, options)
        fresh = assert_like_mmdet3d(boxes, batch_size, **options)
        copy = call % 3 == 2
        got = encoder(boxes, batch_size, copy=copy)
        assert_identical(got, fresh)
        assert got.heatmap.flags.writeable == copy
        for array, want in kept:  # the caller's arrays of the previous call are untouched
            np.testing.assert_array_equal(array, want)
        kept = [(array, array.copy()) for array in (got if copy else got[1:])]

        out = garbage(fresh)
        if call % 2:
            out = fastheat.CenterPointTargets(*out)
        result = fastheat.encode_centerpoint(boxes, batch_size=batch_size, **options, out=out,
                                             num_threads=threads)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = pickle.loads(pickle.dumps(
            fastheat.encode_centerpoint(boxes, batch_size=batch_size, **options, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets) and sparse.family == "centerpoint"
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        assert all(r is o for r, o in zip(sparse.to_dense(out), out))
        assert_identical(fastheat.CenterPointTargets(*out), fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)

        if call == 5:  # a failed call leaves the encoder usable
            bad = boxes.copy()
            bad[-1, 5] = -1.0
            with pytest.raises(ValueError, match=f"boxes row {len(bad) - 1} has a negative"):
                encoder(bad, batch_size)


def test_sparse_targets_are_small_and_collate_per_scene():
    boxes = nuscenes_like_boxes(0)
    want = fastheat.encode_centerpoint(boxes, batch_size=4, **NUSCENES)
    items = [fastheat.encode_centerpoint(boxes[boxes[:, 0] == b, 1:], batch_size=None,
                                         **NUSCENES, sparse=True) for b in range(4)]
    for item in items:
        assert len(pickle.dumps(item)) < 10_000  # 120 boxes: the budget per scene
    chunks = [fastheat.collate(items[:1]), fastheat.collate(items[1:])]
    for merged in (fastheat.collate(items), fastheat.collate(chunks),
                   pickle.loads(pickle.dumps(fastheat.collate(items)))):
        assert_identical(merged.to_dense(), want)
        assert_identical(fastheat.CenterPointEncoder(**NUSCENES).render(merged), want)
    # options that only shaped the stamps and slots: another encoder renders them
    other = dict(NUSCENES, min_radius=5, norm_bbox=False)
    sparse = fastheat.encode_centerpoint(boxes, batch_size=4, **other, sparse=True)
    assert_identical(fastheat.CenterPointEncoder(**NUSCENES).render(sparse),
                     fastheat.encode_centerpoint(boxes, batch_size=4, **other))
    coarse = fastheat.encode_centerpoint(boxes, batch_size=4, **dict(NUSCENES, out_size_factor=4),
                                         sparse=True)
    with pytest.raises(ValueError, match="other output_size than this CenterPointEncoder's"):
        fastheat.CenterPointEncoder(**NUSCENES).render(coarse)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other"):
        fastheat.collate([items[0], coarse])


@pytest.mark.parametrize("render", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(render):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    boxes = nuscenes_like_boxes(2, batch_size=2)
    want = fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES)
    sparse = fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=render)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_identical(fastheat.CenterPointTargets(*(tensor.numpy() for tensor in got)), want)
    lists = fastheat.CenterPointTargets(*got).per_task(NUSCENES["tasks"])
    assert all(isinstance(tensor, torch.Tensor) for field in lists for tensor in field)
    assert torch.equal(lists[0][1], torch.from_numpy(want.heatmap[:, 1:3]))


BOX = [0, 0, 1.0, 1.0, -1.0, 2.0, 2.0, 1.5, 0.1, 0.0, 0.0]


@pytest.mark.parametrize("value, column, match", [
    (np.nan, 4, "row 1 is not finite"),
    (np.inf, 9, "row 1 is not finite"),
    (0.5, 0, "row 1 has a batch index that is not a whole number"),
    (2, 0, r"row 1 has a batch index outside \[0, 2\)"),
    (-1, 1, r"row 1 has a label outside \[0, sum\(tasks\)\) = \[0, 5\)"),
    (5, 1, r"row 1 has a label outside"),
    (1.5, 1, "row 1 has a label that is not a whole number"),
    (1e39, 2, "row 1 has a value that overflows float32"),
    (-1e-3, 5, "row 1 has a negative size"),
    (-2.0, 6, "row 1 has a negative size"),
    (-0.5, 7, "row 1 has a negative size"),
    (1e36, 6, "row 1 has dx or dy beyond 2147483648 heatmap cells"),
])
def test_bad_boxes_name_the_first_offending_row(value, column, match):
    boxes = np.array([BOX, BOX, BOX])
    boxes[1, column] = value
    boxes[2, 4] = np.nan  # a later bad row is not the one named
    out = garbage(fastheat.encode_centerpoint(boxes[:1], batch_size=2, **SMALL))
    with pytest.raises(ValueError, match=f"boxes {match}"):
        fastheat.encode_centerpoint(boxes, batch_size=2, **SMALL, out=out)
    assert all((array == 7).all() for array in out)
    named = match.replace("row 1", r"row 1 \(image 'a' \(batch index 0\)\)")
    with pytest.raises(ValueError, match=named if column > 0 else match):
        fastheat.encode_centerpoint(boxes, batch_size=2, **SMALL, image_ids=["a", "b"])


@pytest.mark.parametrize("boxes, batch_size, error, match", [
    (np.zeros((2, 10)), 1, ValueError, r"boxes must be 2-D with 11 columns \(batch_index"),
    (np.zeros((2, 11)), None, ValueError, r"boxes must be 2-D with 10 columns \(label"),
    (np.zeros(11), 1, ValueError, "boxes must be 2-D"),
    (np.zeros((2, 11), bool), 1, TypeError, "boxes must hold real numbers"),
    ([[1, 2], [3]], 1, ValueError, "boxes must be an"),
    (np.zeros((0, 11)), 0, ValueError, "batch_size must be >= 1"),
    (np.zeros((0, 11)), 1.0, TypeError, "batch_size must be an integer"),
])
def test_bad_shapes_and_batch_sizes(boxes, batch_size, error, match):
    with pytest.raises(error, match=match):
        fastheat.encode_centerpoint(boxes, batch_size=batch_size, **SMALL)


@pytest.mark.parametrize("options, error, match", [
    (dict(tasks=()), ValueError, "tasks must be a non-empty sequence"),
    (dict(tasks=3), ValueError, "tasks must be a non-empty sequence"),
    (dict(tasks=(1, 0)), ValueError, r"tasks\[1\] must be >= 1"),
    (dict(tasks=(1, 2.0)), TypeError, r"tasks\[1\] must be an integer"),
    (dict(tasks=(1, -2)), ValueError, r"tasks\[1\] must be >= 1"),
    (dict(voxel_size=(0.2, 0.0, 0.5)), ValueError, r"voxel_size\[1\] must be > 0"),
    (dict(voxel_size=(-0.2, 0.2)), ValueError, r"voxel_size\[0\] must be > 0"),
    (dict(voxel_size=(1e-50, 0.2)), ValueError, r"voxel_size\[0\] must be > 0 \(in float32\)"),
    (dict(voxel_size=(0.2,)), TypeError, "voxel_size must be a sequence of 2 or 3"),
    (dict(voxel_size=(0.2, np.nan)), ValueError, r"voxel_size\[1\] must be finite"),
    (dict(point_cloud_range=(0, 0, 0, 10, 0, 1)), ValueError, "y range"),
    (dict(point_cloud_range=(5, 0, 0, 1, 10, 1)), ValueError, "each max > its min"),
    (dict(point_cloud_range=(0, 0, 3, 10, 10, 3)), ValueError, "z range"),
    (dict(point_cloud_range=(0, 0, 0, 10, 10)), TypeError, "point_cloud_range must be a "),
    (dict(point_cloud_range=(0, 0, 0, 1e39, 10, 1)), ValueError, "overflows float32"),
    (dict(grid_size=(128, 98, 8)), ValueError, r"grid_size\[1\] = 98 is not divisible by "
                                               "out_size_factor=4"),
    (dict(grid_size=(130, 96)), ValueError, r"grid_size\[0\] = 130 is not divisible"),
    (dict(grid_size=(128,)), TypeError, "grid_size must be a sequence of 2 or 3 integers"),
    (dict(grid_size=(128, 0)), ValueError, r"grid_size\[1\] must be >= 1"),
    (dict(out_size_factor=0), ValueError, "out_size_factor must be >= 1"),
    (dict(gaussian_overlap=1.0), ValueError, r"gaussian_overlap must be in \(0, 1\)"),
    (dict(min_radius=-1), ValueError, "min_radius must be >= 0"),
    (dict(max_objs=0), ValueError, "max_objs must be >= 1"),
    (dict(dense_reg=0), ValueError, "dense_reg must be >= 1"),
    (dict(norm_bbox=1), TypeError, "norm_bbox must be True or False"),
    (dict(sigma=2), TypeError, "sigma"),
])
def test_bad_options_are_named(options, error, match):
    for call in (lambda: fastheat.encode_centerpoint(np.array([BOX]), batch_size=1,
                                                     **{**SMALL, **options}),
                 lambda: fastheat.CenterPointEncoder(**{**SMALL, **options})):
        with pytest.raises(error, match=match):
            call()


def test_bad_out_is_named_and_left_untouched():
    boxes = nuscenes_like_boxes(0, batch_size=2, boxes_per_scene=10)
    fields = fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES)
    for out, error, match in [
        (garbage(fields)[:3], TypeError, "out must be a tuple of 4 numpy arrays"),
        ((*garbage(fields)[:2], np.zeros((2, 6, 500), np.int32), garbage(fields)[3]),
         TypeError, r"out\[2\] \(ind\) has dtype"),
        ((*garbage(fields)[:3], np.zeros((2, 2, 500), np.uint8)), ValueError,
         r"out\[3\] \(mask\) has shape"),
    ]:
        with pytest.raises(error, match=match):
            fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES, out=out)
    with pytest.raises(ValueError, match="exclude each other"):
        fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES, out=garbage(fields),
                                    sparse=True)


def test_signatures_and_missing_options():
    function = inspect.signature(fastheat.encode_centerpoint)
    encoder = inspect.signature(fastheat.CenterPointEncoder)
    options = ["tasks", "point_cloud_range", "voxel_size", "grid_size", "out_size_factor",
               "gaussian_overlap", "min_radius", "max_objs", "dense_reg", "norm_bbox"]
    assert list(function.parameters) == ["boxes", "batch_size", *options, "out", "sparse",
                                         "image_ids", "num_threads"]
    assert list(encoder.parameters) == [*options, "num_threads"]
    defaults = {name: p.default for name, p in function.parameters.items()}
    assert {name: defaults[name] for name in options[4:]} == dict(
        out_size_factor=8, gaussian_overlap=0.1, min_radius=2, max_objs=500, dense_reg=1,
        norm_bbox=True)
    assert function.return_annotation is fastheat.CenterPointTargets
    for required in options[:4]:
        with pytest.raises(TypeError, match=f"missing required option '{required}'"):
            fastheat.CenterPointEncoder(**{o: v for o, v in SMALL.items() if o != required})


def test_pickled_encoder_profile_stages_and_warmup():
    boxes = nuscenes_like_boxes(4, batch_size=2, boxes_per_scene=30)
    encoder = fastheat.CenterPointEncoder(**NUSCENES)
    want = encoder(boxes, 2, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(boxes, 2), want)
    assert_identical(clone(boxes, 2), fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES))
    with fastheat.profile_stages() as times:
        fastheat.encode_centerpoint(boxes, batch_size=2, **NUSCENES)
        encoder(boxes, 2)
    assert set(times) == {"check", "pass", "stamp", "outputs"}
    assert fastheat.warmup(num_threads=1) >= 0
