"""encode_simcc and SimCCEncoder against the NumPy transcription of mmpose's SimCCLabel
(tests/naive.py), bit for bit; their validation; and what every family gets from the engine
(encoder, out=, sparse targets, collate, torch), for the SimCC family."""

import inspect
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from fastheat._engine.family import FAMILIES

RATIOS = [2.0, 1.0, 1.5, 2.5, 0.5, 1.7, 3.0]
SIGMAS = [6.0, (4.9, 5.66), 2.0, 7, (3, 1.5), 1.0, 0.3, 40.0]
RTMPOSE = dict(input_size=(256, 192))


def assert_identical(got, want):
    """Same dtype, shape and bits for the labels and weights."""
    assert type(got) is fastheat.SimCCTargets
    for name, g, w in zip(got._fields, got, want):
        assert (g.dtype, g.shape) == (np.float32, w.shape), name
        differ = np.argwhere(g.view(np.uint32) != np.asarray(w, np.float32).view(np.uint32))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def options_of(sigma=6.0, ratio=2.0, smoothing="gaussian", smooth_weight=0.0, normalize=True):
    return dict(sigma=sigma, simcc_split_ratio=ratio, smoothing_type=smoothing,
                label_smooth_weight=smooth_weight, normalize=normalize)


def assert_like_mmpose(keypoints, visible, input_size, *args, **kw):
    got = fastheat.encode_simcc(keypoints, visible, input_size=input_size, **options_of(*args),
                                **kw)
    assert_identical(got, naive.encode_simcc(keypoints, visible, input_size, *args))
    return got


def edge_keypoints(rng, shape, input_size, ratio, sigma):
    """float32 keypoints (``shape`` + (2,)) in input pixels whose label positions lie inside
    the labels, on their ends, exactly half-way between cells (the half-to-even rounding),
    around the ``3 sigma`` miss thresholds and far outside."""
    size = np.array([round(input_size[1] * ratio), round(input_size[0] * ratio)], np.float64)
    reach = 3 * np.broadcast_to(np.asarray(sigma, np.float64), (2,))
    n = int(np.prod(shape))
    kind = rng.integers(0, 6, (n, 2))
    inside = rng.uniform(0.0, 1.0, (n, 2)) * size
    edge = rng.choice([0.0, 1.0], (n, 2)) * (size - 1) + rng.uniform(-1.5, 1.5, (n, 2))
    halves = np.floor(rng.uniform(-0.5, 1.5, (n, 2)) * size) + 0.5
    threshold = np.where(rng.uniform(size=(n, 2)) < 0.5, -np.floor(reach) - 1, size + reach)
    threshold = threshold + rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5], (n, 2))
    far = rng.uniform(-3.0, 4.0, (n, 2)) * size
    cells = np.choose(kind, [inside, edge, halves, threshold, far, np.round(inside)])
    return (cells / ratio).astype(np.float32).reshape(*shape, 2)


def visibilities(rng, shape):
    return rng.choice([1.0, 1.0, 1.0, 0.0, 0.5, 0.49, 2.0, -1.0], shape).astype(np.float32)


# --- bit-exact with mmpose -------------------------------------------------------------------


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("sigma", SIGMAS)
def test_gaussian_labels(rng, ratio, sigma):
    for input_size in ((256, 192), (64, 48), (31, 77)):
        keypoints = edge_keypoints(rng, (3, 4, 17), input_size, ratio, sigma)
        for normalize in (True, False):
            assert_like_mmpose(keypoints, visibilities(rng, (3, 4, 17)), input_size, sigma,
                               ratio, "gaussian", 0.0, normalize)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("smooth_weight", [0.0, 0.1, 0.5, 1.0, 1])
def test_standard_labels(rng, ratio, smooth_weight):
    for input_size in ((256, 192), (64, 48), (31, 77), (2, 3)):
        keypoints = edge_keypoints(rng, (3, 4, 17), input_size, ratio, 6.0)
        assert_like_mmpose(keypoints, visibilities(rng, (3, 4, 17)), input_size, 6.0, ratio,
                           "standard", smooth_weight)


