"""encode_openpose and OpenPoseEncoder against the NumPy transcription of lightweight OpenPose's
target generation (tests/naive.py), bit for bit; their validation; and what every family gets
from the engine (encoder, out=, sparse targets, collate, torch), for the OpenPose family."""

import inspect
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from fastheat._engine.family import FAMILIES

#: lightweight OpenPose's BODY_PARTS_KPT_IDS (18 COCO keypoints with the neck)
BODY_PARTS = ((1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4),
              (2, 16), (1, 5), (5, 6), (6, 7), (5, 17), (1, 0), (0, 14), (0, 15), (14, 16),
              (15, 17))
COCO = dict(limbs=BODY_PARTS, input_size=(368, 368))
SMALL = dict(limbs=((0, 1), (1, 2), (2, 0), (3, 3)), input_size=(96, 128), stride=4, sigma=3.0)


def assert_identical(got, want):
    """Same type, fields, dtypes, shapes and bits (``want``: a result or the transcription's
    pair of arrays)."""
    assert type(got) is fastheat.OpenPoseTargets
    for name, g, w in zip(got._fields, got, want):
        assert (g.dtype, g.shape) == (np.float32, w.shape), name
        differ = np.argwhere(g.view(np.uint32) != np.asarray(w, np.float32).view(np.uint32))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def assert_like_openpose(keypoints, visible, limbs, input_size, **options):
    got = fastheat.encode_openpose(keypoints, visible, limbs=limbs, input_size=input_size,
                                   **options)
    options.pop("num_threads", None)
    assert_identical(got, naive.encode_openpose(keypoints, visible, limbs, input_size, **options))
    return got


def edge_keypoints(rng, shape, input_size, stride, sigma):
    """float64 keypoints (``shape`` + (2,)) in input pixels: inside the input, on whole and
    half pixels and cell centres, around the edges and the 4-sigma window's reach off each
    side, far outside, and people with coinciding keypoints (no part affinity)."""
    size = np.array(input_size[::-1], np.float64)
    n = int(np.prod(shape))
    kind = rng.integers(0, 6, (n, 2))
    inside = rng.uniform(0, 1, (n, 2)) * size
    pixels = np.round(rng.uniform(-0.1, 1.1, (n, 2)) * size) + rng.choice([0, 0.5], (n, 2))
    centres = np.floor(rng.uniform(0, 1, (n, 2)) * size / stride) * stride + stride / 2 - 0.5
    edge = rng.choice([0.0, 1.0], (n, 2)) * size + rng.uniform(-stride, stride, (n, 2))
    reach = 4 * sigma + rng.uniform(-stride, stride, (n, 2))
    beyond = np.where(rng.uniform(size=(n, 2)) < 0.5, -reach, size + reach)
    far = rng.uniform(-3.0, 4.0, (n, 2)) * size
    points = np.choose(kind, [inside, pixels, centres, edge, beyond, far]).reshape(*shape, 2)
    same = rng.uniform(size=shape[:2]) < 0.1  # every keypoint of these people in one place
    points[same] = points[same][:, :1]
    return points


def visibilities(rng, shape):
    return rng.choice([1.0, 1.0, 1.0, 2.0, 0.5, 0.0, -1.0], shape)


# --- bit-exact with lightweight OpenPose ---------------------------------------------------------


@st.composite
def openpose_batches(draw):
    """``(keypoints, visible, limbs, input_size, options)``: 1-3 images of 1-6 people of 1-18
    keypoints, random limbs (repeated, reversed, a keypoint with itself), strides 1-9, inputs
    giving non-square maps of 1 to 60 cells a side, sigma and thickness of every size."""
    count = draw(st.integers(1, 18))
    pair = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1))
    limbs = draw(st.lists(pair, min_size=1, max_size=20))
    stride = draw(st.sampled_from([8, 8, 4, 1, 2, 3, 7, 9]))
    input_size = (draw(st.integers(stride, 60 * stride)), draw(st.integers(stride, 60 * stride)))
    options = dict(stride=stride,
                   sigma=draw(st.one_of(st.sampled_from([7.0, 1.0, 2.5]), st.floats(0.3, 20.0))),
                   paf_thickness=draw(st.one_of(st.sampled_from([1, 0, 2]),
                                                st.floats(0.0, 4.0))))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 6)), count)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keypoints = edge_keypoints(rng, shape, input_size, stride, options["sigma"])
    return keypoints, visibilities(rng, shape), limbs, input_size, options


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(openpose_batches())
def test_random_batches(batch):
    keypoints, visible, limbs, input_size, options = batch
    assert_like_openpose(keypoints, visible, limbs, input_size, **options)


