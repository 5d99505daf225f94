"""encode_keypoints and KeypointEncoder against the NumPy transcription of mmpose's generators
(tests/naive.py), bit for bit; their validation; and what every family gets from the engine
(encoder, out=, sparse targets, collate, torch), for the keypoints family."""

import inspect
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from fastheat._engine.family import FAMILIES

METHODS = ["msra", "udp", "dark"]
MAP_SIZES = [(64, 48), (128, 128), (96, 72), (48, 64), (80, 61)]  # (height, width)
SIGMAS = [2.0, 3.0, 1.0, 1.5, 2.5, 1.2, 3.7, 4.0]  # integer and non-integer 3 * sigma
COCO = dict(input_size=(256, 192), heatmap_size=(64, 48))


def assert_identical(got, want):
    """Same dtype, shape and bits for heatmaps and weights."""
    assert type(got) is fastheat.KeypointTargets
    for name, g, w in zip(got._fields, got, want):
        assert (g.dtype, g.shape) == (np.float32, w.shape), name
        differ = np.argwhere(g.view(np.uint32) != np.asarray(w, np.float32).view(np.uint32))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def assert_like_mmpose(keypoints, visible, input_size, heatmap_size, sigma, method, **kw):
    got = fastheat.encode_keypoints(keypoints, visible, input_size=input_size,
                                    heatmap_size=heatmap_size, sigma=sigma, method=method, **kw)
    assert_identical(got, naive.encode_keypoints(keypoints, visible, input_size, heatmap_size,
                                                 sigma, method))
    return got


def edge_keypoints(rng, shape, input_size, heatmap_size, sigma, method):
    """float32 keypoints (``shape`` + (2,)) in input pixels whose heatmap positions lie inside
    the map, on its edges, on cell boundaries (x.5), around the window's miss thresholds
    (``3 sigma`` off each side, where ``right == 0``) and far outside."""
    out_h, out_w = heatmap_size
    reach = 3 * sigma
    size = np.array([out_w, out_h], np.float64)
    n = int(np.prod(shape))
    kind = rng.integers(0, 6, (n, 2))
    inside = rng.uniform(-0.5, 1.0, (n, 2)) * size
    edge = rng.choice([0.0, 1.0], (n, 2)) * (size - 1) + rng.uniform(-1.5, 1.5, (n, 2))
    halves = np.floor(rng.uniform(-2, 1.2, (n, 2)) * size) + 0.5
    threshold = np.where(rng.uniform(size=(n, 2)) < 0.5, -reach - 1 - rng.integers(0, 2, (n, 2)),
                         size + reach - rng.integers(0, 2, (n, 2)))
    threshold = threshold + rng.choice([-0.5, -0.25, 0.0, 0.25, 0.49, 0.5, 0.75], (n, 2))
    far = rng.uniform(-3.0, 4.0, (n, 2)) * size
    whole = np.round(rng.uniform(-0.2, 1.2, (n, 2)) * size)
    cells = np.choose(kind, [inside, edge, halves, threshold, far, whole])
    scale = naive.keypoint_scale_factor(input_size, heatmap_size, method)
    return (cells * scale).astype(np.float32).reshape(*shape, 2)


def visibilities(rng, shape):
    return rng.choice([1.0, 1.0, 1.0, 0.0, 0.5, 0.49, 2.0, -1.0], shape).astype(np.float32)


# --- bit-exact with mmpose -------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("sigma", SIGMAS)
def test_edge_keypoints(rng, method, sigma):
    for heatmap_size in MAP_SIZES[:3]:
        input_size = (4 * heatmap_size[0], 4 * heatmap_size[1])
        keypoints = edge_keypoints(rng, (3, 4, 17), input_size, heatmap_size, sigma, method)
        assert_like_mmpose(keypoints, visibilities(rng, (3, 4, 17)), input_size, heatmap_size,
                           sigma, method)


@st.composite
def pose_batches(draw):
    """``(keypoints, visible, input_size, heatmap_size, sigma, method)``: 1-3 images of 1-30
    instances of 1-17 keypoints, maps 48x64 to 128x128, any input size (down- and upsampling),
    sigma in [1, 4], keypoints inside, on the edge of and outside the map."""
    method = draw(st.sampled_from(METHODS))
    heatmap_size = (draw(st.integers(48, 128)), draw(st.integers(48, 128)))
    input_size = (draw(st.integers(2, 600)), draw(st.integers(2, 600)))
    sigma = draw(st.one_of(st.sampled_from(SIGMAS), st.floats(1.0, 4.0)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 30)), draw(st.integers(1, 17)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keypoints = edge_keypoints(rng, shape, input_size, heatmap_size, sigma, method)
    visible = visibilities(rng, shape) if draw(st.booleans()) else None
    return keypoints, visible, input_size, heatmap_size, sigma, method


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pose_batches())
def test_random_batches(batch):
    assert_like_mmpose(*batch)


