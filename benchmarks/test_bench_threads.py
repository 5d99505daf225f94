"""The default thread policy against one thread, with 0, 1 and 2 busy background processes.

    python -m pytest benchmarks/test_bench_threads.py --benchmark-enable --benchmark-columns=min,median,max,rounds

Compare ``default`` with ``1-thread`` within each group (busy processes x case). Before each
round the benchmark spins for 3 ms, untimed, like the rest of a training step: a thread
pool's idle threads fall asleep meanwhile, and waking them on a loaded machine is what
stalls a parallel launch. ``scripts/thread_policy.py`` prints the same comparison with p90.
"""

import subprocess
import sys
import time

import pytest

import fastheat
from fastheat.workloads import CORNERNET, coco_like_detections

CLASSES = {key: value for key, value in CORNERNET.items() if key != "batch_size"}


@pytest.fixture(scope="module", params=[0, 1, 2], ids=lambda n: f"busy{n}")
def busy(request):
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(request.param)]
    time.sleep(0.3)
    yield request.param
    for loop in loops:
        loop.kill()
        loop.wait()


def spin():
    end = time.perf_counter() + 0.003
    while time.perf_counter() < end:
        pass


def run(benchmark, call, rounds):
    call()
    benchmark.pedantic(call, setup=spin, rounds=rounds, warmup_rounds=1)


@pytest.mark.parametrize("threads", [None, 1], ids=["default", "1-thread"])
def test_encoder_cornernet_batch(benchmark, busy, threads):
    benchmark.group = f"busy={busy} CornerEncoder, CornerNet batch"
    encoder = fastheat.CornerEncoder(**CLASSES, num_threads=threads)
    batch = coco_like_detections(0)
    run(benchmark, lambda: encoder(batch, 49), 200)


@pytest.mark.parametrize("threads", [None, 1], ids=["default", "1-thread"])
def test_encode_corners_single_image(benchmark, busy, threads):
    benchmark.group = f"busy={busy} encode_corners, 1 image"
    one = coco_like_detections(1, batch_size=1)
    run(benchmark, lambda: fastheat.encode_corners(one, batch_size=1, **CLASSES,
                                                   num_threads=threads), 100)


@pytest.mark.parametrize("threads", [None, 1], ids=["default", "1-thread"])
def test_encode_corners_fresh_batch(benchmark, busy, threads):
    benchmark.group = f"busy={busy} encode_corners, fresh CornerNet batch"
    batch = coco_like_detections(0)
    run(benchmark, lambda: fastheat.encode_corners(batch, **CORNERNET, num_threads=threads), 15)