def test_coco_batch_crowded(rng):
    """368 -> 46 with 5 to 12 overlapping people: Gaussians added up to the clamp, bands
    overwritten by later people."""
    for people in (5, 12):
        keypoints = rng.uniform(100, 260, (3, people, 18, 2))
        visible = visibilities(rng, (3, people, 18))
        got = assert_like_openpose(keypoints, visible, **COCO)
        assert (got.keypoint_maps[:, :18] == 1).any()  # the clamp was reached
        assert_like_openpose(keypoints, visible, **COCO, num_threads=2)


def test_edges_non_square_maps_strides_and_thickness(rng):
    for input_size, stride in (((8, 8), 8), ((9, 17), 8), ((100, 33), 4), ((31, 70), 1),
                               ((200, 120), 7)):
        for sigma, thickness in ((7.0, 1), (1.0, 0), (3.3, 2.5)):
            keypoints = edge_keypoints(rng, (2, 4, 6), input_size, stride, sigma)
            assert_like_openpose(keypoints, visibilities(rng, (2, 4, 6)), SMALL["limbs"],
                                 input_size, stride=stride, sigma=sigma, paf_thickness=thickness)


def test_openpose_rules():
    """Added and clamped, not max-merged; background ``1 - max``; the later person's vector."""
    two = np.array([[[[100.0, 100.0], [140.0, 100.0]], [[100.0, 100.0], [100.0, 140.0]]]])
    got = assert_like_openpose(two, np.ones((1, 2, 2)), ((0, 1),), (200, 200))
    assert got.keypoint_maps[0, 0, 12, 12] == 1  # two Gaussians summed, clamped
    single = assert_like_openpose(two[:, :1], np.ones((1, 1, 2)), ((0, 1),), (200, 200))
    near = single.keypoint_maps[0, 0, 12, 13]
    assert 0.5 < near < got.keypoint_maps[0, 0, 12, 13] <= 1
    np.testing.assert_array_equal(got.keypoint_maps[0, 2],
                                  1 - got.keypoint_maps[0, :2].max(axis=0))
    assert got.pafs[0, 0, 12, 12] == 0 and got.pafs[0, 1, 12, 12] == 1  # person 1, downwards
    assert single.pafs[0, 0, 12, 12] == 1 and single.pafs[0, 1, 12, 12] == 0
    same = assert_like_openpose(two[:, :, :1].repeat(2, axis=2), np.ones((1, 2, 2)), ((0, 1),),
                                (200, 200))
    assert not same.pafs.any()  # coinciding keypoints: no vector


def test_input_dtypes_and_torch(rng):
    keypoints = edge_keypoints(rng, (2, 3, 5), (96, 128), 4, 3.0).astype(np.float32)
    visible = visibilities(rng, (2, 3, 5))
    want = fastheat.encode_openpose(keypoints, visible, **SMALL)
    for same in (keypoints.astype(np.float64), keypoints.tolist()):
        assert_identical(fastheat.encode_openpose(same, visible.tolist(), **SMALL), want)
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(keypoints).requires_grad_()
    assert_identical(fastheat.encode_openpose(tensor, torch.from_numpy(visible), **SMALL), want)


