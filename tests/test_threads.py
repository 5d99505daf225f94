"""The thread policy: serial unless parallel work pays now, never a stall under load, never a
hang after fork (whatever started GNU OpenMP), no oversubscription across processes."""

import os
import subprocess
import sys
import textwrap
import time

import numba
import numpy as np
import pytest

import fastheat
from fastheat._engine import parallel as _threads
from fastheat.workloads import CORNERNET, coco_like_detections

TIMEOUT = 240
CLASSES = {key: value for key, value in CORNERNET.items() if key != "batch_size"}


def test_small_work_runs_serially_large_work_in_parallel_when_cores_are_idle(monkeypatch):
    monkeypatch.setattr(_threads, "default_num_threads", lambda: 4)
    monkeypatch.setattr(_threads, "_idle_cores", lambda: 3)
    big = _threads.PARALLEL_MIN_WORK
    assert _threads.threads_for(None, 49, big - 1) == 1  # too little work
    assert _threads.threads_for(None, 1, 10 * big) == 1  # one image: nothing to split
    assert _threads.threads_for(None, 49, big) == 4
    assert _threads.threads_for(None, 3, big) == 3  # at most one thread per image
    monkeypatch.setattr(_threads, "_idle_cores", lambda: 1)
    assert _threads.threads_for(None, 49, big) == 2  # one idle core: this thread + one
    monkeypatch.setattr(_threads, "_idle_cores", lambda: 0)
    assert _threads.threads_for(None, 49, big) == 1  # loaded machine
    assert _threads.threads_for(3, 1, 0) == 3  # an explicit count is obeyed


def test_idle_cores_sees_a_busy_process():
    if not os.path.exists("/proc/loadavg"):
        pytest.skip("no /proc/loadavg")
    usable = len(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(usable)]
    try:
        time.sleep(0.5)
        assert min(_threads._idle_cores() for _ in range(20)) == 0
    finally:
        for process in busy:
            process.kill()
            process.wait()


def test_thread_count_is_not_set_when_unchanged(monkeypatch):
    calls = []
    monkeypatch.setattr(numba, "set_num_threads", lambda n: calls.append(n))
    detections = coco_like_detections(0, batch_size=4, num_classes=5, input_size=(64, 64))
    sizes = dict(batch_size=4, num_classes=5, input_size=(64, 64), output_size=(16, 16))
    fastheat.encode_corners(detections, **sizes)
    fastheat.encode_corners(detections, **sizes, num_threads=1)
    fastheat.encode_corners(detections, **sizes, num_threads=numba.get_num_threads())
    assert calls == []


