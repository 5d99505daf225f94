"""encode_deeplabcut and DeepLabCutEncoder against the NumPy transcription of DeepLabCut's
generators (tests/naive.py), bit for bit; their validation; and what every family gets from
the engine (encoder, out=, sparse targets, collate, torch), for the DeepLabCut family."""

import inspect
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from fastheat._engine.family import FAMILIES

MODES = ["gaussian", "plateau"]
SIZES = dict(heatmap_size=(24, 32), stride=8)
FIELDS = ("heatmaps", "weights", "locref", "locref_mask")


def assert_identical(got, want):
    """``got``: the family's result; ``want``: another, or the transcription's four arrays
    (None for the locref fields without ``locref``). Same fields, dtypes, shapes and bits."""
    if not hasattr(want, "_fields"):
        want = (fastheat.DeepLabCutTargets(*want) if want[2] is not None
                else fastheat.DeepLabCutHeatmaps(*want[:2]))
    assert type(got) is type(want) and got._fields == FIELDS[:len(want)]
    for name, g, w in zip(got._fields, got, want):
        assert (g.dtype, g.shape) == (w.dtype, w.shape), name
        bits = f"u{g.itemsize}"
        differ = np.argwhere(g.view(bits) != w.view(bits))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def assert_like_deeplabcut(keypoints, visible, heatmap_size, stride, **options):
    got = fastheat.encode_deeplabcut(keypoints, visible, heatmap_size=heatmap_size, stride=stride,
                                     **options)
    options.pop("num_threads", None)
    assert_identical(got, naive.encode_deeplabcut(keypoints, visible, heatmap_size, stride,
                                                  **options))
    return got


def edge_keypoints(rng, shape, heatmap_size, stride, thresh=17.0):
    """float64 keypoints (``shape`` + (2,)) in input pixels: inside the map, on its cell
    centres, on whole and half pixels, on its edges, around the reach of the Gaussian's window
    (``LIVE``) and of ``pos_dist_thresh`` off each side, and far outside."""
    height, width = heatmap_size
    size = np.array([width, height], np.float64) * stride
    n = int(np.prod(shape))
    kind = rng.integers(0, 7, (n, 2))
    inside = rng.uniform(0, 1, (n, 2)) * size
    centres = np.floor(rng.uniform(0, 1, (n, 2)) * [width, height]) * stride + stride / 2
    pixels = np.round(rng.uniform(-0.1, 1.1, (n, 2)) * size) + rng.choice([0, 0.5], (n, 2))
    edge = rng.choice([0.0, 1.0], (n, 2)) * size + rng.uniform(-2 * stride, 2 * stride, (n, 2))
    live = np.sqrt(105 * 2 * (2 * thresh / 3) ** 2)
    reach = rng.choice([live, thresh], (n, 2)) + rng.uniform(-stride, stride, (n, 2))
    beyond = np.where(rng.uniform(size=(n, 2)) < 0.5, -reach, size + reach)
    far = rng.uniform(-3.0, 4.0, (n, 2)) * size
    cells = np.choose(kind, [inside, centres, pixels, edge, beyond, far, inside])
    return cells.reshape(*shape, 2)


def visibilities(rng, shape):
    """DeepLabCut's flags (> 0 drawn, 0 invisible, -1 missing) and values that do nothing."""
    return rng.choice([1.0, 1.0, 1.0, 2.0, 0.5, 0.0, 0.0, -1.0, -0.5, -2.0], shape)


# --- bit-exact with DeepLabCut -------------------------------------------------------------------