def test_no_people_and_nan_padding():
    empty = fastheat.encode_openpose(np.zeros((2, 0, 18, 2)), np.zeros((2, 0, 18)), **COCO)
    assert empty.keypoint_maps.shape == (2, 19, 46, 46) and empty.pafs.shape == (2, 38, 46, 46)
    assert not empty.keypoint_maps[:, :18].any() and (empty.keypoint_maps[:, 18] == 1).all()
    assert not empty.pafs.any()
    padded = np.full((1, 2, 4, 2), np.nan)
    padded[0, 0] = [[10, 20], [30, 40], [50, 60], [70, 20]]
    visible = np.array([[[1, 1, 1, 1], [0, -1, 0, 0]]], np.float64)
    assert_identical(fastheat.encode_openpose(padded, visible, **SMALL),
                     naive.encode_openpose(np.nan_to_num(padded), visible, **SMALL))


# --- validation ----------------------------------------------------------------------------------


def test_bad_keypoints_name_the_first_offending_entry():
    keypoints = np.zeros((2, 3, 4, 2))
    visible = np.ones((2, 3, 4))
    visible[1, 2, 2] = 0
    for value, problem in ((np.nan, "is not finite"), (-np.inf, "is not finite"),
                           (2.0**41, "is beyond")):
        bad = keypoints.copy()
        bad[1, 2, 3, 0] = value
        bad[1, 2, 2, 0] = np.nan  # not drawn: no problem
        with pytest.raises(ValueError, match=rf"keypoints\[1, 2, 3\] = .* {problem}"):
            fastheat.encode_openpose(bad, visible, **SMALL)
    bad = visible.copy()
    bad[0, 1, 2] = np.inf
    with pytest.raises(ValueError, match=r"visible\[0, 1, 2\] = inf is not finite"):
        fastheat.encode_openpose(keypoints, bad, **SMALL)
    bad = keypoints.copy()
    bad[1, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"keypoints\[1, 0, 1\] \(image 'b.jpg' \(batch index 1"):
        fastheat.encode_openpose(bad, np.ones((2, 3, 4)), **SMALL, image_ids=["a.jpg", "b.jpg"])


@pytest.mark.parametrize("keypoints, visible, error, match", [
    (np.zeros((3, 4, 2)), np.ones((3, 4)), ValueError, r"keypoints must be \(B, N, K, 2\)"),
    (np.zeros((1, 1, 4, 3)), np.ones((1, 1, 4)), ValueError, r"keypoints must be \(B, N, K, 2\)"),
    (np.zeros((0, 1, 4, 2)), np.ones((0, 1, 4)), ValueError, r"B >= 1 and K >= 1"),
    (np.zeros((1, 1, 4, 2), bool), np.ones((1, 1, 4)), TypeError, "keypoints must hold real"),
    (np.zeros((1, 2, 4, 2)), np.ones((1, 4)), ValueError, r"visible must be \(B, N, K\)"),
    (np.zeros((1, 2, 4, 2)), np.ones((1, 2, 5)), ValueError, r"visible must be \(B, N, K\)"),
    (np.zeros((1, 2, 3, 2)), np.ones((1, 2, 3)), ValueError,
     r"limbs\[3\] = \(3, 3\) names a keypoint outside \[0, 3\)"),
])
def test_bad_shapes_and_limbs_out_of_range(keypoints, visible, error, match):
    with pytest.raises(error, match=match):
        fastheat.encode_openpose(keypoints, visible, **SMALL)


