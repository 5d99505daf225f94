"""How fresh outputs and reused encoders are cleared, the old way and the current one, side by
side in one process (the README's "Fresh outputs and encoders' clearing").

    python scripts/clear_modes.py             # 300 calls of each, about a minute
    python scripts/clear_modes.py --calls 20  # to check that it runs

Fresh outputs: ``encode_keypoints`` with every fresh output zeroed by ``np.zeros`` (the old
way: ``sinks.CLEARED_FRESH_BYTES = 0``) and with outputs up to 32 MiB allocated uninitialised
and cleared image by image by the kernel (the current default). Encoders: a
``KeypointEncoder`` fed two batches in turn, clearing its previous call's windows always (the
old way: ``stamping.ROW_BYTES = 0``) or its whole buffers where that is cheaper (the current
default). The two ways alternate call by call, one thread; printed: min / median per way,
after checking that both give the same bits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "benchmarks"), os.path.join(ROOT, "tests")]

import fastheat  # noqa: E402
from fastheat._engine import sinks, stamping  # noqa: E402
from machine import cpu_line  # noqa: E402
from test_bench_keypoints import pose_batch, workload  # noqa: E402

CASES = [("top-down", "dark"), ("bottom-up", "msra"), ("top-down", "msra"), ("top-down", "udp")]
WAYS = {"fresh": ("CLEARED_FRESH_BYTES", sinks, 0, sinks.CLEARED_FRESH_BYTES),
        "encoder": ("ROW_BYTES", stamping, 0, stamping.ROW_BYTES)}


def side_by_side(calls: dict, calls_each: int) -> dict:
    """``{way: seconds}`` of calling ``calls[way]()`` in turn, ``calls_each`` times each."""
    times = {way: [] for way in calls}
    for _ in range(calls_each):
        for way, call in calls.items():
            start = time.perf_counter()
            call()
            times[way].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls of each way")
    args = parser.parse_args()
    print(cpu_line())
    for name, method in CASES:
        keypoints, visible, options = workload(name)
        batches = [(keypoints, visible), pose_batch(keypoints.shape[:3], options["input_size"], 1)]
        for kind, (setting, module, old, new) in WAYS.items():
            encoders = [fastheat.KeypointEncoder(**options, method=method, num_threads=1)
                        for _ in range(2)]
            turns = [0, 0]  # per encoder: the batches in turn

            def call(value, e):
                setattr(module, setting, value)
                if kind == "fresh":
                    return fastheat.encode_keypoints(keypoints, visible, **options, method=method,
                                                     num_threads=1)
                turns[e] += 1
                return encoders[e](*batches[turns[e] % 2])

            try:
                for _ in range(2):  # both batches, each way: the same bits
                    before = [array.copy() for array in call(old, 0)]  # (views of buffers)
                    for got, want in zip(call(new, 1), before):
                        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
                times = side_by_side({"old": lambda: call(old, 0), "current": lambda: call(new, 1)},
                                     args.calls)
            finally:
                setattr(module, setting, new)
            print(f"{name} {method}, {kind}: " + "; ".join(
                f"{way} min {min(t) * 1e3:.3f} ms, median {statistics.median(t) * 1e3:.3f} ms"
                for way, t in times.items()))


if __name__ == "__main__":
    main()
