"""The Gaussian value tables: bounded by the map and a byte budget, grown on demand, exact."""

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections import OrderedDict

import numpy as np
import pytest

import fastheat
import naive
from fastheat._engine import stamping, tables
from fastheat._engine.stamps import Stamps
from fastheat._engine.tables import CACHE_BYTES, CACHE_KEYS, TABLE_BYTES, budget_radius, table_size

DTYPES = [np.float32, np.float64]


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty table cache for this test; the shared one is left as it was."""
    monkeypatch.setattr(tables, "_TABLES", OrderedDict())
    return tables._TABLES


def cached(delte=6.0, k=1.0, dtype=np.float32):
    return tables._TABLES[(float(delte), float(k), np.dtype(dtype).str)]


def gaussian_table(delte, k, dtype, max_radius, map_size):
    return tables.table_of((float(delte), float(k)), np.dtype(dtype), max_radius, map_size)


def stamps_of(points, radii):
    """One image's stamps: point ``i`` at ``points[i]`` (x, y) into map 0, and at the
    reversed list's ``i``-th point into map 1, both with ``radii[i]``, channel 0."""
    points = np.asarray(points, np.int64).reshape(-1, 2)
    radii = np.asarray(radii, np.int64)
    n = len(points)
    rows = [np.column_stack([np.full(n, m), np.zeros(n, np.int64), pts, radii])
            for m, pts in enumerate((points, points[::-1]))]
    return Stamps(np.array([0, 2 * n]), np.vstack(rows), int(radii.max(initial=-1)),
                  int((np.minimum(2 * radii + 1, 1 << 20) ** 2).sum()))


def stamp_points(points, radii, output_size, dtype, delte=6, k=1.0):
    """The stamping kernel on one image of two (1, 1, H, W) maps (``stamps_of``)."""
    maps = tuple(np.zeros((1, 1, *output_size), dtype) for _ in range(2))
    stamping.stamp_maps(maps, stamps_of(points, radii), (float(delte), float(k)), 1,
                        stamping.TOUCH_PAGES)
    return maps[0][0, 0], maps[1][0, 0]


def oracle(points, radii, output_size, dtype, delte=6, k=1.0):
    """The seed's full Gaussian (tests/naive.py), clipped to the map: any centre."""
    maps = np.zeros(output_size, dtype), np.zeros(output_size, dtype)
    points = np.asarray(points, np.int64).reshape(-1, 2)
    for heatmap, pts in zip(maps, (points, points[::-1])):
        for (x, y), r in zip(pts.tolist(), np.asarray(radii).tolist()):
            d = 2 * r + 1
            gaussian = naive.gaussian2d((d, d), sigma=d / delte)
            y0, y1 = max(y - r, 0), min(y + r + 1, output_size[0])
            x0, x1 = max(x - r, 0), min(x + r + 1, output_size[1])
            if y0 < y1 and x0 < x1:
                target = heatmap[y0:y1, x0:x1]
                window = gaussian[y0 - y + r:y1 - y + r, x0 - x + r:x1 - x + r]
                np.maximum(target, window * k, out=target)
    return maps


