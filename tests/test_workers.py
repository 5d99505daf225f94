"""Data-loader safety: fork/spawn/forkserver workers, threads, unwritable caches, thread caps.

Every test is bounded by a timeout (a hang fails) and compares with a serial encode.
"""

import concurrent.futures
import multiprocessing
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import fastheat
from fastheat.workloads import coco_like_detections

SIZES = dict(num_classes=6, input_size=(256, 320), output_size=(64, 80))
TIMEOUT = 240


def batch(seed, batch_size=5):
    return coco_like_detections(seed, batch_size=batch_size, num_classes=6, input_size=(256, 320),
                                boxes_per_image=12)


def serial(seed, batch_size=5):
    return fastheat.encode_corners(batch(seed, batch_size), batch_size=batch_size, **SIZES, num_threads=1)


def worker_encode(seeds):
    """Runs in a worker: many batches through both front ends, default thread count."""
    encoder = fastheat.CornerEncoder(**SIZES)
    results = []
    for seed in seeds:
        fresh = fastheat.encode_corners(batch(seed), batch_size=5, **SIZES)
        reused = encoder(batch(seed), 5, copy=True)
        results.append((seed, fresh, reused, fastheat.default_num_threads()))
    return results


def check_results(results):
    for seed, fresh, reused, threads in results:
        want = serial(seed)
        for got in (fresh, reused):
            np.testing.assert_array_equal(got.tl_heatmaps, want.tl_heatmaps)
            np.testing.assert_array_equal(got.br_heatmaps, want.br_heatmaps)
        assert threads == 1  # workers default to one thread each


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("workers", [2, 4])
def test_fork_workers_after_parallel_encode_in_parent(workers):
    fastheat.encode_corners(batch(0), batch_size=5, **SIZES, num_threads=2)  # parent went parallel
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        parts = pool.map_async(worker_encode, [range(i, 40, workers) for i in range(workers)])
        for results in parts.get(timeout=TIMEOUT - 30):
            check_results(results)


INHERITED = fastheat.CornerEncoder(**SIZES)


def inherited_encoder_child(seeds):
    """A fork child using the encoder its parent used and was holding when it forked."""
    inherited = INHERITED._maps.maps
    results = [(seed, INHERITED(batch(seed), 5, copy=True)) for seed in seeds]
    return INHERITED._maps.maps is not inherited, results  # the parent's buffers are left alone


@pytest.mark.timeout(TIMEOUT)
def test_encoder_inherited_through_fork_mid_call():
    parent_maps = INHERITED(batch(100), 5, copy=True)
    INHERITED._maps.lock.acquire()  # as if a parent thread were inside a call at the fork
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            parts = pool.map_async(inherited_encoder_child, [range(0, 20, 2), range(1, 20, 2)])
            for dropped, results in parts.get(timeout=TIMEOUT - 30):
                assert dropped
                for seed, got in results:
                    np.testing.assert_array_equal(got.tl_heatmaps, serial(seed).tl_heatmaps)
                    np.testing.assert_array_equal(got.br_heatmaps, serial(seed).br_heatmaps)
    finally:
        INHERITED._maps.lock.release()
    assert INHERITED._maps.maps is not None  # the parent keeps its own, as they were
    np.testing.assert_array_equal(INHERITED._maps.maps[0][:5], parent_maps.tl_heatmaps)
    np.testing.assert_array_equal(INHERITED(batch(101), 5).br_heatmaps, serial(101).br_heatmaps)


def forked_child_parallel(seed):
    """A fork child that explicitly asks for 2 threads after an OpenMP parent: falls back safely."""
    return seed, fastheat.encode_corners(batch(seed), batch_size=5, **SIZES, num_threads=2)


@pytest.mark.timeout(TIMEOUT)
def test_fork_child_asking_for_threads():
    fastheat.encode_corners(batch(0), batch_size=5, **SIZES, num_threads=2)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for seed, got in pool.map_async(forked_child_parallel, range(6)).get(timeout=TIMEOUT - 30):
            np.testing.assert_array_equal(got.tl_heatmaps, serial(seed).tl_heatmaps)