def test_default_calls_spend_no_parallel_launch_on_small_work(monkeypatch):
    launched = []
    monkeypatch.setattr(_threads, "_idle_cores", lambda: 8)
    real = _threads.run_kernel
    monkeypatch.setattr(_threads, "run_kernel",
                        lambda serial, parallel, threads, *args: (launched.append(threads),
                                                                  real(serial, parallel, threads, *args)))
    encoder = fastheat.CornerEncoder(**CLASSES)
    detections = coco_like_detections(0)
    encoder(detections, 49)  # first call: allocates and touches 490 MiB of maps
    for _ in range(3):
        encoder(detections, 49)  # sparse reset: ~0.2 ms of work
    one = coco_like_detections(1, batch_size=1)
    fastheat.encode_corners(one, batch_size=1, **CLASSES)
    assert launched[1:] == [1, 1, 1, 1]
    assert launched[0] == min(fastheat.default_num_threads(), 49)


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np, torch
    import fastheat
    from fastheat.workloads import coco_like_detections
    sizes = dict(batch_size=6, num_classes=5, input_size=(128, 128), output_size=(64, 64))
    detections = coco_like_detections(0, batch_size=6, num_classes=5, input_size=(128, 128))
    want = fastheat.encode_corners(detections, **sizes, num_threads=1)
    torch.set_num_threads(2)
    torch.ones(10**7).exp_()  # starts torch's GNU OpenMP pool in the parent
    pid = os.fork()
    if pid == 0:
        for threads in {threads}:
            got = fastheat.encode_corners(detections, **sizes, num_threads=threads)
            ok = all(np.array_equal(g, w) for g, w in zip(got, want))
            print(threads, "ok" if ok else "WRONG", flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child status", status)
""")


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("env_threads", [None, "2"])
def test_fork_after_torch_started_gnu_openmp(tmp_path, env_threads):
    pytest.importorskip("torch")
    script = tmp_path / "fork.py"
    script.write_text(FORK_SCRIPT.format(threads="(None, 2)"))
    env = dict(os.environ)
    env.pop("FASTHEAT_NUM_THREADS", None)
    if env_threads:
        env["FASTHEAT_NUM_THREADS"] = env_threads
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT - 30)  # a hang fails here
    assert done.returncode == 0, done.stderr[-3000:]
    assert "None ok" in done.stdout and "2 ok" in done.stdout and "child status 0" in done.stdout


LOADER_SCRIPT = textwrap.dedent("""
    import numpy as np, torch
    from torch.utils.data import DataLoader, Dataset
    import fastheat
    from fastheat.workloads import coco_like_detections
    SIZES = dict(num_classes=5, input_size=(128, 128), output_size=(64, 64))

    def detections(seed):
        return coco_like_detections(seed, batch_size=6, num_classes=5, input_size=(128, 128))

    class Items(Dataset):
        def __len__(self):
            return 8
        def __getitem__(self, seed):
            return seed, fastheat.encode_corners(detections(seed), batch_size=6, **SIZES).tl_heatmaps

    if __name__ == "__main__":
        torch.ones(10**7).exp_()  # GNU OpenMP running in the parent before the workers fork
        loader = DataLoader(Items(), batch_size=None, num_workers=2,
                            multiprocessing_context="fork", timeout=120)
        for seed, got in loader:
            want = fastheat.encode_corners(detections(int(seed)), batch_size=6, **SIZES, num_threads=1)
            assert np.array_equal(np.asarray(got), want.tl_heatmaps)
        print("ok")
""")


@pytest.mark.timeout(TIMEOUT)
def test_dataloader_workers_with_threads_after_torch_op(tmp_path):
    pytest.importorskip("torch")
    script = tmp_path / "loader.py"
    script.write_text(LOADER_SCRIPT)
    env = {**os.environ, "FASTHEAT_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT - 30)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


def test_forked_child_is_parallel_only_without_inherited_pools(monkeypatch):
    monkeypatch.setattr(_threads, "_forked", True)
    for layer_started, gomp, safe in ((False, False, True), (True, False, False), (False, True, False)):
        monkeypatch.setattr(_threads, "_fork_safe", None)
        monkeypatch.setattr(_threads._numba_parallel, "_is_initialized", layer_started)
        monkeypatch.setattr(_threads, "_gnu_openmp_loaded", lambda: gomp)
        assert _threads._parallel_is_safe() is safe


TIMING_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    import fastheat
    from fastheat.workloads import CORNERNET, coco_like_detections
    classes = {{k: v for k, v in CORNERNET.items() if k != "batch_size"}}
    batch, one = coco_like_detections(0), coco_like_detections(1, batch_size=1)
    small = coco_like_detections(2, batch_size=8)
    threads = {threads}
    encoders = {{t: fastheat.CornerEncoder(**classes, num_threads=t) for t in threads}}
    cases = {{
        "encoder batch": (lambda t: encoders[t](batch, 49), {repeats}),
        "single image": (lambda t: fastheat.encode_corners(
            one, batch_size=1, **classes, num_threads=t), {repeats}),
        "fresh batch of 8": (lambda t: fastheat.encode_corners(
            small, batch_size=8, **classes, num_threads=t), {repeats} // 4),
    }}

    def spin(seconds):  # the rest of a training step: the pool's threads fall asleep meanwhile
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    result = {{str(t): {{}} for t in threads}}
    for case, (call, repeats) in cases.items():
        out = {{t: [] for t in threads}}
        for t in threads:
            call(t)
        for _ in range(repeats):
            for t in threads:  # interleaved: every thread count meets the same load
                spin(0.003)
                start = time.perf_counter()
                call(t)
                out[t].append(time.perf_counter() - start)
        for t in threads:
            result[str(t)][case] = [float(np.median(out[t])), float(np.percentile(out[t], 90))]
    print(json.dumps(result))
""")



def assert_default_near_one_thread(result):
    """The default call's median within twice one thread's (plus 1 ms), case by case. The
    stalls these tests guard against (a parallel launch waiting 3 to 12 ms) hit every call, so
    the medians show them; tail percentiles are not compared: on a shared machine with more
    busy processes than cores, a scheduler time slice (up to tens of ms) lands on either kind
    of call now and then (a p90 over 30 calls failed that way in CI)."""
    for case, (median, _) in result["None"].items():
        one_median, _ = result["1"][case]
        assert median <= 2 * one_median + 1e-3, (case, result)


def timings(tmp_path, threads=(None, 1), repeats=120, processes=1):
    script = tmp_path / "timing.py"
    script.write_text(TIMING_SCRIPT.format(threads=threads, repeats=repeats))
    env = {key: value for key, value in os.environ.items() if key != "FASTHEAT_NUM_THREADS"}
    runs = [subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                             text=True) for _ in range(processes)]
    import json
    return [json.loads(run.communicate(timeout=TIMEOUT - 30)[0]) for run in runs]


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
def test_default_call_does_not_stall_under_load(tmp_path):
    """With a busy process on every core but one, the default call stays near one thread's."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(max(1, len(os.sched_getaffinity(0)) - 1))]
    try:
        (result,) = timings(tmp_path)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert_default_near_one_thread(result)


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
def test_independent_processes_do_not_oversubscribe(tmp_path):
    """Two processes not started by multiprocessing (as torchrun ranks), running at once, each
    timing its default calls and its one-thread calls side by side."""
    for result in timings(tmp_path, threads=(None, 1), processes=2):
        assert_default_near_one_thread(result)