@pytest.mark.parametrize("options, error, match", [
    (dict(stride=0), ValueError, "stride must be > 0"),
    (dict(stride=-8), ValueError, "stride must be > 0"),
    (dict(stride=8.0), TypeError, "stride must be an integer"),
    (dict(stride=200), ValueError, r"input_size=\(96, 128\) must be at least stride=200"),
    (dict(sigma=0), ValueError, "sigma must be > 0"),
    (dict(sigma=-7.0), ValueError, "sigma must be > 0"),
    (dict(sigma=float("nan")), ValueError, "sigma must be finite"),
    (dict(sigma="7"), TypeError, "sigma must be a real number"),
    (dict(paf_thickness=-1), ValueError, r"paf_thickness must be in \[0, 2\*\*40\]"),
    (dict(limbs=()), ValueError, "limbs must hold at least one"),
    (dict(limbs=5), TypeError, "limbs must be a sequence of"),
    (dict(limbs=((0, 1, 2),)), ValueError, r"limbs\[0\] must be an \(a, b\) pair"),
    (dict(limbs=((0, -1),)), ValueError, r"limbs\[0\]\[1\] must be >= 0"),
    (dict(limbs=((0, 1.5),)), TypeError, r"limbs\[0\]\[1\] must be an integer"),
    (dict(input_size=(96, 0)), ValueError, r"input_size\[1\] must be >= 1"),
    (dict(input_size=(96, 128, 3)), TypeError, "input_size must be a"),
    (dict(mode="gaussian"), TypeError, "unexpected .*'mode'"),
])
def test_bad_options_are_named(options, error, match):
    keypoints, visible = np.zeros((1, 1, 4, 2)), np.ones((1, 1, 4))
    with pytest.raises(error, match=match):
        fastheat.encode_openpose(keypoints, visible, **{**SMALL, **options})
    with pytest.raises(error, match=match):
        fastheat.OpenPoseEncoder(**{**SMALL, **options})


def test_missing_options_and_signatures():
    with pytest.raises(TypeError, match="'limbs'"):
        fastheat.encode_openpose(np.zeros((1, 1, 1, 2)), np.ones((1, 1, 1)), input_size=64)
    with pytest.raises(TypeError, match="missing required option 'input_size'"):
        fastheat.OpenPoseEncoder(limbs=((0, 1),))
    assert list(inspect.signature(fastheat.encode_openpose).parameters) == [
        "keypoints", "visible", "limbs", "input_size", "stride", "sigma", "paf_thickness", "out",
        "sparse", "image_ids", "num_threads"]
    assert list(inspect.signature(fastheat.OpenPoseEncoder).parameters) == [
        "limbs", "input_size", "stride", "sigma", "paf_thickness", "num_threads"]
    assert FAMILIES["openpose"].signature() == inspect.signature(fastheat.encode_openpose)


# --- encoder, out=, sparse targets: what the engine gives every family ---------------------------


def garbage(result):
    return tuple(np.full_like(array, 7) for array in result)


BATCHES = [(2, 3, 5), (2, 3, 5), (5, 1, 5), (1, 9, 5), (3, 2, 4), (3, 2, 4), (4, 0, 4),
           (6, 4, 5)]  # (B, N, K): grow, shrink, another K, no people