@st.composite
def dlc_batches(draw):
    """``(keypoints, visible, heatmap_size, stride, options)``: 1-3 images of 1-8 animals of
    1-12 keypoints, maps 1x1 to 80x80, integer and fractional strides, every option."""
    heatmap_size = (draw(st.integers(1, 80)), draw(st.integers(1, 80)))
    stride = draw(st.one_of(st.sampled_from([1, 2, 4, 8, 16, 32]),
                            st.sampled_from([2.5, 7.3, 0.75, 8.0]), st.floats(0.3, 20.0)))
    options = dict(mode=draw(st.sampled_from(MODES)),
                   pos_dist_thresh=draw(st.one_of(st.sampled_from([17, 1, 5, 40]),
                                                  st.floats(0.5, 60.0))),
                   locref=draw(st.booleans()),
                   locref_std=draw(st.sampled_from([7.2801, 1.0, 0.3, 25.0])),
                   gradient_masking=draw(st.booleans()),
                   background_weight=draw(st.sampled_from([0.1, 0.0, 0.37, 2.0])))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 8)), draw(st.integers(1, 12)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keypoints = edge_keypoints(rng, shape, heatmap_size, stride, float(options["pos_dist_thresh"]))
    if draw(st.booleans()):
        keypoints = keypoints.astype(np.float32)  # DeepLabCut's arithmetic is float64 either way
    return keypoints, visibilities(rng, shape), heatmap_size, stride, options


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dlc_batches())
def test_random_batches(batch):
    keypoints, visible, heatmap_size, stride, options = batch
    assert_like_deeplabcut(keypoints, visible, heatmap_size, stride, **options)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("locref", [True, False])
def test_animals_batch_every_option(rng, mode, locref):
    """The benchmark's shape (8 animals x 12 keypoints, 64x64 maps), overlapping animals."""
    keypoints = rng.uniform(100, 400, (4, 8, 12, 2))
    visible = visibilities(rng, (4, 8, 12))
    for gradient_masking in (False, True):
        options = dict(mode=mode, locref=locref, gradient_masking=gradient_masking,
                       background_weight=0.25)
        assert_like_deeplabcut(keypoints, visible, (64, 64), 8, **options)
        assert_like_deeplabcut(keypoints, visible, (64, 64), 8, **options, num_threads=2)


@pytest.mark.parametrize("mode", MODES)
def test_edges_non_square_maps_and_strides(rng, mode):
    for heatmap_size in ((1, 1), (1, 17), (30, 7), (48, 64), (61, 40)):
        for stride in (1, 4, 8, 2.5, 0.7):
            keypoints = edge_keypoints(rng, (2, 4, 6), heatmap_size, stride)
            assert_like_deeplabcut(keypoints, visibilities(rng, (2, 4, 6)), heatmap_size, stride,
                                   mode=mode, gradient_masking=True)


def test_deeplabcut_rules():
    """The rules that matter, on hand-made cases: truncated cell centres, the locref of the
    last drawn animal over the whole map, weights overridden by later animals."""
    # stride 3: cell centres int(3 i + 1.5) = 1, 4, 7 (truncated, not 1.5, 4.5, 7.5)
    got = assert_like_deeplabcut(np.array([[[[4.0, 1.0]]]]), np.ones((1, 1, 1)), (3, 3), 3)
    assert got.heatmaps[0, 0, 0, 1] == 1.0 and got.heatmaps.max() == 1.0
    keypoints = np.array([[[[10.0, 10.0]], [[50.0, 40.0]], [[0.0, 0.0]]]])  # 3 animals, K = 1
    got = assert_like_deeplabcut(keypoints, np.array([[[1.0], [1.0], [0.0]]]), (8, 8), 8)
    dx = np.float32((50.0 - (np.arange(8) * 8 + 4)) * (1.0 / 7.2801))  # animal 1, the last drawn
    np.testing.assert_array_equal(got.locref[0, 0], np.broadcast_to(dx, (8, 8)))
    assert (got.weights == 1).all()  # an invisible keypoint without gradient_masking: nothing
    for visible, weight in (([1, 0, -1], 0.0), ([-1, 0, 1], 0.5), ([0, 1, 1], 0.5),
                            ([-1, 2, -0.5], 0.0)):
        got = assert_like_deeplabcut(keypoints, np.array(visible, float).reshape(1, 3, 1), (8, 8),
                                     8, gradient_masking=True, background_weight=0.5)
        assert (got.weights == weight).all(), visible
    plateau = assert_like_deeplabcut(keypoints, np.ones((1, 3, 1)), (8, 8), 8, mode="plateau")
    assert set(np.unique(plateau.heatmaps)) == {0.0, 1.0}
    np.testing.assert_array_equal(plateau.locref_mask[0, 0], plateau.heatmaps[0, 0])


