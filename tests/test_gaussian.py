"""gaussian_radius, gaussian2d and draw_gaussian against their transcriptions (tests/naive.py)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastheat
import naive


def test_seed_example():
    assert fastheat.gaussian_radius(116, 62) == 17.636455930015487
    assert isinstance(fastheat.gaussian_radius(116, 62), float)


@pytest.mark.parametrize("min_overlap", [0.3, 0.7, 0.1, 0.5])
@pytest.mark.parametrize("formula, oracle", [("cornernet", naive.gaussian_radius),
                                             ("centernet", naive.centernet_radius)])
def test_radius_all_small_boxes_exact(min_overlap, formula, oracle):
    sizes = np.arange(0, 300)
    got = fastheat.gaussian_radius(sizes[:, None], sizes[None, :], min_overlap,
                                   radius_formula=formula)
    assert got.shape == (300, 300)
    want = np.array([[oracle((h, w), min_overlap) for w in range(300)] for h in range(300)])
    np.testing.assert_array_equal(got, want)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 2**31), st.floats(0.01, 0.99),
       st.sampled_from(["cornernet", "centernet"]))
def test_radius_property(h, w, min_overlap, formula):
    oracle = naive.gaussian_radius if formula == "cornernet" else naive.centernet_radius
    assert fastheat.gaussian_radius(h, w, min_overlap, radius_formula=formula) == \
        oracle((h, w), min_overlap)


def test_radius_float_sizes():
    for h, w in [(116.5, 62.25), (0.1, 7.3), (3e6 + 0.5, 1.5)]:
        assert fastheat.gaussian_radius(h, w) == naive.gaussian_radius((h, w), 0.3)


@pytest.mark.parametrize("shape, sigma", [((1, 1), 1 / 6), ((7, 7), 7 / 6), ((5, 9), 2.0),
                                          ((35, 35), 35 / 6), ((11, 11), 0.3)])
def test_gaussian2d(shape, sigma):
    np.testing.assert_array_equal(fastheat.gaussian2d(shape, sigma), naive.gaussian2d(shape, sigma))


def test_gaussian2d_extreme_sigmas_are_finite():
    for sigma in (1e-150, 1e150):
        assert np.isfinite(fastheat.gaussian2d((3, 4), sigma)).all()
    np.testing.assert_array_equal(fastheat.gaussian2d([5, 9], 2), naive.gaussian2d((5, 9), 2.0))


@pytest.mark.parametrize("shape, sigma, error, match", [
    ((0, 3), 1.0, ValueError, r"shape\[0\]"), ((3, -1), 1.0, ValueError, r"shape\[1\]"),
    ((3.0, 3), 1.0, TypeError, r"shape\[0\]"), (3, 1.0, TypeError, "shape"),
    ((3, 3, 3), 1.0, TypeError, "shape"), ({3, 4}, 1.0, TypeError, "shape"),
    ((2**30, 2**30), 1.0, ValueError, "shape=.* GiB"),
    ((3, 3), 0.0, ValueError, "sigma"), ((3, 3), -1.0, ValueError, "sigma"),
    ((3, 3), np.nan, ValueError, "sigma"), ((3, 3), np.inf, ValueError, "sigma"),
    ((3, 3), "1", TypeError, "sigma"),
    ((3, 3), 1e-200, ValueError, "sigma must be >= 1e-150"),  # 2 * sigma**2 underflows to 0
    ((3, 3), 1e200, ValueError, "sigma must be <= 1e"),  # 2 * sigma**2 overflows
])
def test_gaussian2d_checks(shape, sigma, error, match):
    with pytest.raises(error, match=match):
        fastheat.gaussian2d(shape, sigma)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k, delte", [(1, 6), (0.75, 6), (2, 3), (1, 25)])
def test_draw_gaussian_matches_seed_on_the_map(dtype, k, delte):
    rng = np.random.default_rng(1)
    for radius, x, y in itertools.product([0, 1, 4, 13], [0, 3, 19, 20], [0, 1, 16, 17]):
        heatmap = rng.uniform(0, 1, (18, 21)).astype(dtype)
        want = heatmap.copy()
        naive.draw_gaussian(want, [x, y], radius, k=k, delte=delte)
        got = fastheat.draw_gaussian(heatmap, (x, y), radius, k=k, delte=delte)
        assert got is heatmap
        np.testing.assert_array_equal(got, want)


def brute_force(shape, center, radius, k, delte, dtype):
    """Cell by cell: the full Gaussian from the seed, clipped to the map."""
    gaussian = naive.gaussian2d((2 * radius + 1,) * 2, sigma=(2 * radius + 1) / delte) * k
    heatmap = np.zeros(shape, dtype)
    x, y = center
    for yy, xx in itertools.product(range(shape[0]), range(shape[1])):
        if abs(yy - y) <= radius and abs(xx - x) <= radius:
            heatmap[yy, xx] = gaussian[yy - y + radius, xx - x + radius]
    return heatmap


@settings(max_examples=150, deadline=None)
@given(st.integers(-30, 40), st.integers(-30, 40), st.integers(0, 25),
       st.sampled_from([np.float32, np.float64]))
def test_draw_gaussian_any_center(x, y, radius, dtype):
    """Any centre, even far off the map: only the visible part is stamped."""
    heatmap = np.zeros((9, 14), dtype)
    fastheat.draw_gaussian(heatmap, (x, y), radius)
    np.testing.assert_array_equal(heatmap, brute_force((9, 14), (x, y), radius, 1.0, 6, dtype))
    seed = np.zeros((9, 14), dtype)
    naive.draw_gaussian(seed, [x, y], radius)  # where the seed works, it agrees
    if 0 <= x < 14 and 0 <= y < 9:
        np.testing.assert_array_equal(heatmap, seed)


def test_draw_gaussian_strided_view_and_huge_radius():
    big = np.zeros((40, 60), np.float64)
    view = big[::2, 1::3]
    fastheat.draw_gaussian(view, (5, 6), 3)
    want = np.zeros((20, 20))
    naive.draw_gaussian(want, [5, 6], 3)
    np.testing.assert_array_equal(view, want)
    assert big[1::2].sum() == 0
    heatmap = np.zeros((5, 5), np.float32)
    fastheat.draw_gaussian(heatmap, (-2000, 2), 2001)
    np.testing.assert_array_equal(heatmap, brute_force((5, 5), (-2000, 2), 2001, 1.0, 6, np.float32))


def test_gaussian_radius_refuses_the_references_det_size_pair():
    with pytest.raises(TypeError, match="det_size"):
        fastheat.gaussian_radius((16, 16), 0.7)
    assert fastheat.gaussian_radius(16, 16, 0.7) == pytest.approx(1.3067, abs=1e-4)
    np.testing.assert_array_equal(fastheat.gaussian_radius(np.array([16, 16]), 20),
                                  fastheat.gaussian_radius(16, 20))