@pytest.mark.parametrize("method", METHODS)
def test_coco_top_down_batch(rng, method):
    keypoints = (rng.uniform(0, 1, (16, 1, 17, 2)) * [192, 256]).astype(np.float32)
    visible = (rng.uniform(size=(16, 1, 17)) < 0.8).astype(np.float32)
    assert_like_mmpose(keypoints, visible, (256, 192), (64, 48), 2.0, method)
    assert_like_mmpose(keypoints, None, (256, 192), (64, 48), 2.0, method, num_threads=2)


def test_bottom_up_overlapping_instances(rng):
    """Many instances per image: their Gaussians of one joint overlap and are max-merged."""
    keypoints = (rng.uniform(0.2, 0.5, (2, 30, 17, 2)) * 512).astype(np.float32)
    for method in METHODS:
        assert_like_mmpose(keypoints, visibilities(rng, (2, 30, 17)), (512, 512), (128, 128), 2.0,
                           method)


def test_mmpose_quirks():
    """Kept on purpose: mmpose's window tests and its asymmetric windows."""
    kw = dict(input_size=(32, 32), heatmap_size=(32, 32))
    # right == 0: -7.6 + 0.5 truncates to -7, the window [-13, 0) misses the map but the test
    # (right < 0) passes: the weight is kept and nothing is stamped
    for method in ("msra", "udp"):
        got = assert_like_mmpose(np.array([[[[-7.6, 5.0]]]], np.float32), None, sigma=2.0,
                                 method=method, **kw)
        assert got.weights[0, 0, 0] == 1 and not got.heatmaps.any()
        got = assert_like_mmpose(np.array([[[[-9.0, 5.0]]]], np.float32), None, sigma=2.0,
                                 method=method, **kw)
        assert got.weights[0, 0, 0] == 0
    # 3 * sigma = 4.5: left = int(mu - 4.5) truncates towards 0, so near the left edge the
    # grid starts a cell later and its peak sits one cell right of the keypoint's cell
    got = assert_like_mmpose(np.array([[[[2.0, 10.0]]]], np.float32), None, sigma=1.5,
                             method="msra", **kw)
    assert np.unravel_index(got.heatmaps[0, 0].argmax(), (32, 32)) == (10, 3)
    got = assert_like_mmpose(np.array([[[[20.0, 10.0]]]], np.float32), None, sigma=1.5,
                             method="msra", **kw)
    assert np.unravel_index(got.heatmaps[0, 0].argmax(), (32, 32)) == (10, 20)


def test_sigmas_beyond_the_table_and_tiny_maps(rng):
    """Windows far wider than the map (stamped from per-window values, past the table)."""
    for heatmap_size, sigma in (((8, 6), 4.0), ((5, 9), 30.0), ((3, 3), 0.2), ((2, 2), 1e-6)):
        input_size = (heatmap_size[0] * 4, heatmap_size[1] * 4)
        for method in METHODS:
            keypoints = edge_keypoints(rng, (2, 3, 5), input_size, heatmap_size, sigma, method)
            assert_like_mmpose(keypoints, visibilities(rng, (2, 3, 5)), input_size, heatmap_size,
                               sigma, method)
            encoder = fastheat.KeypointEncoder(input_size=input_size, heatmap_size=heatmap_size,
                                               sigma=sigma, method=method)
            encoder(keypoints)
            assert not encoder(keypoints[:, :0]).heatmaps.any()  # cleared, past the table too


@pytest.mark.slow
def test_exp_underflow_holds_for_every_float32_below():
    """DarkPose windows skip cells whose float32 exponent is at most ``exp_underflow()``: NumPy's
    ``exp`` must give exactly 0 for every float32 there (the probe covers [-105, -100])."""
    from fastheat.keypoints import exp_underflow

    limit = np.float32(exp_underflow())
    assert -105 < limit < -100 and np.exp(np.nextafter(limit, np.float32(0))) > 0
    first, last = np.array([limit, -np.inf], np.float32).view(np.uint32).astype(np.int64)
    chunk = 1 << 24
    for start in range(int(first), int(last) + 1, chunk):
        x = np.arange(start, min(start + chunk, int(last) + 1), dtype=np.uint32).view(np.float32)
        assert not np.exp(x).any(), (x[0], x[-1])