@st.composite
def simcc_batches(draw):
    """``(keypoints, visible, input_size, sigma, ratio, smoothing, smooth_weight, normalize)``:
    1-3 images of 0-20 instances of 1-17 keypoints, any input size, every option."""
    input_size = (draw(st.integers(1, 400)), draw(st.integers(1, 400)))
    ratio = draw(st.one_of(st.sampled_from(RATIOS), st.floats(0.3, 4.0)))
    if min(round(side * ratio) for side in input_size) < 1:
        ratio = 2.0
    sigma = draw(st.one_of(st.sampled_from(SIGMAS), st.floats(0.2, 12.0),
                           st.tuples(st.floats(0.2, 12.0), st.floats(0.2, 12.0))))
    smoothing = draw(st.sampled_from(["gaussian", "standard"]))
    smooth_weight = draw(st.floats(0.0, 1.0)) if smoothing == "standard" else 0.0
    shape = (draw(st.integers(1, 3)), draw(st.integers(0, 20)), draw(st.integers(1, 17)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keypoints = edge_keypoints(rng, shape, input_size, ratio, sigma)
    visible = visibilities(rng, shape) if draw(st.booleans()) else None
    return (keypoints, visible, input_size, sigma, ratio, smoothing, smooth_weight,
            draw(st.booleans()))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(simcc_batches())
def test_random_batches(batch):
    assert_like_mmpose(*batch)


def test_rtmpose_batch(rng):
    keypoints = (rng.uniform(0, 1, (16, 1, 17, 2)) * [192, 256]).astype(np.float32)
    visible = (rng.uniform(size=(16, 1, 17)) < 0.8).astype(np.float32)
    for sigma in (6.0, (4.9, 5.66)):
        assert_like_mmpose(keypoints, visible, (256, 192), sigma)
        assert_like_mmpose(keypoints, None, (256, 192), sigma, num_threads=2)


def test_label_values_follow_numpys_promotion():
    """mmpose's Gaussian is computed in the dtype NumPy's promotion gives a float32 grid minus
    a NumPy int64 centre (float64 under NumPy >= 2, NEP 50; float32 under 1.x), then stored
    in float32 and normalized in the dtype of float32 / a NumPy float64: fastheat's values are
    those of that dtype, whichever NumPy runs."""
    from fastheat.simcc import SimCCLabels

    kind = (np.zeros(1, np.float32) - np.int64(0)).dtype.type
    norm = (np.zeros(1, np.float32) / np.float64(3.0)).dtype.type
    for sigma in (4.9, 5.66, 2.0, 0.3):
        offsets = np.arange(500).astype(kind)
        want = np.exp(-(offsets * offsets) / kind(2 * sigma**2)).astype(np.float32)
        normalized = (want.astype(norm) / norm(sigma * np.sqrt(2 * np.pi))).astype(np.float32)
        for normalize, expected in ((False, want), (True, normalized)):
            got = SimCCLabels((500, 500), (sigma, sigma), "gaussian", 0.0, normalize)
            assert got.offset_values(500).tobytes() == np.stack([expected] * 2).tobytes()


def test_mmpose_rules():
    """Half to even, weights of missed keypoints, whole rows past the map."""
    kw = dict(input_size=(10, 10), simcc_split_ratio=1.0)
    got = fastheat.encode_simcc(np.array([[[[2.5, 3.5]]]], np.float32), smoothing_type="standard",
                                **kw)
    assert got.x_labels[0, 0, 0].argmax() == 2 and got.y_labels[0, 0, 0].argmax() == 4
    # gaussian: a centre 18 cells past the end still labels (3 sigma = 18 reaches back)
    got = fastheat.encode_simcc(np.array([[[[27.0, 5.0], [28.0, 5.0]]]], np.float32), **kw)
    assert got.weights.tolist() == [[[1, 0]]]
    assert got.x_labels[0, 0, 0, -1] > 0 and not got.x_labels[0, 0, 1].any()
    # standard: only centres on the labels
    got = fastheat.encode_simcc(np.array([[[[9.4, 0.0], [-0.6, 0.0]]]], np.float32),
                                smoothing_type="standard", **kw)
    assert got.weights.tolist() == [[[1, 0]]]


def test_no_instances_and_invisible_padding():
    empty = fastheat.encode_simcc(np.zeros((3, 0, 17, 2)), **RTMPOSE)
    assert empty.x_labels.shape == (3, 0, 17, 384) and empty.y_labels.shape == (3, 0, 17, 512)
    padded = np.full((1, 2, 3, 2), np.nan, np.float32)
    padded[0, 0] = [[10, 20], [30, 40], [50, 60]]
    visible = np.array([[[1, 1, 1], [0, 0, 0]]], np.float32)
    got = fastheat.encode_simcc(padded, visible, **RTMPOSE)
    assert not got.x_labels[0, 1].any() and got.x_labels[0, 0].any(axis=-1).all()
    np.testing.assert_array_equal(got.weights, [[[1, 1, 1], [0, 0, 0]]])


# --- validation ----------------------------------------------------------------------------------


def test_bad_keypoints_name_the_first_offending_entry():
    keypoints = np.zeros((2, 3, 4, 2), np.float32)
    for value, problem in ((np.nan, "is not finite"), (np.inf, "is not finite"),
                           (3e38, "is beyond .* label cells")):
        bad = keypoints.copy()
        bad[1, 2, 3, 1] = value
        bad[1, 2, 2, 0] = np.nan  # invisible: no problem
        visible = np.ones((2, 3, 4))
        visible[1, 2, 2] = 0
        with pytest.raises(ValueError, match=rf"keypoints\[1, 2, 3\] = .* {problem}"):
            fastheat.encode_simcc(bad, visible, **RTMPOSE)
    visible = np.ones((2, 3, 4))
    visible[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match=r"visible\[0, 1, 2\] = nan is not finite"):
        fastheat.encode_simcc(keypoints, visible, **RTMPOSE)
    with pytest.raises(ValueError, match=r"visible must be \(B, N, K\)"):
        fastheat.encode_simcc(keypoints, np.ones((2, 3)), **RTMPOSE)
    with pytest.raises(ValueError, match=r"keypoints must be \(B, N, K, 2\)"):
        fastheat.encode_simcc(np.zeros((3, 17, 2)), **RTMPOSE)


@pytest.mark.parametrize("options, error, match", [
    (dict(sigma=0), ValueError, "sigma must be > 0"),
    (dict(sigma=(6.0, -1.0)), ValueError, "sigma must be > 0"),
    (dict(sigma=(6.0, 5.0, 4.0)), ValueError, r"sigma must be a number or a pair"),
    (dict(sigma="6"), TypeError, "sigma must be a real number"),
    (dict(simcc_split_ratio=0), ValueError, "simcc_split_ratio must be > 0"),
    (dict(simcc_split_ratio=-2.0), ValueError, "simcc_split_ratio must be > 0"),
    (dict(simcc_split_ratio=0.001), ValueError, r"simcc_split_ratio=0.001 makes labels"),
    (dict(simcc_split_ratio=float("inf")), ValueError, "simcc_split_ratio must be finite"),
    (dict(smoothing_type="uniform"), ValueError,
     r"smoothing_type must be one of \['gaussian', 'standard'\]"),
    (dict(label_smooth_weight=0.1), ValueError, "only used with smoothing_type='standard'"),
    (dict(smoothing_type="standard", label_smooth_weight=1.5), ValueError,
     r"label_smooth_weight must be in \[0, 1\]"),
    (dict(normalize=1), TypeError, "normalize must be True or False"),
    (dict(input_size=(256, 0)), ValueError, r"input_size\[1\] must be >= 1"),
    (dict(heatmap_size=(64, 48)), TypeError, "unexpected .*'heatmap_size'"),
])
def test_bad_options_are_named(options, error, match):
    with pytest.raises(error, match=match):
        fastheat.encode_simcc(np.zeros((1, 1, 17, 2)), **{**RTMPOSE, **options})
    with pytest.raises(error, match=match):
        fastheat.SimCCEncoder(**{**RTMPOSE, **options})


def test_signatures():
    assert list(inspect.signature(fastheat.encode_simcc).parameters) == [
        "keypoints", "visible", "input_size", "sigma", "simcc_split_ratio", "smoothing_type",
        "label_smooth_weight", "normalize", "out", "sparse", "image_ids", "num_threads"]
    assert list(inspect.signature(fastheat.SimCCEncoder).parameters) == [
        "input_size", "sigma", "simcc_split_ratio", "smoothing_type", "label_smooth_weight",
        "normalize", "num_threads"]
    assert FAMILIES["simcc"].signature() == inspect.signature(fastheat.encode_simcc)
    with pytest.raises(TypeError, match="missing required option 'input_size'"):
        fastheat.SimCCEncoder()


# --- encoder, out=, sparse targets: what the engine gives every family -----------------------------


def garbage(result):
    return tuple(np.full_like(array, 7) for array in result)


BATCHES = [(2, 3, 17), (2, 3, 17), (5, 1, 17), (1, 20, 17), (3, 2, 5), (3, 2, 5), (4, 0, 5),
           (6, 4, 17)]  # (B, N, K): grow, shrink, another K, no instances
VARIANTS = [options_of(), options_of((4.9, 5.66), 1.5, normalize=False),
            options_of(ratio=2.5, smoothing="standard", smooth_weight=0.2)]


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, variant, threads):
    options = dict(RTMPOSE, **VARIANTS[variant])
    encoder = fastheat.SimCCEncoder(**options, num_threads=threads)
    for call, shape in enumerate(BATCHES):
        keypoints = edge_keypoints(rng, shape, RTMPOSE["input_size"],
                                   options["simcc_split_ratio"], options["sigma"])
        visible = visibilities(rng, shape) if call % 2 else None
        fresh = fastheat.encode_simcc(keypoints, visible, **options)
        assert_identical(fresh, naive.encode_simcc(keypoints, visible, RTMPOSE["input_size"],
                                                   *VARIANTS[variant].values()))
        copy = call % 3 == 2
        got = encoder(keypoints, visible, copy=copy)
        assert_identical(got, fresh)
        assert got.x_labels.flags.writeable == copy and got.weights.flags.writeable

        out = garbage(fresh)
        if call % 2:
            out = fastheat.SimCCTargets(*out)
        result = fastheat.encode_simcc(keypoints, visible, **options, out=out,
                                       num_threads=threads)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = pickle.loads(pickle.dumps(
            fastheat.encode_simcc(keypoints, visible, **options, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets) and sparse.family == "simcc"
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        assert all(r is o for r, o in zip(sparse.to_dense(out), out))
        assert_identical(fastheat.SimCCTargets(*out), fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)

        if call == 5:  # a failed call leaves the encoder usable
            bad = keypoints.copy()
            bad[0, 0, 0] = np.nan
            with pytest.raises(ValueError, match=r"keypoints\[0, 0, 0\]"):
                encoder(bad)


def test_sparse_targets_are_small_and_collate_per_image(rng):
    keypoints = edge_keypoints(rng, (6, 2, 17), (256, 192), 2.0, 6.0)
    visible = visibilities(rng, (6, 2, 17))
    for variant in VARIANTS:
        options = dict(RTMPOSE, **variant)
        want = fastheat.encode_simcc(keypoints, visible, **options)
        sparse = fastheat.encode_simcc(keypoints, visible, **options, sparse=True)
        assert len(pickle.dumps(sparse)) < 0.1 * want.x_labels.nbytes
        items = [fastheat.encode_simcc(keypoints[b:b + 1], visible[b:b + 1], **options,
                                       sparse=True) for b in range(6)]
        chunks = [fastheat.collate(items[:2]), fastheat.collate(items[2:])]
        for merged in (fastheat.collate(items), fastheat.collate(chunks)):
            assert_identical(merged.to_dense(), want)
            assert_identical(fastheat.SimCCEncoder(**options).render(merged), want)
    other = fastheat.encode_simcc(keypoints, visible, **RTMPOSE, sigma=3.0, sparse=True)
    with pytest.raises(ValueError, match="other sigma than this SimCCEncoder's"):
        fastheat.SimCCEncoder(**RTMPOSE).render(other)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other sigma"):
        fastheat.collate([fastheat.encode_simcc(keypoints, **RTMPOSE, sparse=True), other])


def test_far_centres_and_wide_sigmas(rng):
    """Centres far past the labels that still label (huge sigma: the table grows past the
    labels' length), through every path."""
    keypoints = edge_keypoints(rng, (3, 2, 17), (64, 48), 2.0, 6.0)
    keypoints[0, 0, :3] = [[-2.0**28, 10.0], [2.0**28, 10.0], [5000.0, -7000.0]]
    for sigma in (6.0, 1e6, (1e4, 3.0)):
        options = dict(input_size=(64, 48), sigma=sigma)
        want = naive.encode_simcc(keypoints, None, (64, 48), sigma)
        assert_identical(fastheat.encode_simcc(keypoints, **options), want)
        sparse = pickle.loads(pickle.dumps(fastheat.encode_simcc(keypoints, **options,
                                                                 sparse=True)))
        assert_identical(sparse.to_dense(), want)
        encoder = fastheat.SimCCEncoder(**options)
        assert_identical(encoder(keypoints), want)
        assert not encoder(keypoints[:, :0]).x_labels.any()


@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize("render", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(rng, variant, render):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    options = dict(RTMPOSE, **VARIANTS[variant])
    keypoints = edge_keypoints(rng, (3, 4, 17), (256, 192), options["simcc_split_ratio"],
                               options["sigma"])
    keypoints[0, 0, 0] = [1e5, 10.0]  # a far centre: the table past the labels
    want = fastheat.encode_simcc(keypoints, **options)
    sparse = fastheat.encode_simcc(keypoints, **options, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=render)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_identical(fastheat.SimCCTargets(*(tensor.numpy() for tensor in got)), want)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for _ in range(3):
        got = renderer(sparse)
        assert_identical(fastheat.SimCCTargets(*(tensor.numpy() for tensor in got)), want)


def test_bad_out_is_named_and_left_untouched(rng):
    keypoints = edge_keypoints(rng, (2, 3, 17), (256, 192), 2.0, 6.0)
    fields = fastheat.encode_simcc(keypoints, **RTMPOSE)
    for out, error, match in [
        (garbage(fields)[:2], TypeError, "out must be a tuple of 3 numpy arrays"),
        ((np.zeros((2, 3, 17, 384), np.float32), np.zeros((2, 3, 17, 384), np.float32),
          np.zeros((2, 3, 17), np.float32)), ValueError, r"out\[1\] \(y_labels\) has shape"),
    ]:
        with pytest.raises(error, match=match):
            fastheat.encode_simcc(keypoints, **RTMPOSE, out=out)
    bad = keypoints.copy()
    bad[1, 0, 0] = np.inf
    out = garbage(fields)
    with pytest.raises(ValueError, match=r"keypoints\[1, 0, 0\]"):
        fastheat.encode_simcc(bad, **RTMPOSE, out=out)
    assert all((array == 7).all() for array in out)


def test_pickled_encoder_profile_stages_and_warmup(rng):
    options = dict(RTMPOSE, **VARIANTS[1])
    encoder = fastheat.SimCCEncoder(**options)
    keypoints = edge_keypoints(rng, (2, 1, 17), (256, 192), 1.5, (4.9, 5.66))
    want = encoder(keypoints, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(keypoints), fastheat.encode_simcc(keypoints, **options))
    assert_identical(clone(keypoints), want)
    with fastheat.profile_stages() as times:
        fastheat.encode_simcc(keypoints, **RTMPOSE)
        encoder(keypoints)
    assert set(times) == {"check", "pass", "stamp", "outputs"}
    assert fastheat.warmup(num_threads=1) >= 0
