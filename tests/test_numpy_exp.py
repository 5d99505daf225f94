"""NumPy's ``exp`` inside the kernels (fastheat._engine.numpy_exp): ``exp32`` against NumPy's
float32 ``exp`` for every float32 the kernels can meet, the certified float32 rounding of
float64 Gaussians, and the families' results on every path (compiled ``exp32``, NumPy's
``exp`` where ``exp32`` differs from it, NumPy's ``exp`` for uncertain float64 values)."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:  # NumPy >= 2
    from numpy._core._multiarray_umath import __cpu_features__
except ImportError:
    from numpy.core._multiarray_umath import __cpu_features__

import fastheat
import naive
from fastheat._engine import numpy_exp, stamping
from fastheat._engine.stamping import CLEAR_ALL

FEATURES = __cpu_features__


@pytest.mark.slow
def test_exp32_is_numpys_exp_for_every_nonpositive_float32():
    """Every float32 in [-105, 0] (NumPy's results run from 1 through its subnormals to 0 at
    -103.97), then every 97th bit pattern below, and -inf: 1.1 billion values."""
    zero, limit, infinity = np.array([-0.0, -105.0, -np.inf], np.float32).view(np.uint32)
    chunk = 1 << 24
    for start, stop, step in [(int(zero), int(limit) + 1, 1), (int(limit), int(infinity), 97)]:
        for first in range(start, stop, chunk * step):
            x = np.arange(first, min(first + chunk * step, stop), step,
                          dtype=np.uint32).view(np.float32)
            differ = np.flatnonzero(numpy_exp.exp32_array(x).view(np.uint32)
                                    != np.exp(x).view(np.uint32))
            assert differ.size == 0, f"exp32({x[differ[0]]!r}) is not NumPy's"
    x = np.array([-np.inf, 0.0, -0.0], np.float32)
    assert numpy_exp.exp32_array(x).tolist() == [0.0, 1.0, 1.0]


def test_the_probe_finds_numpys_exp_on_avx2_and_avx512_hosts():
    """On x86-64 with AVX-512F, or AVX2 with FMA3 (CI's machine has AVX-512), NumPy's float32
    ``exp`` is the SIMD routine ``exp32`` transcribes: the probe must say so (else the kernels
    would take the slow path without anyone noticing). Elsewhere it may go either way; the
    NumPy path is tested below."""
    x = numpy_exp.probe_values()
    assert x.size > 500_000 and (x <= 0).all()
    if FEATURES.get("AVX512F") or (FEATURES.get("AVX2") and FEATURES.get("FMA3")):
        assert numpy_exp.exp32_is_numpys()


def test_exp64_is_within_one_ulp(rng):
    """``exp64``, the factors of the certified rounding: within 1 ulp of ``exp`` computed in x87
    extended precision over ``[-700, 0]`` (spread over the whole range, near 0 and near each
    multiple of ``ln 2 / 2``, where its reduction switches), 0 below."""
    halves = np.arange(-2020, 1) * (np.log(2) / 2)
    x = np.concatenate([-rng.uniform(0, 700, 10**6), -rng.uniform(0, 1, 10**5),
                        -rng.uniform(0, 1e-8, 10**4), halves, np.nextafter(halves, 0),
                        np.nextafter(halves, -1), [0.0, -0.0, -700.0]])
    x = x[x >= -700.0]
    got = x.copy()
    numpy_exp.exp64_in_place(got)
    exact = np.exp(x.astype(np.longdouble))
    ulp = np.spacing(exact.astype(np.float64)).astype(np.longdouble)
    assert (np.abs(got.astype(np.longdouble) - exact) / ulp).max() <= 1.0
    below = -rng.uniform(700.001, 1e5, 1000)
    numpy_exp.exp64_in_place(below)
    assert not below.any()


def test_certified_rounding_refuses_ties_and_accepts_zero():
    below, above = np.float32(1.0), np.nextafter(np.float32(1.0), np.float32(2.0))
    tie = (float(below) + float(above)) / 2  # exactly between two float32
    for a, b in [(tie, 1.0), (1.0, tie), (tie * 0.5, 2.0)]:
        assert not numpy_exp.float32_of_exp_product(a, b, 1.0, 1.0)[1]
    assert numpy_exp.float32_of_exp_product(0.0, 0.5, 700.0, 1.0) == (0.0, True)
    assert numpy_exp.float32_of_exp_product(0.5, 0.25, 3.0, 1.0) == (np.float32(0.125), True)
    nearly = np.nextafter(tie, 2.0)  # one float64 ulp off the tie: within the slack
    assert not numpy_exp.float32_of_exp_product(nearly, 1.0, 1.0, 1.0)[1]


@settings(max_examples=2000, deadline=None)
@given(st.floats(-120.0, 0.0), st.floats(-120.0, 0.0))
def test_certified_rounding_is_the_rounding_of_the_true_exp(s, t):
    """Where ``float32_of_exp_product`` is certain, its value is the float32 of ``exp(s + t)``
    computed in x87 extended precision (64-bit mantissa; rounded once to float32)."""
    value, certain = numpy_exp.float32_of_exp_product(math.exp(s), math.exp(t), -(s + t), 1.0)
    if certain:
        exact = np.exp(np.longdouble(s) + np.longdouble(t))
        assert value == np.float32(exact)


def test_uncertain_values_come_from_numpy_and_the_kernel_reruns_with_room():
    values = np.zeros(200, np.float32)
    exponents_wanted = -np.linspace(0.1, 90.0, 150)
    calls = []

    def run(indices, exponents):
        calls.append(indices.size)
        count = 0
        for k, e in enumerate(exponents_wanted):
            count = numpy_exp.note_uncertain(indices, exponents, count, 199 - k, e)
        return count

    numpy_exp.with_numpy_for_uncertain(run, values)
    assert calls == [64, 150]
    assert np.array_equal(values[199 - np.arange(150)], np.exp(exponents_wanted).astype(np.float32))
    assert not values[:50].any()


# --- the families on every path ------------------------------------------------------------------


def udp_and_dark_batch(rng):
    keypoints = (rng.uniform(-0.2, 1.2, (6, 3, 17, 2)) * [192, 256]).astype(np.float32)
    visible = (rng.uniform(size=(6, 3, 17)) < 0.8).astype(np.float32)
    return keypoints, visible


def deeplabcut_batch(rng):
    keypoints = rng.uniform(-40, 300, (3, 4, 5, 2))
    visible = rng.choice([1.0, 1.0, 0.0, -1.0], (3, 4, 5))
    return keypoints, visible


def assert_families_like_references(rng):
    keypoints, visible = udp_and_dark_batch(rng)
    for method in ("udp", "dark"):
        got = fastheat.encode_keypoints(keypoints, visible, input_size=(256, 192),
                                        heatmap_size=(64, 48), method=method)
        want = naive.encode_keypoints(keypoints, visible, (256, 192), (64, 48), 2.0, method)
        assert np.array_equal(got.heatmaps.view(np.uint32), want[0].view(np.uint32)), method
    keypoints, visible = deeplabcut_batch(rng)
    got = fastheat.encode_deeplabcut(keypoints, visible, heatmap_size=(36, 40), stride=8)
    want = naive.encode_deeplabcut(keypoints, visible, (36, 40), 8)
    assert np.array_equal(got.heatmaps.view(np.uint32), want[0].view(np.uint32))


def test_every_float64_value_uncertain_gives_numpys_bits(rng, monkeypatch):
    """With the slack raised so that every float64 Gaussian value (UDP, DeepLabCut) is
    uncertain, all of them come from NumPy's ``exp``: still the references' bits."""
    monkeypatch.setattr(numpy_exp, "SLACK_SCALE", 2.0**40)
    assert_families_like_references(rng)


def test_numpys_own_exp_where_exp32_differs(rng, monkeypatch):
    """On a host where the probe fails, float32 Gaussians (DarkPose) take NumPy's ``exp``."""
    monkeypatch.setattr(numpy_exp, "exp32_is_numpys", lambda: False)
    assert_families_like_references(rng)


@pytest.mark.parametrize("method", ["udp", "dark"])
def test_float32_gaussians_stamped_by_exp32_equal_numpys_exp(rng, method, monkeypatch):
    """A float32 point Gaussian stamped by the kernel (``stamping.stamp_exp32``) equals its
    values computed with NumPy's ``exp``: DarkPose's, and UDP's as NumPy 1.x computes it
    (float32; this NumPy keeps it float64)."""
    keypoints, visible = udp_and_dark_batch(rng)
    sparse = fastheat.encode_keypoints(keypoints, visible, input_size=(256, 192),
                                       heatmap_size=(64, 48), method=method, sparse=True)
    kind = dataclasses.replace(sparse.spec.gaussian, dtype=np.dtype(np.float32).str)
    shape = sparse.spec.map_shape(sparse.stamps.images)
    maps = [np.full(shape, np.nan, np.float32) for _ in range(2)]
    stamping.stamp_maps((maps[0],), sparse.stamps, kind, 1, CLEAR_ALL)
    monkeypatch.setattr(numpy_exp, "exp32_is_numpys", lambda: False)
    stamping.stamp_maps((maps[1],), sparse.stamps, kind, 1, CLEAR_ALL)
    assert maps[0].any() and np.array_equal(maps[0].view(np.uint32), maps[1].view(np.uint32))