@settings(max_examples=300, deadline=None)
@given(st.floats(-2000, 2000, width=32), st.integers(1, 600),
       st.one_of(st.floats(1e-6, 1.0), st.floats(1.0, 60.0)))
def test_live_cells_are_every_cell_whose_exponent_is_above_underflow(centre, size, sigma):
    """``_live_cells`` starts its search near the Gaussian's reach: it must still find exactly
    the cells whose float32 DarkPose exponent is above ``exp_underflow()``, as a scan of every
    cell does."""
    from fastheat.keypoints import _live_cells, exp_underflow

    underflow, two_sigma_squared = exp_underflow(), np.float32(2 * sigma**2)
    if centre - 3 * sigma >= size or centre + 3 * sigma + 1 < 0:
        return  # the pass skips such a keypoint before asking
    d = np.arange(size, dtype=np.float32) - np.float32(centre)
    live = np.flatnonzero(-(d * d) / two_sigma_squared > underflow)
    lo, hi = _live_cells(np.float32(centre), size, two_sigma_squared, underflow)
    if live.size:
        assert (lo, hi) == (live[0], live[-1] + 1)
    else:
        assert lo == hi


@settings(max_examples=300, deadline=None)
@given(st.integers(2**20, 2**31 - 1), st.floats(0, 1.25), st.floats(1e-6, 1e6))
def test_live_cells_of_huge_axes(size, where, sigma):
    """``_live_cells`` on axes up to 2**31 cells, where float32 cannot hold every cell index:
    its first and last cells are live and the cells just outside are not (the exponent only
    falls away from the centre, so none further out is live either)."""
    from fastheat.keypoints import _live_cells, exp_underflow

    underflow, two_sigma_squared = exp_underflow(), np.float32(2 * sigma**2)
    centre = np.float32(where * size)
    if centre - 3 * sigma >= size:
        return  # the pass skips such a keypoint before asking

    def live(cell):
        d = np.float32(cell) - centre
        return -(d * d) / two_sigma_squared > underflow

    lo, hi = _live_cells(centre, size, two_sigma_squared, underflow)
    if lo < hi:
        assert live(lo) and live(hi - 1)
    assert lo == 0 or not live(lo - 1)
    assert hi == size or not live(hi)


def test_input_dtypes_and_torch(rng):
    keypoints = edge_keypoints(rng, (2, 2, 5), (256, 192), (64, 48), 2.0, "udp")
    want = fastheat.encode_keypoints(keypoints, **COCO, method="udp")
    for same in (keypoints.astype(np.float64), keypoints.tolist()):
        assert_identical(fastheat.encode_keypoints(same, **COCO, method="udp"), want)
    visible = np.ones((2, 2, 5), np.int64)
    assert_identical(fastheat.encode_keypoints(keypoints, visible, **COCO, method="udp"), want)
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(keypoints).requires_grad_()
    assert_identical(fastheat.encode_keypoints(tensor, torch.ones(2, 2, 5), **COCO, method="udp"),
                     want)
    mask = rng.uniform(size=(2, 2, 5)) < 0.5  # booleans are 1 and 0
    want = fastheat.encode_keypoints(keypoints, mask.astype(np.float32), **COCO, method="udp")
    for same in (mask, torch.from_numpy(mask)):
        assert_identical(fastheat.encode_keypoints(keypoints, same, **COCO, method="udp"), want)
        simcc = fastheat.encode_simcc(keypoints, same, input_size=(256, 192))
        for got, expected in zip(simcc, fastheat.encode_simcc(keypoints, mask.astype(np.float64),
                                                              input_size=(256, 192))):
            np.testing.assert_array_equal(got, expected)


