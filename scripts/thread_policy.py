"""Default thread policy against fixed thread counts, on an idle and on a loaded machine.

    python scripts/thread_policy.py                 # 0, 1 and 2 busy background processes
    python scripts/thread_policy.py --busy 1 --repeats 50
    NUMBA_THREADING_LAYER=omp python scripts/thread_policy.py   # GNU OpenMP instead of workqueue

Each case is timed with ``num_threads=None`` (the default policy), 1 and 2, side by side in one
process: the default and one thread interleaved call by call, then two threads. Before each call the script spins for ``--gap`` ms, as the rest of a training step
would: that is when a thread pool's idle threads fall asleep, and waking them on a busy
machine is what stalls a parallel launch. Busy processes are plain Python loops, started and
stopped by the script. Prints min, median and p90 per call in ms, and default / 1 thread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numba
import numpy as np

import fastheat
from fastheat.workloads import CORNERNET, coco_like_detections

CLASSES = {key: value for key, value in CORNERNET.items() if key != "batch_size"}
THREADS = (None, 1, 2)


def cases():
    batch = coco_like_detections(0)
    one = coco_like_detections(1, batch_size=1)
    eight = coco_like_detections(2, batch_size=8)
    out = fastheat.CornerEncoder(**CLASSES)(batch, 49, copy=True)  # two (49, 80, 128, 128) maps
    encoders = {}

    def encoder(threads):
        if threads not in encoders:
            encoders[threads] = fastheat.CornerEncoder(**CLASSES, num_threads=threads)
        return encoders[threads]

    return {
        "encoder, CornerNet batch": (lambda t: encoder(t)(batch, 49), 1),
        "encode_corners, 1 image": (lambda t: fastheat.encode_corners(
            one, batch_size=1, **CLASSES, num_threads=t), 1),
        "encode_corners, 8 images": (lambda t: fastheat.encode_corners(
            eight, batch_size=8, **CLASSES, num_threads=t), 4),
        "encode_corners, 49 images": (lambda t: fastheat.encode_corners(
            batch, **CORNERNET, num_threads=t), 10),
        "encode_corners out=, 49": (lambda t: fastheat.encode_corners(
            batch, **CORNERNET, out=out, num_threads=t), 10),
    }


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def measure(call, repeats, gap):
    """``{threads: ms per call}``: the default and 1 thread interleaved (default, 1, default,
    ...) so that both meet the same conditions, then 2 threads. (After a parallel call, GNU
    OpenMP's idle thread spins for milliseconds: interleaved, it would slow the next call.)"""
    times = {threads: [] for threads in THREADS}
    for group in ((None, 1), (2,)):
        for threads in group:
            call(threads)
        for _ in range(repeats):
            for threads in group:
                spin(gap)
                start = time.perf_counter()
                call(threads)
                times[threads].append(time.perf_counter() - start)
    return {threads: np.array(values) * 1e3 for threads, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", type=int, nargs="*", default=[0, 1, 2],
                        help="numbers of busy background processes to try")
    parser.add_argument("--repeats", type=int, default=100, help="calls per case (fewer for big ones)")
    parser.add_argument("--gap", type=float, default=3.0, help="ms of other work between calls")
    args = parser.parse_args()
    print(f"fastheat {fastheat.__version__}, default_num_threads() = {fastheat.default_num_threads()}")
    all_cases = cases()
    for busy in args.busy:
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.3)
            print(f"\n{busy} busy background process(es); ms per call: min / median / p90")
            for name, (call, divisor) in all_cases.items():
                repeats = max(5, args.repeats // divisor)
                row = measure(call, repeats, args.gap / 1e3)
                text = "  ".join(
                    f"{'default' if t is None else f'{t} thr'} {v.min():7.3f} / {np.median(v):7.3f} / "
                    f"{np.percentile(v, 90):7.3f}" for t, v in row.items())
                ratio = np.median(row[None]) / np.median(row[1])
                p90 = np.percentile(row[None], 90) / np.percentile(row[1], 90)
                print(f"  {name:27s} {text}   default/1: median {ratio:.2f}x p90 {p90:.2f}x")
        finally:
            for loop in loops:
                loop.kill()
                loop.wait()
    print(f"\nNumba threading layer: {numba.threading_layer()}")


if __name__ == "__main__":
    main()
