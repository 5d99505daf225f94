"""Sparse targets: small and picklable, rendered bit-identically by every sink, collated in order,
and rendered into torch tensors by the Numba and the scatter paths."""

import pickle

import numpy as np
import pytest

import fastheat
from fastheat._engine.registry import FAMILIES
from fastheat.workloads import coco_like_detections

CORNERNET = dict(num_classes=80, input_size=(511, 511), output_size=(128, 128))
SMALL = dict(num_classes=4, input_size=(96, 120), output_size=(24, 30))
ONE_SHOT = {"corners": fastheat.encode_corners, "cornernet": fastheat.encode_cornernet,
            "centernet": fastheat.encode_centernet,
            "mmdet_centernet": fastheat.encode_mmdet_centernet,
            "mmdet_corner": fastheat.encode_mmdet_corner, "ttfnet": fastheat.encode_ttfnet}
ENCODERS = {"corners": fastheat.CornerEncoder, "cornernet": fastheat.CornerNetEncoder,
            "centernet": fastheat.CenterNetEncoder,
            "mmdet_centernet": fastheat.MmdetCenterNetEncoder,
            "mmdet_corner": fastheat.MmdetCornerEncoder, "ttfnet": fastheat.TTFNetEncoder}


def detections(seed, batch_size=5, **sizes):
    sizes = sizes or SMALL
    rows = coco_like_detections(seed, batch_size=batch_size, num_classes=sizes["num_classes"],
                                input_size=sizes["input_size"], boxes_per_image=6)
    rng = np.random.default_rng(seed)
    extra = np.array([[0, 1, -50.0, -40.0, 10.0, 12.0],  # partly off the map
                      [batch_size - 1, 2, 5.0, 5.0, 5.0, 5.0],  # zero size
                      [0, 3, -4000.0, -3000.0, 5000.0, 6000.0]])  # radius beyond the table
    return rng.permutation(np.vstack([rows, extra]))


def assert_same(got, want):
    assert type(got) is type(want)
    for g, w in zip(got, want):
        g = np.asarray(g)
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_sparse_is_tiny_next_to_the_dense_cornernet_batch():
    batch = coco_like_detections(0)
    dense = fastheat.encode_cornernet(batch, batch_size=49, **CORNERNET)
    sparse = fastheat.encode_cornernet(batch, batch_size=49, **CORNERNET, sparse=True)
    size = len(pickle.dumps(sparse))
    assert size < 0.01 * sum(array.nbytes for array in dense)
    assert size < 60_000  # points in int16 or int32 (~8-16 KB), used slots only (~26 KB)
    assert_same(pickle.loads(pickle.dumps(sparse)).to_dense(), dense)


def test_pickling_restores_every_bit():
    sparse = fastheat.encode_cornernet(detections(2), batch_size=5, **SMALL, sparse=True)
    sparse.slots[2][4, 9] = -0.0  # a nonzero bit pattern in a late slot is kept
    back = pickle.loads(pickle.dumps(sparse))
    assert back.stamps.points.dtype == np.int64 and back.spec == sparse.spec
    np.testing.assert_array_equal(back.stamps.points, sparse.stamps.points)
    for restored, slot in zip(back.slots, sparse.slots):
        assert restored.shape == slot.shape and restored.dtype == slot.dtype
        assert restored.tobytes() == slot.tobytes()
    edge = 2**31 - 2  # the largest coordinates and radii validation lets through fit in int32
    for formula in ("cornernet", "centernet"):
        huge = fastheat.encode_corners([[0, 0, -edge, -edge, edge, edge]], batch_size=1,
                                       num_classes=1, input_size=8, output_size=8,
                                       radius_formula=formula, gaussian_iou=1e-9, sparse=True)
        assert np.abs(huge.stamps.points).max() < 2**31
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(huge)).stamps.points,
                                      huge.stamps.points)