def test_input_dtypes_and_torch(rng):
    keypoints = edge_keypoints(rng, (2, 3, 5), (24, 32), 8).astype(np.float32)
    visible = visibilities(rng, (2, 3, 5)).astype(np.float32)
    want = fastheat.encode_deeplabcut(keypoints, visible, **SIZES)
    for same in (keypoints.astype(np.float64), keypoints.tolist()):
        assert_identical(fastheat.encode_deeplabcut(same, visible.astype(np.float64), **SIZES),
                         want)
    ints, flags = np.round(keypoints).astype(np.int32), np.round(visible).astype(np.int8)
    assert_identical(fastheat.encode_deeplabcut(ints, flags, **SIZES),
                     naive.encode_deeplabcut(ints, flags, (24, 32), 8))
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(keypoints).requires_grad_()
    assert_identical(fastheat.encode_deeplabcut(tensor, torch.from_numpy(visible), **SIZES), want)


def test_no_animals_and_nan_padding():
    empty = fastheat.encode_deeplabcut(np.zeros((3, 0, 12, 2)), np.zeros((3, 0, 12)), **SIZES)
    assert empty.heatmaps.shape == (3, 12, 24, 32) and empty.locref.shape == (3, 24, 24, 32)
    assert not empty.heatmaps.any() and not empty.locref.any() and not empty.locref_mask.any()
    assert (empty.weights == 1).all()
    padded = np.full((1, 2, 3, 2), np.nan)  # NaN keypoints are fine where not drawn
    padded[0, 0] = [[10, 20], [30, 40], [50, 60]]
    visible = np.array([[[1, 1, 1], [0, -1, -3]]], np.float64)
    got = assert_like_deeplabcut(np.nan_to_num(padded), visible, **SIZES, gradient_masking=True)
    assert_identical(fastheat.encode_deeplabcut(padded, visible, **SIZES, gradient_masking=True),
                     got)


# --- validation ----------------------------------------------------------------------------------


def test_bad_keypoints_name_the_first_offending_entry():
    keypoints = np.zeros((2, 3, 4, 2))
    visible = np.ones((2, 3, 4))
    visible[1, 2, 2] = 0
    for value, problem in ((np.nan, "is not finite"), (np.inf, "is not finite"),
                           (2.0**41, "is beyond")):
        bad = keypoints.copy()
        bad[1, 2, 3, 1] = value
        bad[1, 2, 2, 0] = np.nan  # not drawn: no problem
        with pytest.raises(ValueError, match=rf"keypoints\[1, 2, 3\] = .* {problem}"):
            fastheat.encode_deeplabcut(bad, visible, **SIZES)
    bad = visible.copy()
    bad[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"visible\[0, 1, 2\] = nan is not finite"):
        fastheat.encode_deeplabcut(keypoints, bad, **SIZES)
    bad = keypoints.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"keypoints\[0, 0, 1\] \(image 'a.png' \(batch index 0"):
        fastheat.encode_deeplabcut(bad, np.ones((2, 3, 4)), **SIZES, image_ids=["a.png", "b.png"])