def test_no_instances_and_invisible_padding():
    empty = fastheat.encode_keypoints(np.zeros((3, 0, 17, 2)), **COCO)
    assert empty.heatmaps.shape == (3, 17, 64, 48) and empty.weights.shape == (3, 0, 17)
    assert not empty.heatmaps.any()
    padded = np.full((1, 2, 3, 2), np.nan, np.float32)  # NaN keypoints are fine where invisible
    padded[0, 0] = [[10, 20], [30, 40], [50, 60]]
    visible = np.array([[[1, 1, 1], [0, 0, 0]]], np.float32)
    got = fastheat.encode_keypoints(padded, visible, **COCO)
    want = fastheat.encode_keypoints(padded[:, :1], visible[:, :1], **COCO)
    np.testing.assert_array_equal(got.heatmaps, want.heatmaps)
    np.testing.assert_array_equal(got.weights, [[[1, 1, 1], [0, 0, 0]]])


# --- validation ----------------------------------------------------------------------------------


def test_bad_keypoints_name_the_first_offending_entry():
    keypoints = np.zeros((2, 3, 4, 2), np.float32)
    for value, problem in ((np.nan, "is not finite"), (np.inf, "is not finite"),
                           (3e38, "is beyond")):
        bad = keypoints.copy()
        bad[1, 2, 3, 1] = value
        bad[1, 2, 2, 0] = np.nan  # invisible: no problem
        visible = np.ones((2, 3, 4))
        visible[1, 2, 2] = 0
        with pytest.raises(ValueError, match=rf"keypoints\[1, 2, 3\] = .* {problem}"):
            fastheat.encode_keypoints(bad, visible, **COCO)
    visible = np.ones((2, 3, 4))
    visible[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"visible\[0, 1, 2\] = nan is not finite"):
        fastheat.encode_keypoints(keypoints, visible, **COCO)
    bad = keypoints.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"keypoints\[0, 0, 1\] \(image 'a.jpg' \(batch index 0"):
        fastheat.encode_keypoints(bad, **COCO, image_ids=["a.jpg", "b.jpg"])


@pytest.mark.parametrize("keypoints, visible, error, match", [
    (np.zeros((3, 17, 2)), None, ValueError, r"keypoints must be \(B, N, K, 2\).*\(3, 17, 2\)"),
    (np.zeros((1, 1, 17, 3)), None, ValueError, r"keypoints must be \(B, N, K, 2\)"),
    (np.zeros((0, 1, 17, 2)), None, ValueError, r"B >= 1 and K >= 1"),
    (np.zeros((1, 1, 0, 2)), None, ValueError, r"B >= 1 and K >= 1"),
    (np.zeros((1, 1, 17, 2), bool), None, TypeError, "keypoints must hold real numbers"),
    (np.array([[[["a", "b"]]]]), None, TypeError, "keypoints must hold real numbers"),
    ([[[[1, 2]], [[1, 2, 3]]]], None, ValueError, "keypoints must be an array"),
    (np.zeros((1, 2, 17, 2)), np.ones((1, 17)), ValueError, r"visible must be \(B, N, K\)"),
    (np.zeros((1, 2, 17, 2)), np.ones((1, 2, 17), "U1"), TypeError, "visible must hold real"),
])
def test_bad_shapes_and_dtypes(keypoints, visible, error, match):
    with pytest.raises(error, match=match):
        fastheat.encode_keypoints(keypoints, visible, **COCO)


@pytest.mark.parametrize("options, error, match", [
    (dict(sigma=0), ValueError, "sigma must be > 0"),
    (dict(sigma=-2.0), ValueError, "sigma must be > 0"),
    (dict(sigma=float("nan")), ValueError, "sigma must be finite"),
    (dict(sigma=True), TypeError, "sigma must be a real number"),
    (dict(sigma="2"), TypeError, "sigma must be a real number"),
    (dict(sigma=1e7), ValueError, "sigma must be <= 1e"),
    (dict(method="unbiased"), ValueError, r"method must be one of \['msra', 'udp', 'dark'\]"),
    (dict(method=None), ValueError, "method must be one of"),
    (dict(heatmap_size=(64, 0)), ValueError, r"heatmap_size\[1\] must be >= 1"),
    (dict(heatmap_size=(64, 48, 1)), TypeError, "heatmap_size must be a"),
    (dict(input_size=2.5), TypeError, "input_size must be a"),
    (dict(method="udp", heatmap_size=(64, 1)), ValueError, "method='udp' needs"),
    (dict(method="udp", input_size=(1, 192)), ValueError, "method='udp' needs"),
    (dict(unbiased=True), TypeError, "unexpected .*'unbiased'"),
])
def test_bad_options_are_named(options, error, match):
    keypoints = np.zeros((1, 1, 17, 2))
    with pytest.raises(error, match=match):
        fastheat.encode_keypoints(keypoints, **{**COCO, **options})
    with pytest.raises(error, match=match):
        fastheat.KeypointEncoder(**{**COCO, **options})