SPAWN_SCRIPT = textwrap.dedent("""
    import multiprocessing, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    import test_workers

    if __name__ == "__main__":
        context = multiprocessing.get_context({method!r})
        with context.Pool(3) as pool:
            parts = pool.map_async(test_workers.worker_encode, [range(i, 12, 3) for i in range(3)])
            for results in parts.get(timeout={timeout}):
                test_workers.check_results(results)
        print("ok")
""")


@pytest.mark.timeout(TIMEOUT * 2)
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_workers_empty_then_warm_cache(tmp_path, method):
    script = tmp_path / "run.py"
    script.write_text(SPAWN_SCRIPT.format(tests=os.path.dirname(__file__), method=method,
                                          timeout=TIMEOUT - 30))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    for attempt in ("empty cache", "warm cache"):
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
        assert done.returncode == 0 and "ok" in done.stdout, (attempt, done.stderr[-3000:])
    assert any(name.endswith(".nbi") for _, _, files in os.walk(tmp_path / "cache") for name in files)


@pytest.mark.timeout(TIMEOUT)
def test_threads_share_encode_corners_and_own_encoders():
    encoders = [fastheat.CornerEncoder(**SIZES) for _ in range(4)]

    def work(i):
        out = []
        for seed in range(i, 60, 4):
            fresh = fastheat.encode_corners(batch(seed), batch_size=5, **SIZES)
            reused = encoders[i](batch(seed), 5, copy=True)
            out.append((seed, fresh, reused))
        return out

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for results in pool.map(work, range(4), timeout=TIMEOUT - 30):
            for seed, fresh, reused in results:
                want = serial(seed)
                np.testing.assert_array_equal(fresh.tl_heatmaps, want.tl_heatmaps)
                np.testing.assert_array_equal(reused.br_heatmaps, want.br_heatmaps)


@pytest.mark.timeout(TIMEOUT)
def test_one_encoder_in_two_threads_is_an_error_not_a_race():
    encoder = fastheat.CornerEncoder(**SIZES)
    big = batch(1, batch_size=40)
    errors = []

    def work(_):
        for _ in range(30):
            try:
                encoder(big, 40)
            except RuntimeError as error:
                errors.append(error)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(work, range(2), timeout=TIMEOUT - 30))
    assert all("another thread" in str(e) for e in errors)
    np.testing.assert_array_equal(encoder(big, 40).tl_heatmaps, serial(1, 40).tl_heatmaps)


LAYER_SCRIPT = textwrap.dedent("""
    import concurrent.futures, sys
    import numpy as np, numba
    sys.path.insert(0, {tests!r})
    import test_workers, fastheat
    def work(seed):
        return seed, fastheat.encode_corners(test_workers.batch(seed), batch_size=5,
                                             **test_workers.SIZES, num_threads=2)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for seed, got in pool.map(work, range(40)):
            np.testing.assert_array_equal(got.tl_heatmaps, test_workers.serial(seed).tl_heatmaps)
    print("ok", numba.threading_layer())
""")


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("layer", ["workqueue", "omp", "default"])
def test_threads_under_each_threading_layer(tmp_path, layer):
    script = tmp_path / "layer.py"
    script.write_text(LAYER_SCRIPT.format(tests=os.path.dirname(__file__)))
    env = dict(os.environ)
    if layer != "default":
        env["NUMBA_THREADING_LAYER"] = layer
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    if layer == "omp" and "No threading layer could be loaded" in done.stderr:
        pytest.skip("no OpenMP layer here")
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


@pytest.mark.timeout(TIMEOUT)
def test_unwritable_cache_locations_still_work(tmp_path):
    """No writable cache anywhere (as for a read-only install): kernels compile in memory."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    script = tmp_path / "ro.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import numpy as np, test_workers, fastheat
        got = fastheat.encode_corners(test_workers.batch(3), batch_size=5, **test_workers.SIZES)
        np.testing.assert_array_equal(got.tl_heatmaps, test_workers.serial(3).tl_heatmaps)
        print("ok")
    """))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(blocker / "cache"), "HOME": str(blocker),
           "XDG_CACHE_HOME": str(blocker / "xdg"), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


def test_num_threads_is_capped_and_restored():
    before = numba.get_num_threads()
    fastheat.encode_corners(batch(2), batch_size=5, **SIZES, num_threads=10_000)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="num_threads"):
        fastheat.encode_corners(batch(2), batch_size=5, **SIZES, num_threads=-1)
    assert numba.get_num_threads() == before