@pytest.mark.parametrize("keypoints, visible, error, match", [
    (np.zeros((3, 12, 2)), np.ones((3, 12)), ValueError, r"keypoints must be \(B, N, K, 2\)"),
    (np.zeros((1, 1, 12, 3)), np.ones((1, 1, 12)), ValueError, r"keypoints must be \(B, N, K, 2\)"),
    (np.zeros((0, 1, 12, 2)), np.ones((0, 1, 12)), ValueError, r"B >= 1 and K >= 1"),
    (np.zeros((1, 1, 0, 2)), np.ones((1, 1, 0)), ValueError, r"B >= 1 and K >= 1"),
    (np.zeros((1, 1, 12, 2), bool), np.ones((1, 1, 12)), TypeError, "keypoints must hold real"),
    (np.zeros((1, 2, 12, 2)), np.ones((1, 12)), ValueError, r"visible must be \(B, N, K\)"),
    (np.zeros((1, 2, 12, 2)), np.ones((1, 3, 12)), ValueError, r"visible must be \(B, N, K\)"),
    (np.zeros((1, 2, 12, 2)), None, TypeError, "visible must hold real"),
])
def test_bad_shapes_and_dtypes(keypoints, visible, error, match):
    with pytest.raises(error, match=match):
        fastheat.encode_deeplabcut(keypoints, visible, **SIZES)


@pytest.mark.parametrize("options, error, match", [
    (dict(stride=0), ValueError, "stride must be > 0"),
    (dict(stride=-8), ValueError, "stride must be > 0"),
    (dict(stride=float("inf")), ValueError, "stride must be finite"),
    (dict(stride="8"), TypeError, "stride must be a real number"),
    (dict(stride=2.0**21), ValueError, "stride must be <= "),
    (dict(pos_dist_thresh=0), ValueError, "pos_dist_thresh must be > 0"),
    (dict(pos_dist_thresh=-17), ValueError, "pos_dist_thresh must be > 0"),
    (dict(locref_std=0.0), ValueError, "locref_std must be > 0"),
    (dict(mode="gauss"), ValueError, r"mode must be one of \['gaussian', 'plateau'\]"),
    (dict(mode=None), ValueError, "mode must be one of"),
    (dict(locref=1), TypeError, "locref must be True or False"),
    (dict(gradient_masking="yes"), TypeError, "gradient_masking must be True or False"),
    (dict(background_weight=float("nan")), ValueError, "background_weight must be finite"),
    (dict(heatmap_size=(64, 0)), ValueError, r"heatmap_size\[1\] must be >= 1"),
    (dict(heatmap_size=(64, 48, 1)), TypeError, "heatmap_size must be a"),
    (dict(sigma=2.0), TypeError, "unexpected .*'sigma'"),
])
def test_bad_options_are_named(options, error, match):
    keypoints, visible = np.zeros((1, 1, 12, 2)), np.ones((1, 1, 12))
    with pytest.raises(error, match=match):
        fastheat.encode_deeplabcut(keypoints, visible, **{**SIZES, **options})
    with pytest.raises(error, match=match):
        fastheat.DeepLabCutEncoder(**{**SIZES, **options})


def test_missing_options_and_signatures():
    with pytest.raises(TypeError, match="stride"):
        fastheat.encode_deeplabcut(np.zeros((1, 1, 1, 2)), np.ones((1, 1, 1)), heatmap_size=8)
    with pytest.raises(TypeError, match="missing required option 'heatmap_size'"):
        fastheat.DeepLabCutEncoder(stride=8)
    assert list(inspect.signature(fastheat.encode_deeplabcut).parameters) == [
        "keypoints", "visible", "heatmap_size", "stride", "mode", "pos_dist_thresh", "locref",
        "locref_std", "gradient_masking", "background_weight", "out", "sparse", "image_ids",
        "num_threads"]
    assert list(inspect.signature(fastheat.DeepLabCutEncoder).parameters) == [
        "heatmap_size", "stride", "mode", "pos_dist_thresh", "locref", "locref_std",
        "gradient_masking", "background_weight", "num_threads"]
    assert FAMILIES["deeplabcut"].signature() == inspect.signature(fastheat.encode_deeplabcut)


# --- encoder, out=, sparse targets: what the engine gives every family ---------------------------


def garbage(result):
    return tuple(np.full_like(array, 7) for array in result)