def boundary_points(r, output_size, rng):
    """Centres on the map, on its edges, just visible off it, just invisible, and random."""
    h, w = output_size
    fixed = [(0, 0), (w - 1, h - 1), (w // 2, h // 3), (-r, h // 2), (w - 1 + r, 0),
             (3, -r), (w // 3, h - 1 + r), (-r - 1, 2), (w + r, h + r), (-r, -r)]
    random = rng.integers(-r - 3, max(h, w) + r + 3, (6, 2))
    return np.vstack([fixed, random])


def assert_exact(points, radii, output_size, dtype, **options):
    got = stamp_points(points, radii, output_size, dtype, **options)
    want = oracle(points, radii, output_size, dtype, **options)
    for g, w in zip(got, want):
        mismatches = np.argwhere(g != w)
        assert mismatches.size == 0, f"{len(mismatches)} cells differ, first at {mismatches[0]}"


def test_offsets_are_closed_form():
    sizes = np.cumsum([(q + 1) * (2 * q + 1) for q in range(500)])  # rows dy = 0..q, dx = -q..q
    assert [table_size(r) for r in range(500)] == sizes.tolist()
    assert [stamping.table_offset(r) for r in range(1, 500)] == sizes[:-1].tolist()
    assert [tables.table_offset(r) for r in range(1, 500)] == sizes[:-1].tolist()
    assert stamping.table_offset(0) == 0 and table_size(-1) == 0
    for itemsize in (4, 8):
        radius = budget_radius(itemsize)
        assert table_size(radius) * itemsize <= TABLE_BYTES < table_size(radius + 1) * itemsize
    assert (budget_radius(4), budget_radius(8)) == (291, 231)


@pytest.mark.parametrize("dtype", DTYPES)
def test_table_values_are_the_seeds(fresh_cache, dtype):
    table, covered = gaussian_table(3.5, 0.75, dtype, 40, 64)
    assert covered == 40 and table.dtype == dtype and table.size == table_size(40)
    for r in (0, 1, 7, 39, 40):
        d = 2 * r + 1
        rows = naive.gaussian2d((d, d), d / 3.5)[r:, :] * 0.75  # dy = 0..r, dx = -r..r
        offset = tables.table_offset(r)
        np.testing.assert_array_equal(table[offset:offset + (r + 1) * d].reshape(r + 1, d),
                                      rows.astype(dtype))


def test_tables_grow_to_the_map_at_most(fresh_cache):
    table, covered = gaussian_table(6, 1.0, np.float32, 1000, 64)  # the issue's map
    assert covered == 64 and table.nbytes == table_size(64) * 4
    assert gaussian_table(6, 1.0, np.float32, 30, 64)[0] is table  # covered: no work
    assert gaussian_table(6, 1.0, np.float32, 1023, 64)[0] is table  # capped: no work either
    table, covered = gaussian_table(6, 1.0, np.float32, 90, 100)  # a larger map
    assert covered == 90
    assert gaussian_table(6, 1.0, np.float32, 120, 16)[1] == 90  # a smaller map: kept as it is
    for dtype in DTYPES:  # the byte budget
        table, covered = gaussian_table(6, 1.0, dtype, 5000, 5000)
        assert covered == budget_radius(np.dtype(dtype).itemsize)
        assert table.nbytes == table_size(covered) * np.dtype(dtype).itemsize <= TABLE_BYTES


def test_encode_corners_grows_tables_to_the_map(fresh_cache):
    huge = np.array([[0, 0, -30000.0, -30000.0, 30000.0, 30000.0], [0, 0, 1, 1, 9, 9]])
    kw = dict(batch_size=1, num_classes=1, input_size=(64, 64))
    fastheat.encode_corners(huge, **kw, output_size=(40, 64))
    assert cached().covered == 64
    fastheat.encode_corners(huge, **kw, output_size=(16, 16), dtype=np.float64, k=0.5)
    assert cached(k=0.5, dtype=np.float64).covered == 16
    fastheat.encode_corners(huge[1:], **kw, output_size=(16, 16), gaussian_rad=5, delte=3)
    assert cached(delte=3).covered == 5


def test_cache_bounds(fresh_cache):
    for i in range(CACHE_KEYS + 4):  # small tables: at most CACHE_KEYS of them
        gaussian_table(6, 1.0 + i, np.float32, 10, 64)
        assert len(fresh_cache) <= CACHE_KEYS
    assert (6.0, 1.0 + CACHE_KEYS + 3, "<f4") in fresh_cache  # the last used is kept
    assert (6.0, 1.0, "<f4") not in fresh_cache  # the least recently used went first
    nbytes = table_size(200) * 8  # 43 MB: two fit in CACHE_BYTES, not three
    for i in range(6):
        table, covered = gaussian_table(6, 2.0 + i, np.float64, 200, 300)
        assert covered == 200 and table.nbytes == nbytes
        total = sum(t.values.nbytes for t in fresh_cache.values())
        assert total <= CACHE_BYTES and len(fresh_cache) <= CACHE_KEYS
        assert (6.0, 2.0 + i, "<f8") in fresh_cache
    assert len(fresh_cache) == CACHE_BYTES // nbytes


@pytest.mark.parametrize("dtype", DTYPES)
def test_boundary_radii_are_exact(fresh_cache, rng, dtype):
    size = (23, 37)  # max(H, W) = 37
    table, covered = gaussian_table(6, 1.0, dtype, 10, 37)
    assert covered == 10
    for radii in ([10], [10, 11], [36, 37, 38, 39], [0, 11, 12, 37, 38, 300]):
        points = np.vstack([boundary_points(r, size, rng) for r in radii])
        all_radii = np.repeat(radii, len(points) // len(radii))
        assert_exact(points, all_radii, size, dtype)
    assert cached(dtype=dtype).covered == 37
    assert_exact([(5, 5), (40, 9)], [37, 38], size, dtype, delte=2.5, k=0.625)  # another key


@pytest.mark.parametrize("dtype", DTYPES)
def test_budget_boundary_is_exact(fresh_cache, rng, dtype):
    radius = budget_radius(np.dtype(dtype).itemsize)
    size = (radius + 5, radius + 2)
    radii = [radius - 1, radius, radius + 1, radius + 2]
    points = np.vstack([boundary_points(r, size, rng)[[0, 1, 2, 3, 7, 10]] for r in radii])
    assert_exact(points, np.repeat(radii, 6), size, dtype)
    assert cached(dtype=dtype).covered == radius


@pytest.mark.parametrize("dtype", DTYPES)
def test_growth_from_a_small_map_to_a_larger_one(fresh_cache, rng, dtype):
    small, large = (16, 12), (80, 96)
    assert_exact(boundary_points(40, small, rng), [40] * 16, small, dtype)
    assert cached(dtype=dtype).covered == 16
    radii = [3, 16, 17, 50, 95, 96, 97]
    points = np.vstack([boundary_points(r, large, rng) for r in radii])
    assert_exact(points, np.repeat(radii, 16), large, dtype)
    grown = cached(dtype=dtype)
    assert grown.covered == 96
    assert_exact(boundary_points(60, small, rng), [60] * 16, small, dtype)  # from the table
    assert cached(dtype=dtype) is grown and grown.covered == 96
    at_once = tables.GaussianTable(6.0, 1.0, np.dtype(dtype))
    at_once.grow(96)
    np.testing.assert_array_equal(grown.values, at_once.values)


def test_concurrent_growth_is_exact(fresh_cache):
    kw = dict(batch_size=1, num_classes=1, input_size=(64, 64), output_size=(64, 64))
    detections = np.array([[0, 0, 3.0, 7.0, 40.0, 61.0], [0, 0, -20.0, 30.0, 10.0, 80.0]])
    want = {r: naive.encode_corners(detections, 1, 1, (64, 64), (64, 64), gaussian_rad=r)
            for r in range(0, 70, 3)}
    failures = []

    def work(radii):
        for r in radii:
            got = fastheat.encode_corners(detections, **kw, gaussian_rad=r, num_threads=1)
            if not all(np.array_equal(g, w) for g, w in zip(got, want[r])):
                failures.append(r)

    threads = [threading.Thread(target=work, args=(list(want)[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and cached().covered == 64


def test_encoder_clears_window_stamped_points(rng):
    """CornerEncoder's sparse reset clears the fallback points' windows too."""
    kw = dict(num_classes=2, input_size=(64, 64), output_size=(32, 32))
    encoder = fastheat.CornerEncoder(**kw)
    for _ in range(4):
        n = int(rng.integers(1, 8))
        x1, y1 = rng.uniform(-600, 60, n), rng.uniform(-600, 60, n)
        side = rng.choice([5.0, 30.0, 700.0], n) * rng.uniform(0.5, 1.5, n)  # radii < and > 32
        detections = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n),
                                      x1, y1, x1 + side, y1 + side])
        got = encoder(detections, 2)
        want = fastheat.encode_corners(detections, batch_size=2, **kw)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    tl, br = encoder(np.zeros((0, 6)), 2)
    assert not tl.any() and not br.any()


ISSUE_CASE = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np
    import fastheat
    from fastheat._engine import stamping
    from fastheat._engine.stamps import Stamps

    dtype = np.dtype(sys.argv[1])
    kw = dict(batch_size=1, num_classes=1, input_size=(64, 64), output_size=(64, 64), dtype=dtype)
    rng = np.random.default_rng(9)
    radii = np.tile(np.arange(300, 1024), 2)  # every window covers most of the map
    points = np.column_stack([np.repeat([0, 1], 724), np.zeros(1448, np.int64),
                              rng.integers(0, 64, (1448, 2)), radii])
    stamps = Stamps(np.array([0, 1448]), points, 1023, 1448 * 64 * 64)
    sizes = np.arange(8000)
    radii = fastheat.gaussian_radius(sizes, sizes).astype(np.int64)
    side = np.array([sizes[np.argmax(radii == r)] for r in range(300, 1024)], np.float64)
    x1, y1 = rng.uniform(-side, 64.0), rng.uniform(-side, 64.0)
    detections = np.column_stack([np.zeros((724, 2)), x1, y1, x1 + side, y1 + side])
    maps = lambda: tuple(np.zeros((1, 1, 64, 64), dtype) for _ in range(2))
    calls = {"stamp_maps": lambda: stamping.stamp_maps(maps(), stamps, (6.0, 1.0), 2,
                                                       stamping.TOUCH_PAGES),
             "encode_corners": lambda: fastheat.encode_corners(detections, **kw)}
    fastheat.encode_corners([[0, 0, 1, 1, 3, 3]], **kw)  # compile or load the kernels,
    fastheat.encode_corners([[0, 0, 1, 1, 3, 3]], **kw, num_threads=2)  # the parallel one too
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = {}
    for name, call in calls.items():
        times[name] = []
        for _ in range(3):
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"times": times, "rss_kib": grown}))
""")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_issue_case_is_fast_and_small(dtype):
    """724 boxes with radii 300..1023 on a 64x64 map: was 6 s and 3.5 GB in one call."""
    root = os.path.dirname(os.path.dirname(fastheat.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", ISSUE_CASE, dtype], env=env, cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["rss_kib"] < 100 * 1024, result
    for times in result["times"].values():
        assert min(times) < 0.2 and max(times) < 1.0, result


@pytest.mark.parametrize("dtype", DTYPES)
def test_issue_case_is_exact(rng, dtype):
    points = rng.integers(0, 64, (724, 2))
    radii = np.arange(300, 1024)
    got = stamp_points(points, radii, (64, 64), dtype)
    want = np.zeros((64, 64), dtype), np.zeros((64, 64), dtype)
    for heatmap, pts in zip(want, (points, points[::-1])):
        for (x, y), r in zip(pts.tolist(), radii.tolist()):
            fastheat.draw_gaussian(heatmap, (x, y), r)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    few = [0, 300, 723]  # and the seed's own full Gaussians for a few
    seed = oracle(points[few], radii[few], (64, 64), dtype)
    np.testing.assert_array_equal(stamp_points(points[few], radii[few], (64, 64), dtype)[0], seed[0])


def test_clear_window_clears_its_window_only():
    """A window left of the map has a negative stop: a slice would wrap around (it did: a
    parallel encoder then lost other images' stamps)."""
    flat = np.ones(2 * 4 * 5)  # two 4 x 5 maps
    want = np.ones((2, 4, 5))
    want[1, 2:4, 0:2] = 0.0
    stamping.clear_window(flat, 20, 4, 5, 0, 3, 1)  # second map: rows 2-3, columns 0-1
    np.testing.assert_array_equal(flat.reshape(2, 4, 5), want)
    for x, y in [(7, 1), (2, -5), (2, 9), (-3, 2), (-3, 0)]:  # invisible windows, on every side
        stamping.clear_window(flat, 0, 4, 5, x, y, 1)
        np.testing.assert_array_equal(flat.reshape(2, 4, 5), want, err_msg=f"x={x}, y={y}")