def test_default_threads_setting(monkeypatch):
    monkeypatch.setenv("FASTHEAT_NUM_THREADS", "1")
    assert fastheat.default_num_threads() == 1
    monkeypatch.setenv("FASTHEAT_NUM_THREADS", "lots")
    with pytest.raises(ValueError, match="FASTHEAT_NUM_THREADS"):
        fastheat.default_num_threads()
    monkeypatch.delenv("FASTHEAT_NUM_THREADS")
    assert fastheat.default_num_threads() == numba.config.NUMBA_NUM_THREADS


def test_warmup_returns_seconds():
    assert fastheat.warmup((np.float32, np.float64)) >= 0


class EncodedBatches:
    """A map-style dataset whose items are encoded batches (built per worker, as in the README)."""

    def __init__(self, count):
        self.count = count
        self.encoder = fastheat.CornerEncoder(**SIZES)  # inherited (fork) or pickled (spawn)

    def __len__(self):
        return self.count

    def __getitem__(self, seed):
        return seed, self.encoder(batch(seed), 5, copy=True), fastheat.default_num_threads()


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_torch_dataloader_workers(method):
    data = pytest.importorskip("torch.utils.data")
    dataset = EncodedBatches(16)
    fastheat.encode_corners(batch(0), batch_size=5, **SIZES, num_threads=2)  # parent went parallel
    dataset[0]  # and used the dataset's encoder
    loader = data.DataLoader(dataset, batch_size=None, num_workers=2,
                             multiprocessing_context=method, timeout=TIMEOUT - 60)
    seen = 0
    for seed, got, threads in loader:
        want = serial(int(seed))
        np.testing.assert_array_equal(np.asarray(got.tl_heatmaps), want.tl_heatmaps)
        np.testing.assert_array_equal(np.asarray(got.br_heatmaps), want.br_heatmaps)
        assert threads == 1
        seen += 1
    assert seen == 16


FORK_AFTER_WARMUP = textwrap.dedent("""
    import os, signal, sys
    import numba, numpy as np, torch
    sys.path.insert(0, {tests!r})
    import test_workers, fastheat
    torch.set_num_threads(2)
    fastheat.warmup()  # default threads: the parallel kernels run here, in the parent
    want = test_workers.serial(7)
    for task in ("torch", "fastheat"):
        pid = os.fork()
        if pid == 0:  # a hang is killed by the alarm (exit by signal), a wrong result exits 3
            signal.alarm({seconds})
            ok = False
            try:
                if task == "torch":
                    ok = bool(torch.ones(10**7).exp_().eq(torch.tensor(1.0).exp()).all())
                else:
                    got = fastheat.encode_corners(test_workers.batch(7), batch_size=5,
                                                  **test_workers.SIZES, num_threads=2)
                    ok = all(np.array_equal(g, w) for g, w in zip(got, want))
            finally:
                os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(task, os.waitstatus_to_exitcode(status))
    print("layer", numba.threading_layer())
""")


@pytest.mark.timeout(TIMEOUT)
def test_warmup_leaves_a_parent_whose_forked_children_run_threads():
    """``warmup()`` with its default threads, then ``os.fork()``: a child's multi-threaded torch
    operation and its fastheat call with ``num_threads=2`` both finish, exactly (the parallel
    kernels ran on Numba's fork-safe workqueue layer, not GNU OpenMP)."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    script = FORK_AFTER_WARMUP.format(tests=os.path.dirname(__file__), seconds=TIMEOUT // 3)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["torch", "0", "fastheat", "0", "layer", "workqueue"], done.stdout


def test_a_chosen_threading_layer_is_kept(monkeypatch):
    from fastheat._engine import parallel

    monkeypatch.setattr(numba.config, "THREADING_LAYER", "omp")
    parallel.choose_threading_layer()
    assert numba.config.THREADING_LAYER == "omp"
    monkeypatch.setattr(numba.config, "THREADING_LAYER", "default")
    monkeypatch.setenv("NUMBA_THREADING_LAYER", "tbb")
    parallel.choose_threading_layer()
    assert numba.config.THREADING_LAYER == "default"