BATCHES = [(2, 3, 12), (2, 3, 12), (5, 1, 12), (1, 8, 12), (3, 2, 5), (3, 2, 5), (4, 0, 5),
           (6, 4, 12)]  # (B, N, K): grow, shrink, another K, no animals


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("locref", [True, False])
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, mode, locref, threads):
    options = dict(SIZES, mode=mode, locref=locref, gradient_masking=True)
    encoder = fastheat.DeepLabCutEncoder(**options, num_threads=threads)
    for call, shape in enumerate(BATCHES):
        keypoints = edge_keypoints(rng, shape, SIZES["heatmap_size"], SIZES["stride"])
        visible = visibilities(rng, shape)
        fresh = fastheat.encode_deeplabcut(keypoints, visible, **options)
        assert_identical(fresh, naive.encode_deeplabcut(keypoints, visible, **options))
        copy = call % 3 == 2
        got = encoder(keypoints, visible, copy=copy)
        assert_identical(got, fresh)
        assert got.heatmaps.flags.writeable == copy
        assert all(field.flags.writeable for field in got[1:])

        out = garbage(fresh)
        if call % 2:
            out = type(fresh)(*out)
        result = fastheat.encode_deeplabcut(keypoints, visible, **options, out=out,
                                            num_threads=threads)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = pickle.loads(pickle.dumps(
            fastheat.encode_deeplabcut(keypoints, visible, **options, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets) and sparse.family == "deeplabcut"
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        assert all(r is o for r, o in zip(sparse.to_dense(out), out))
        assert_identical(type(fresh)(*out), fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)

        if call == 5:  # a failed call leaves the encoder usable
            bad = keypoints.copy()
            bad[0, 0, 0] = np.nan
            with pytest.raises(ValueError, match=r"keypoints\[0, 0, 0\]"):
                encoder(bad, np.ones(shape))


def test_collate_per_image_and_render_checks(rng):
    keypoints = edge_keypoints(rng, (6, 3, 12), (24, 32), 8)
    visible = visibilities(rng, (6, 3, 12))
    for mode in MODES:
        options = dict(SIZES, mode=mode)
        want = fastheat.encode_deeplabcut(keypoints, visible, **options)
        items = [fastheat.encode_deeplabcut(keypoints[b:b + 1], visible[b:b + 1], **options,
                                            sparse=True) for b in range(6)]
        chunks = [fastheat.collate(items[:2]), fastheat.collate(items[2:])]
        for merged in (fastheat.collate(items), fastheat.collate(chunks)):
            assert_identical(merged.to_dense(), want)
            assert_identical(fastheat.DeepLabCutEncoder(**options).render(merged), want)
    other = fastheat.encode_deeplabcut(keypoints, visible, **SIZES, pos_dist_thresh=9, sparse=True)
    with pytest.raises(ValueError, match="other pos_dist_thresh than this DeepLabCutEncoder's"):
        fastheat.DeepLabCutEncoder(**SIZES).render(other)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other pos_dist_thresh"):
        fastheat.collate([fastheat.encode_deeplabcut(keypoints, visible, **SIZES, sparse=True),
                          other])
    # the locref options only shaped the carried fields: any encoder of the maps renders them
    scaled = dict(SIZES, locref_std=2.0, gradient_masking=True)
    sparse = fastheat.encode_deeplabcut(keypoints, visible, **scaled, sparse=True)
    assert_identical(fastheat.DeepLabCutEncoder(**SIZES).render(sparse),
                     fastheat.encode_deeplabcut(keypoints, visible, **scaled))


@pytest.mark.parametrize("mode", MODES)
def test_pickled_sparse_targets_are_small_and_exact(rng, mode):
    """Pickles carry each heatmap's weight and the stamps (every drawn keypoint, even those
    whose Gaussian misses the map: their locref still counts), not the dense fields."""
    keypoints = edge_keypoints(rng, (8, 8, 12), (64, 64), 8)
    keypoints[:, :, 0] = [[-5000.0, 20.0]]  # drawn, far off the map: the locref of the last
    visible = visibilities(rng, (8, 8, 12))
    visible[:, -1, 0] = 1
    options = dict(heatmap_size=(64, 64), stride=8, mode=mode, gradient_masking=True)
    want = fastheat.encode_deeplabcut(keypoints, visible, **options)
    sparse = fastheat.encode_deeplabcut(keypoints, visible, **options, sparse=True)
    pickled = pickle.dumps(sparse)
    assert len(pickled) < 0.02 * sum(field.nbytes for field in want)
    back = pickle.loads(pickled)
    for got, slot in zip(back.slots, sparse.slots):
        assert got.dtype == slot.dtype and got.tobytes() == slot.tobytes()
    assert_identical(back.to_dense(), want)
    assert_identical(back.to_dense(), naive.encode_deeplabcut(keypoints, visible, **options))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("render", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(rng, mode, render):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    keypoints = edge_keypoints(rng, (3, 4, 12), (24, 32), 8)
    visible = visibilities(rng, (3, 4, 12))
    options = dict(SIZES, mode=mode)
    want = fastheat.encode_deeplabcut(keypoints, visible, **options)
    sparse = fastheat.encode_deeplabcut(keypoints, visible, **options, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=render)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_identical(type(want)(*(tensor.numpy() for tensor in got)), want)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for _ in range(3):
        got = renderer(sparse)
        assert_identical(type(want)(*(tensor.numpy() for tensor in got)), want)


def test_bad_out_is_named_and_left_untouched(rng):
    keypoints = edge_keypoints(rng, (2, 3, 12), (24, 32), 8)
    visible = np.ones((2, 3, 12))
    fields = fastheat.encode_deeplabcut(keypoints, visible, **SIZES)
    for out, error, match in [
        (garbage(fields)[:2], TypeError, "out must be a tuple of 4 numpy arrays"),
        (garbage(fields)[:3] + (np.zeros((2, 24, 24, 32), np.float32),), TypeError,
         r"out\[3\] \(locref_mask\) has dtype"),
        (garbage(fields)[:1] + (np.zeros((2, 12, 24, 31), np.float32),) + garbage(fields)[2:],
         ValueError, r"out\[1\] \(weights\) has shape"),
    ]:
        with pytest.raises(error, match=match):
            fastheat.encode_deeplabcut(keypoints, visible, **SIZES, out=out)
    bad = keypoints.copy()
    bad[1, 0, 0] = np.inf
    out = garbage(fields)
    with pytest.raises(ValueError, match=r"keypoints\[1, 0, 0\]"):
        fastheat.encode_deeplabcut(bad, visible, **SIZES, out=out)
    assert all((array == 7).all() for array in out)
    heatmaps_only = fastheat.encode_deeplabcut(keypoints, visible, **SIZES, locref=False)
    with pytest.raises(TypeError, match="out must be a tuple of 2 numpy arrays"):
        fastheat.encode_deeplabcut(keypoints, visible, **SIZES, locref=False, out=garbage(fields))
    assert heatmaps_only.locref is None and heatmaps_only.locref_mask is None


def test_pickled_encoder_profile_stages_and_warmup(rng):
    options = dict(SIZES, mode="plateau", pos_dist_thresh=12)
    encoder = fastheat.DeepLabCutEncoder(**options)
    keypoints = edge_keypoints(rng, (2, 3, 12), (24, 32), 8)
    visible = visibilities(rng, (2, 3, 12))
    want = encoder(keypoints, visible, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(keypoints, visible),
                     fastheat.encode_deeplabcut(keypoints, visible, **options))
    assert_identical(clone(keypoints, visible), want)
    with fastheat.profile_stages() as times:
        fastheat.encode_deeplabcut(keypoints, visible, **SIZES)
        encoder(keypoints, visible)
    assert set(times) == {"check", "pass", "stamp", "outputs"}
    assert all(len(durations) == 2 for durations in times.values())
    assert fastheat.warmup(num_threads=1) >= 0