@pytest.mark.parametrize("threads", [None, 1, 2])
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, threads):
    encoder = fastheat.OpenPoseEncoder(**SMALL, num_threads=threads)
    for call, shape in enumerate(BATCHES):
        keypoints = edge_keypoints(rng, shape, SMALL["input_size"], 4, 3.0)
        visible = visibilities(rng, shape)
        fresh = fastheat.encode_openpose(keypoints, visible, **SMALL)
        assert_identical(fresh, naive.encode_openpose(keypoints, visible, **SMALL))
        copy = call % 3 == 2
        got = encoder(keypoints, visible, copy=copy)
        assert_identical(got, fresh)
        assert all(field.flags.writeable == copy for field in got)

        out = garbage(fresh)
        if call % 2:
            out = fastheat.OpenPoseTargets(*out)
        result = fastheat.encode_openpose(keypoints, visible, **SMALL, out=out,
                                          num_threads=threads)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = pickle.loads(pickle.dumps(
            fastheat.encode_openpose(keypoints, visible, **SMALL, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets) and sparse.family == "openpose"
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        assert all(r is o for r, o in zip(sparse.to_dense(out), out))
        assert_identical(fastheat.OpenPoseTargets(*out), fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)

        if call == 5:  # a failed call leaves the encoder usable
            bad = keypoints.copy()
            bad[0, 0, 0] = np.nan
            with pytest.raises(ValueError, match=r"keypoints\[0, 0, 0\]"):
                encoder(bad, np.ones(shape))


def test_sparse_targets_are_small_and_collate_per_image(rng):
    keypoints = edge_keypoints(rng, (6, 5, 18), (368, 368), 8, 7.0)
    visible = visibilities(rng, (6, 5, 18))
    want = fastheat.encode_openpose(keypoints, visible, **COCO)
    sparse = fastheat.encode_openpose(keypoints, visible, **COCO, sparse=True)
    assert len(pickle.dumps(sparse)) < 0.2 * sum(field.nbytes for field in want)
    items = [fastheat.encode_openpose(keypoints[b:b + 1], visible[b:b + 1], **COCO, sparse=True)
             for b in range(6)]
    chunks = [fastheat.collate(items[:2]), fastheat.collate(items[2:])]
    for merged in (fastheat.collate(items), fastheat.collate(chunks)):
        assert_identical(merged.to_dense(), want)
        assert_identical(fastheat.OpenPoseEncoder(**COCO).render(merged), want)
    other = fastheat.encode_openpose(keypoints, visible, **COCO, sigma=5.0, sparse=True)
    with pytest.raises(ValueError, match="other sigma than this OpenPoseEncoder's"):
        fastheat.OpenPoseEncoder(**COCO).render(other)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other sigma"):
        fastheat.collate([sparse, other])


@pytest.mark.parametrize("render", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(rng, render):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    keypoints = edge_keypoints(rng, (3, 5, 18), (368, 368), 8, 7.0)
    visible = visibilities(rng, (3, 5, 18))
    want = fastheat.encode_openpose(keypoints, visible, **COCO)
    sparse = fastheat.encode_openpose(keypoints, visible, **COCO, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=render)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_identical(fastheat.OpenPoseTargets(*(tensor.numpy() for tensor in got)), want)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for _ in range(3):
        got = renderer(sparse)
        assert_identical(fastheat.OpenPoseTargets(*(tensor.numpy() for tensor in got)), want)


def test_bad_out_is_named_and_left_untouched(rng):
    keypoints = edge_keypoints(rng, (2, 3, 18), (368, 368), 8, 7.0)
    visible = np.ones((2, 3, 18))
    fields = fastheat.encode_openpose(keypoints, visible, **COCO)
    for out, error, match in [
        (garbage(fields)[:1], TypeError, "out must be a tuple of 2 numpy arrays"),
        ((np.zeros((2, 19, 46, 46), np.float32), np.zeros((2, 19, 46, 46), np.float32)),
         ValueError, r"out\[1\] \(pafs\) has shape"),
        ((np.zeros((2, 19, 46, 46), np.float64), np.zeros((2, 38, 46, 46), np.float32)),
         TypeError, r"out\[0\] \(keypoint_maps\) has dtype"),
    ]:
        with pytest.raises(error, match=match):
            fastheat.encode_openpose(keypoints, visible, **COCO, out=out)
    bad = keypoints.copy()
    bad[1, 0, 0] = np.inf
    out = garbage(fields)
    with pytest.raises(ValueError, match=r"keypoints\[1, 0, 0\]"):
        fastheat.encode_openpose(bad, visible, **COCO, out=out)
    assert all((array == 7).all() for array in out)


def test_pickled_encoder_profile_stages_and_warmup(rng):
    encoder = fastheat.OpenPoseEncoder(**SMALL)
    keypoints = edge_keypoints(rng, (2, 3, 5), (96, 128), 4, 3.0)
    visible = visibilities(rng, (2, 3, 5))
    want = encoder(keypoints, visible, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(keypoints, visible),
                     fastheat.encode_openpose(keypoints, visible, **SMALL))
    assert_identical(clone(keypoints, visible), want)
    with fastheat.profile_stages() as times:
        fastheat.encode_openpose(keypoints, visible, **SMALL)
        encoder(keypoints, visible)
    assert set(times) == {"check", "pass", "stamp", "outputs"}
    assert all(len(durations) == 2 for durations in times.values())
    assert fastheat.warmup(num_threads=1) >= 0