@pytest.mark.parametrize("family", sorted(ONE_SHOT))
def test_to_dense_and_render_equal_the_dense_call(family):
    encode, encoder = ONE_SHOT[family], ENCODERS[family](**SMALL)
    for seed, batch_size in ((1, 5), (2, 3), (3, 7), (4, 1)):  # grow, shrink, grow, shrink
        rows = detections(seed, batch_size)
        want = encode(rows, batch_size=batch_size, **SMALL)
        sparse = pickle.loads(pickle.dumps(encode(rows, batch_size=batch_size, **SMALL, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets) and sparse.family == family
        assert_same(sparse.to_dense(), want)
        assert_same(encoder.render(sparse), want)
        out = tuple(np.full_like(array, 7) for array in want)
        got = sparse.to_dense(out=out)
        assert all(g is o for g, o in zip(got, out))
        assert_same(got, want)


def test_render_checks_family_and_options():
    sparse = fastheat.encode_cornernet(detections(1), batch_size=5, **SMALL, sparse=True)
    with pytest.raises(ValueError, match="cornernet"):
        fastheat.CornerEncoder(**SMALL).render(sparse)
    with pytest.raises(ValueError, match="other num_classes, k than"):
        fastheat.CornerNetEncoder(**{**SMALL, "num_classes": 9}, k=0.5).render(sparse)
    want = sparse.to_dense()  # options that only shaped the stamps do not matter
    relaxed = fastheat.CornerNetEncoder(**SMALL, max_tag_len=64, gaussian_iou=0.5).render(sparse)
    for got, field in zip(relaxed, want):
        np.testing.assert_array_equal(got, field)
    assert repr(sparse) == "SparseTargets(family='cornernet', batch_size=5, points=%d, slots=6)" % (
        len(sparse.stamps.points))
    with pytest.raises(TypeError, match="SparseTargets"):
        fastheat.CornerNetEncoder(**SMALL).render(detections(1))


def test_sparse_and_out_exclude_each_other():
    with pytest.raises(ValueError, match="sparse"):
        fastheat.encode_corners(detections(1), batch_size=5, **SMALL, sparse=True,
                                out=fastheat.encode_corners(detections(1), batch_size=5, **SMALL))
    with pytest.raises(TypeError, match="sparse"):
        fastheat.encode_corners(detections(1), batch_size=5, **SMALL, sparse="yes")


@pytest.mark.parametrize("family", sorted(ONE_SHOT))
def test_collate_per_image_equals_the_whole_batch(family):
    encode = ONE_SHOT[family]
    rows = detections(5, batch_size=6)
    items = []
    for b in range(6):  # as a per-image __getitem__ would: image index 0, batch of 1
        mine = rows[rows[:, 0] == b].copy()
        mine[:, 0] = 0
        items.append(encode(mine, batch_size=1, **SMALL, sparse=True))
    chunks = [fastheat.collate(items[:2]), fastheat.collate(items[2:3]), fastheat.collate(items[3:])]
    for merged in (fastheat.collate(items), fastheat.collate(chunks)):
        assert merged.batch_size == 6
        assert_same(merged.to_dense(), encode(rows, batch_size=6, **SMALL))


def test_collate_rejects_mixed_items():
    a = fastheat.encode_corners(detections(1), batch_size=5, **SMALL, sparse=True)
    b = fastheat.encode_corners(detections(1), batch_size=5, **SMALL, k=0.5, sparse=True)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other k than items\[0\]"):
        fastheat.collate([a, b])
    with pytest.raises(TypeError, match=r"items\[1\]"):
        fastheat.collate([a, "x"])
    with pytest.raises(ValueError, match="at least one"):
        fastheat.collate([])


def test_every_family_has_sparse_targets():
    # a new family of detections: add it to ONE_SHOT and ENCODERS (keypoints: test_keypoints.py)
    assert {name for name, family in FAMILIES.items() if family.takes_detections} == set(ONE_SHOT)


@pytest.mark.parametrize("family", sorted(ONE_SHOT))
@pytest.mark.parametrize("method", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(family, method):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    rows = detections(7, batch_size=4)
    want = ONE_SHOT[family](rows, batch_size=4, **SMALL)
    sparse = ONE_SHOT[family](rows, batch_size=4, **SMALL, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=method)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_same(type(want)(*(tensor.numpy() for tensor in got)), want)
    out = tuple(torch.full(tuple(w.shape), 7, dtype=tensor.dtype) for w, tensor in zip(want, got))
    again = fastheat_torch.to_dense(sparse, out=out, method=method)
    assert all(a is o for a, o in zip(again, out))
    assert_same(type(want)(*(tensor.numpy() for tensor in again)), want)


@pytest.mark.parametrize("method", ["numba", "scatter"])
def test_torch_renders_centernet_options(method):
    """The msra Gaussian (a table kind) and the dense fields (slot arrays) through both paths
    and the Renderer."""
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    options = dict(SMALL, gaussian="msra", gaussian_rad=3, dense_wh=True, cat_spec_wh=True)
    rows = detections(8, batch_size=4)
    want = fastheat.encode_centernet(rows, batch_size=4, **options)
    sparse = pickle.loads(pickle.dumps(fastheat.encode_centernet(rows, batch_size=4, **options,
                                                                 sparse=True)))
    got = fastheat_torch.to_dense(sparse, method=method)
    assert type(got) is type(want) and all(isinstance(t, torch.Tensor) for t in got)
    assert_same(type(want)(*(tensor.numpy() for tensor in got)), want)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for _ in range(3):
        assert_same(type(want)(*(tensor.numpy() for tensor in renderer(sparse))), want)


@pytest.mark.parametrize("method", ["numba", "scatter"])
def test_torch_out_is_checked(method):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    sparse = fastheat.encode_cornernet(detections(3), batch_size=5, **SMALL, sparse=True)
    fresh = fastheat_torch.to_dense(sparse)
    shared = list(tensor.clone() for tensor in fresh)
    shared[5] = shared[4]  # tl_tags and br_tags: one tensor
    with pytest.raises(ValueError, match=r"out\[4\] \(tl_tags\) and out\[5\] \(br_tags\) share memory"):
        fastheat_torch.to_dense(sparse, out=tuple(shared), method=method)
    maps = torch.zeros((2, *fresh[0].shape))
    overlapping = (maps[0], maps[0], *(tensor.clone() for tensor in fresh[2:]))
    with pytest.raises(ValueError, match=r"out\[0\] \(tl_heatmaps\) and out\[1\] \(br_heatmaps\) share memory"):
        fastheat_torch.to_dense(sparse, out=overlapping, method=method)
    grad = (fresh[0].clone().requires_grad_(), *(tensor.clone() for tensor in fresh[1:]))
    with pytest.raises(ValueError, match=r"out\[0\] \(tl_heatmaps\) requires grad"):
        fastheat_torch.to_dense(sparse, out=grad, method=method)


def test_torch_renderer_hands_out_buffers_in_turn():
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    renderer = fastheat_torch.Renderer(buffers=2)
    wants, results = [], []
    for seed, batch_size in ((1, 5), (2, 5), (3, 3), (4, 6)):
        rows = detections(seed, batch_size)
        wants.append(fastheat.encode_cornernet(rows, batch_size=batch_size, **SMALL))
        results.append(renderer(fastheat.encode_cornernet(rows, batch_size=batch_size, **SMALL,
                                                          sparse=True)))
        # batch i is intact until call i + 2
        for got, want in list(zip(results, wants))[-2:]:
            assert_same(type(want)(*(tensor.numpy() for tensor in got)), want)
    assert results[0][0].data_ptr() == results[2][0].data_ptr() != results[1][0].data_ptr()
    with pytest.raises(ValueError, match="buffers"):
        fastheat_torch.Renderer(buffers=0)
    with pytest.raises(TypeError, match="SparseTargets"):
        renderer(torch.zeros(3))