def test_missing_options_and_signatures():
    with pytest.raises(TypeError, match="heatmap_size"):
        fastheat.encode_keypoints(np.zeros((1, 1, 1, 2)), input_size=(8, 8))
    with pytest.raises(TypeError, match="missing required option 'input_size'"):
        fastheat.KeypointEncoder(heatmap_size=(8, 8))
    assert list(inspect.signature(fastheat.encode_keypoints).parameters) == [
        "keypoints", "visible", "input_size", "heatmap_size", "sigma", "method", "out", "sparse",
        "image_ids", "num_threads"]
    assert list(inspect.signature(fastheat.KeypointEncoder).parameters) == [
        "input_size", "heatmap_size", "sigma", "method", "num_threads"]
    assert FAMILIES["keypoints"].signature() == inspect.signature(fastheat.encode_keypoints)


# --- encoder, out=, sparse targets: what the engine gives every family -----------------------------


def garbage(result):
    return tuple(np.full_like(array, 7) for array in result)


BATCHES = [(2, 3, 17), (2, 3, 17), (5, 1, 17), (1, 30, 17), (3, 2, 5), (3, 2, 5), (4, 0, 5),
           (6, 4, 17)]  # (B, N, K): grow, shrink, another K, no instances


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, method, threads):
    options = dict(COCO, sigma=1.5 if method == "msra" else 2.0, method=method)
    encoder = fastheat.KeypointEncoder(**options, num_threads=threads)
    for call, shape in enumerate(BATCHES):
        keypoints = edge_keypoints(rng, shape, COCO["input_size"], COCO["heatmap_size"],
                                   options["sigma"], method)
        visible = visibilities(rng, shape) if call % 2 else None
        fresh = fastheat.encode_keypoints(keypoints, visible, **options)
        assert_identical(fresh, naive.encode_keypoints(keypoints, visible, COCO["input_size"],
                                                       COCO["heatmap_size"], options["sigma"],
                                                       method))
        copy = call % 3 == 2
        got = encoder(keypoints, visible, copy=copy)
        assert_identical(got, fresh)
        assert got.heatmaps.flags.writeable == copy and got.weights.flags.writeable

        out = garbage(fresh)
        if call % 2:
            out = fastheat.KeypointTargets(*out)
        result = fastheat.encode_keypoints(keypoints, visible, **options, out=out,
                                           num_threads=threads)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = pickle.loads(pickle.dumps(
            fastheat.encode_keypoints(keypoints, visible, **options, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets) and sparse.family == "keypoints"
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        assert all(r is o for r, o in zip(sparse.to_dense(out), out))
        assert_identical(fastheat.KeypointTargets(*out), fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)

        if call == 5:  # a failed call leaves the encoder usable
            bad = keypoints.copy()
            bad[0, 0, 0] = np.nan
            with pytest.raises(ValueError, match=r"keypoints\[0, 0, 0\]"):
                encoder(bad)


def test_sparse_targets_are_small_and_collate_per_image(rng):
    keypoints = edge_keypoints(rng, (6, 2, 17), (256, 192), (64, 48), 2.0, "dark")
    visible = visibilities(rng, (6, 2, 17))
    for method in METHODS:
        options = dict(COCO, method=method)
        want = fastheat.encode_keypoints(keypoints, visible, **options)
        sparse = fastheat.encode_keypoints(keypoints, visible, **options, sparse=True)
        assert len(pickle.dumps(sparse)) < 0.1 * want.heatmaps.nbytes
        items = [fastheat.encode_keypoints(keypoints[b:b + 1], visible[b:b + 1], **options,
                                           sparse=True) for b in range(6)]
        chunks = [fastheat.collate(items[:2]), fastheat.collate(items[2:])]
        for merged in (fastheat.collate(items), fastheat.collate(chunks)):
            assert_identical(merged.to_dense(), want)
            assert_identical(fastheat.KeypointEncoder(**options).render(merged), want)
    other = fastheat.encode_keypoints(keypoints, visible, **COCO, sigma=3.0, sparse=True)
    with pytest.raises(ValueError, match="other sigma than this KeypointEncoder's"):
        fastheat.KeypointEncoder(**COCO).render(other)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other sigma"):
        fastheat.collate([fastheat.encode_keypoints(keypoints, **COCO, sparse=True), other])
    with pytest.raises(ValueError, match="other sigma, method than"):
        fastheat.KeypointEncoder(**COCO, method="udp").render(other)
    # the input size only shaped the stamps: an encoder of another one renders them
    wider = dict(COCO, input_size=(512, 384))
    sparse = fastheat.encode_keypoints(keypoints, visible, **wider, sparse=True)
    assert_identical(fastheat.KeypointEncoder(**COCO).render(sparse),
                     fastheat.encode_keypoints(keypoints, visible, **wider))


@pytest.mark.parametrize("method", METHODS)
def test_pickled_sparse_targets_keep_every_bit(rng, method):
    """Pickles are compact (int32 points and clips) and restore every stamp exactly, even for
    windows millions of cells wide reaching the map from far off it."""
    keypoints = edge_keypoints(rng, (3, 2, 17), (256, 192), (64, 48), 2.0, method)
    keypoints[0, 0, :2] = [[-2.9e6 * 4, 10.0], [2.0**29 * 4, 10.0]]
    for sigma in (2.0, 1e6):
        sparse = fastheat.encode_keypoints(keypoints, **COCO, sigma=sigma, method=method,
                                           sparse=True)
        back = pickle.loads(pickle.dumps(sparse))
        assert back.spec == sparse.spec
        for name in ("starts", "points", "clips", "centres"):
            got, want = getattr(back.stamps, name), getattr(sparse.stamps, name)
            if want is None:
                assert got is None and method == "msra" and name == "centres"
            else:
                assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), name
        assert_identical(back.to_dense(), sparse.to_dense())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("render", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(rng, method, render):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    keypoints = edge_keypoints(rng, (3, 4, 17), (256, 192), (64, 48), 4.0, method)
    options = dict(COCO, sigma=4.0, method=method)
    want = fastheat.encode_keypoints(keypoints, **options)
    sparse = fastheat.encode_keypoints(keypoints, **options, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=render)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_identical(fastheat.KeypointTargets(*(tensor.numpy() for tensor in got)), want)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for _ in range(3):
        got = renderer(sparse)
        assert_identical(fastheat.KeypointTargets(*(tensor.numpy() for tensor in got)), want)


def test_bad_out_is_named_and_left_untouched(rng):
    keypoints = edge_keypoints(rng, (2, 3, 17), (256, 192), (64, 48), 2.0, "msra")
    fields = fastheat.encode_keypoints(keypoints, **COCO)
    bad = keypoints.copy()
    bad[1, 0, 0] = np.inf
    for out, error, match in [
        (garbage(fields)[:1], TypeError, "out must be a tuple of 2 numpy arrays"),
        ((np.zeros((2, 17, 64, 48), np.float64), np.zeros((2, 3, 17), np.float32)), TypeError,
         r"out\[0\] \(heatmaps\) has dtype"),
        ((np.zeros((2, 17, 64, 48), np.float32), np.zeros((2, 4, 17), np.float32)), ValueError,
         r"out\[1\] \(weights\) has shape"),
    ]:
        with pytest.raises(error, match=match):
            fastheat.encode_keypoints(keypoints, **COCO, out=out)
    out = garbage(fields)
    with pytest.raises(ValueError, match=r"keypoints\[1, 0, 0\]"):
        fastheat.encode_keypoints(bad, **COCO, out=out)
    assert all((array == 7).all() for array in out)
    with pytest.raises(ValueError, match="exclude each other"):
        fastheat.encode_keypoints(keypoints, **COCO, out=garbage(fields), sparse=True)


def test_pickled_encoder_profile_stages_and_warmup(rng):
    encoder = fastheat.KeypointEncoder(**COCO, method="udp", sigma=3.0)
    keypoints = edge_keypoints(rng, (2, 1, 17), (256, 192), (64, 48), 3.0, "udp")
    want = encoder(keypoints, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(keypoints), fastheat.encode_keypoints(keypoints, **COCO, method="udp",
                                                                 sigma=3.0))
    assert_identical(clone(keypoints), want)
    with fastheat.profile_stages() as times:
        fastheat.encode_keypoints(keypoints, **COCO)
        encoder(keypoints)
    assert set(times) == {"check", "pass", "stamp", "outputs"}
    assert all(len(durations) == 2 for durations in times.values())
    assert fastheat.warmup(num_threads=1) >= 0
