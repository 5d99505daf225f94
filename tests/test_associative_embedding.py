"""encode_associative_embedding and AssociativeEmbeddingEncoder against the NumPy transcription
of mmpose's AssociativeEmbedding codec (tests/naive.py), bit for bit; their validation; and what
every family gets from the engine (encoder, out=, sparse targets, collate, torch)."""

import inspect
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from fastheat._engine.family import FAMILIES
from test_keypoints import edge_keypoints, visibilities

HIGHER_HRNET = dict(input_size=(512, 512), heatmap_size=(128, 128))
SIGMAS = [None, 2.0, 1.5, 0.7, 3.3]


def assert_identical(got, want):
    """Same dtype, shape and bits for every field."""
    assert type(got) is fastheat.AssociativeEmbeddingTargets
    for name, g, w in zip(got._fields, got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        bits = f"u{g.itemsize}"
        differ = np.argwhere(g.view(bits) != w.view(bits))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def assert_like_mmpose(keypoints, visible, input_size, heatmap_size, sigma=None, use_udp=False,
                       **kw):
    got = fastheat.encode_associative_embedding(keypoints, visible, input_size=input_size,
                                                heatmap_size=heatmap_size, sigma=sigma,
                                                use_udp=use_udp, **kw)
    assert_identical(got, naive.encode_associative_embedding(keypoints, visible, input_size,
                                                             heatmap_size, sigma, use_udp))
    return got


def bottom_up_keypoints(rng, shape, input_size, heatmap_size, sigma, use_udp):
    """``edge_keypoints`` (inside, on the edges, half cells, window thresholds, far off), with
    NaN padding where invisible, and the visibilities (around the strict ``> 0.5``)."""
    method = "udp" if use_udp else "msra"
    reach = (heatmap_size[0] * heatmap_size[1])**0.5 / 64 if sigma is None else sigma
    keypoints = edge_keypoints(rng, shape, input_size, heatmap_size, reach, method)
    visible = visibilities(rng, shape)
    keypoints[(visible < 0.5) & (rng.uniform(size=shape) < 0.3)] = np.nan
    return keypoints, visible


# --- bit-exact with mmpose -------------------------------------------------------------------


@pytest.mark.parametrize("use_udp", [False, True])
@pytest.mark.parametrize("sigma", SIGMAS)
def test_edge_keypoints(rng, use_udp, sigma):
    for heatmap_size in ((128, 128), (64, 48), (80, 61), (2, 2)):
        input_size = (4 * heatmap_size[0], 4 * heatmap_size[1])
        keypoints, visible = bottom_up_keypoints(rng, (3, 10, 17), input_size, heatmap_size,
                                                 sigma, use_udp)
        assert_like_mmpose(keypoints, visible, input_size, heatmap_size, sigma, use_udp)


@st.composite
def bottom_up_batches(draw):
    """``(keypoints, visible, input_size, heatmap_size, sigma, use_udp)``: 1-3 images of 0-20
    instances of 1-17 keypoints, maps 2x2 to 160x160, any input size."""
    use_udp = draw(st.booleans())
    heatmap_size = (draw(st.integers(2, 160)), draw(st.integers(2, 160)))
    input_size = (draw(st.integers(2, 700)), draw(st.integers(2, 700)))
    sigma = draw(st.one_of(st.sampled_from(SIGMAS), st.floats(0.3, 5.0)))
    shape = (draw(st.integers(1, 3)), draw(st.integers(0, 20)), draw(st.integers(1, 17)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keypoints, visible = bottom_up_keypoints(rng, shape, input_size, heatmap_size, sigma, use_udp)
    return keypoints, visible if draw(st.booleans()) else None, input_size, heatmap_size, sigma, \
        use_udp


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bottom_up_batches())
def test_random_batches(batch):
    keypoints, visible = batch[:2]
    if visible is None:  # every keypoint visible: no NaN
        keypoints = np.nan_to_num(keypoints)
    assert_like_mmpose(keypoints, visible, *batch[2:])


def test_higher_hrnet_batch(rng):
    keypoints = (rng.uniform(0, 1, (4, 10, 17, 2)) * 512).astype(np.float32)
    visible = (rng.uniform(size=(4, 10, 17)) < 0.8).astype(np.float32)
    for use_udp in (False, True):
        assert_like_mmpose(keypoints, visible, (512, 512), (128, 128), None, use_udp)
        assert_like_mmpose(keypoints, None, (512, 512), (128, 128), None, use_udp, num_threads=2)


def test_indices():
    """``[y * W + x, v]``: strict ``> 0.5``, the cell on the map, invisible ones indexed too,
    NaN and huge cells as NumPy casts them on x86-64."""
    keypoints = np.array([[[[8.0, 4.0], [8.0, 4.0], [-1.0, 4.0], [47.9, 4.0], [np.nan, 4.0],
                            [1e30, 1e30]]]], np.float32)
    visible = np.array([[[1.0, 0.5, 1.0, 1.0, 0.0, 0.0]]], np.float32)
    got = assert_like_mmpose(keypoints, visible, (64, 48), (64, 48))
    low = np.int64(np.iinfo(np.int64).min)
    with np.errstate(over="ignore"):
        wrapped = int(low * np.int64(48) + low)
    # -1 + 0.5 truncates to cell 0: on the map
    assert got.keypoint_indices.tolist() == [[[[4 * 48 + 8, 1], [4 * 48 + 8, 0], [4 * 48 + 0, 1],
                                               [4 * 48 + 48, 0], [4 * 48 + int(low), 0],
                                               [wrapped, 0]]]]
    assert got.keypoint_weights.tolist() == [[[1, 0.5, 1, 1, 0, 0]]]


def test_default_sigma():
    spec = fastheat.AssociativeEmbeddingEncoder(input_size=(512, 384),
                                                heatmap_size=(128, 96)).spec
    assert spec.sigma == (96 * 128)**0.5 / 64 and spec.method == "msra" and not spec.use_udp


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("options, error, match", [
    (dict(sigma=0), ValueError, "sigma must be > 0"),
    (dict(sigma=-1.0), ValueError, "sigma must be > 0"),
    (dict(sigma="2"), TypeError, "sigma must be a real number"),
    (dict(use_udp=1), TypeError, "use_udp must be True or False"),
    (dict(use_udp=True, heatmap_size=(1, 8)), ValueError, "use_udp=True needs"),
    (dict(heatmap_size=(128, 0)), ValueError, r"heatmap_size\[1\] must be >= 1"),
    (dict(input_size=2.5), TypeError, "input_size must be a"),
    (dict(method="udp"), TypeError, "unexpected .*'method'"),
])
def test_bad_options_are_named(options, error, match):
    with pytest.raises(error, match=match):
        fastheat.encode_associative_embedding(np.zeros((1, 1, 17, 2)),
                                              **{**HIGHER_HRNET, **options})
    with pytest.raises(error, match=match):
        fastheat.AssociativeEmbeddingEncoder(**{**HIGHER_HRNET, **options})


def test_bad_keypoints_are_named():
    keypoints = np.zeros((2, 3, 4, 2), np.float32)
    bad = keypoints.copy()
    bad[1, 2, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"keypoints\[1, 2, 3\] = .* is not finite"):
        fastheat.encode_associative_embedding(bad, **HIGHER_HRNET)
    with pytest.raises(ValueError, match=r"visible must be \(B, N, K\)"):
        fastheat.encode_associative_embedding(keypoints, np.ones((2, 3)), **HIGHER_HRNET)
    with pytest.raises(ValueError, match=r"keypoints must be \(B, N, K, 2\)"):
        fastheat.encode_associative_embedding(np.zeros((3, 17, 2)), **HIGHER_HRNET)


def test_signatures():
    assert list(inspect.signature(fastheat.encode_associative_embedding).parameters) == [
        "keypoints", "visible", "input_size", "heatmap_size", "sigma", "use_udp", "out",
        "sparse", "image_ids", "num_threads"]
    assert list(inspect.signature(fastheat.AssociativeEmbeddingEncoder).parameters) == [
        "input_size", "heatmap_size", "sigma", "use_udp", "num_threads"]
    assert FAMILIES["associative_embedding"].signature() == \
        inspect.signature(fastheat.encode_associative_embedding)


# --- encoder, out=, sparse targets: what the engine gives every family -----------------------------


def garbage(result):
    return tuple(np.full_like(array, 7) for array in result)


BATCHES = [(2, 3, 17), (2, 3, 17), (5, 1, 17), (1, 30, 17), (3, 2, 5), (3, 2, 5), (4, 0, 5),
           (6, 4, 17)]  # (B, N, K): grow, shrink, another K, no instances
SIZES = dict(input_size=(256, 192), heatmap_size=(64, 48))


@pytest.mark.parametrize("use_udp", [False, True])
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, use_udp, threads):
    options = dict(SIZES, sigma=None if use_udp else 1.5, use_udp=use_udp)
    encoder = fastheat.AssociativeEmbeddingEncoder(**options, num_threads=threads)
    for call, shape in enumerate(BATCHES):
        keypoints, visible = bottom_up_keypoints(rng, shape, SIZES["input_size"],
                                                 SIZES["heatmap_size"], options["sigma"], use_udp)
        if call % 2 == 0:
            keypoints, visible = np.nan_to_num(keypoints), None
        fresh = fastheat.encode_associative_embedding(keypoints, visible, **options)
        assert_identical(fresh, naive.encode_associative_embedding(
            keypoints, visible, *SIZES.values(), options["sigma"], use_udp))
        copy = call % 3 == 2
        got = encoder(keypoints, visible, copy=copy)
        assert_identical(got, fresh)
        assert got.heatmaps.flags.writeable == copy and got.keypoint_indices.flags.writeable

        out = garbage(fresh)
        if call % 2:
            out = fastheat.AssociativeEmbeddingTargets(*out)
        result = fastheat.encode_associative_embedding(keypoints, visible, **options, out=out,
                                                       num_threads=threads)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = pickle.loads(pickle.dumps(
            fastheat.encode_associative_embedding(keypoints, visible, **options, sparse=True)))
        assert isinstance(sparse, fastheat.SparseTargets)
        assert sparse.family == "associative_embedding"
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        assert all(r is o for r, o in zip(sparse.to_dense(out), out))
        assert_identical(fastheat.AssociativeEmbeddingTargets(*out), fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)

        if call == 5:  # a failed call leaves the encoder usable and out untouched
            bad = keypoints.copy()
            bad[0, 0, 0] = np.inf
            out = garbage(fresh)
            with pytest.raises(ValueError, match=r"keypoints\[0, 0, 0\]"):
                encoder(bad)
            with pytest.raises(ValueError, match=r"keypoints\[0, 0, 0\]"):
                fastheat.encode_associative_embedding(bad, **options, out=out)
            assert all((array == 7).all() for array in out)


def test_sparse_targets_are_small_and_collate_per_image(rng):
    keypoints, visible = bottom_up_keypoints(rng, (6, 10, 17), *HIGHER_HRNET.values(), None,
                                             False)
    for use_udp in (False, True):
        options = dict(HIGHER_HRNET, use_udp=use_udp)
        want = fastheat.encode_associative_embedding(keypoints, visible, **options)
        sparse = fastheat.encode_associative_embedding(keypoints, visible, **options, sparse=True)
        assert len(pickle.dumps(sparse)) < 0.1 * want.heatmaps.nbytes
        items = [fastheat.encode_associative_embedding(keypoints[b:b + 1], visible[b:b + 1],
                                                       **options, sparse=True) for b in range(6)]
        chunks = [fastheat.collate(items[:2]), fastheat.collate(items[2:])]
        for merged in (fastheat.collate(items), fastheat.collate(chunks)):
            assert_identical(merged.to_dense(), want)
            assert_identical(fastheat.AssociativeEmbeddingEncoder(**options).render(merged), want)
    other = fastheat.encode_associative_embedding(keypoints, visible, **HIGHER_HRNET,
                                                  use_udp=True, sparse=True)
    with pytest.raises(ValueError, match="other .*use_udp than this AssociativeEmbeddingEncoder"):
        fastheat.AssociativeEmbeddingEncoder(**HIGHER_HRNET).render(other)


@pytest.mark.parametrize("use_udp", [False, True])
@pytest.mark.parametrize("render", ["numba", "scatter"])
def test_torch_to_dense_is_bit_identical(rng, use_udp, render):
    torch = pytest.importorskip("torch")
    import fastheat.torch as fastheat_torch

    keypoints, visible = bottom_up_keypoints(rng, (3, 10, 17), *HIGHER_HRNET.values(), None,
                                             use_udp)
    options = dict(HIGHER_HRNET, use_udp=use_udp)
    want = fastheat.encode_associative_embedding(keypoints, visible, **options)
    sparse = fastheat.encode_associative_embedding(keypoints, visible, **options, sparse=True)
    got = fastheat_torch.to_dense(sparse, method=render)
    assert all(isinstance(tensor, torch.Tensor) for tensor in got)
    assert_identical(fastheat.AssociativeEmbeddingTargets(*(t.numpy() for t in got)), want)
    renderer = fastheat_torch.Renderer(buffers=2, pin_memory=False)
    for _ in range(3):
        got = renderer(sparse)
        assert_identical(fastheat.AssociativeEmbeddingTargets(*(t.numpy() for t in got)), want)


def test_pickled_encoder_and_warmup(rng):
    encoder = fastheat.AssociativeEmbeddingEncoder(**HIGHER_HRNET, use_udp=True)
    keypoints, visible = bottom_up_keypoints(rng, (2, 5, 17), *HIGHER_HRNET.values(), None, True)
    want = encoder(keypoints, visible, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(keypoints, visible), want)
    assert fastheat.warmup(num_threads=1) >= 0
