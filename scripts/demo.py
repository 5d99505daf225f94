"""Encode a COCO-like CornerNet batch with fastheat and with the NumPy reference, and time both.

    python scripts/demo.py [--seed 0] [--repeat 5]

The batch: 49 images, 80 classes, 511x511 input, 128x128 output, about 7 boxes per image.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import fastheat
from fastheat.workloads import CORNERNET, coco_like_detections

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "tests"))
import naive  # noqa: E402  (the reference's transcription kept with the tests)


def best_of(repeat, function):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    detections = coco_like_detections(args.seed)
    print(f"CornerNet batch: {len(detections)} boxes, 49 x 80 x 128 x 128 float32 maps x 2")
    start = time.perf_counter()
    fastheat.encode_corners(detections, **CORNERNET)
    print(f"first call (import excluded, includes compile or cache load): {time.perf_counter() - start:.3f} s")

    fast, result = best_of(args.repeat, lambda: fastheat.encode_corners(detections, **CORNERNET))
    encoder = fastheat.CornerEncoder(**{k: v for k, v in CORNERNET.items() if k != "batch_size"})
    encoder(detections, 49)
    reused, _ = best_of(args.repeat, lambda: encoder(detections, 49))
    ref, expected = best_of(1, lambda: naive.encode_corners(detections, 49, 80, (511, 511), (128, 128)))
    same = all(np.array_equal(a, b) for a, b in zip(result, expected))
    print(f"NumPy reference:                 {ref * 1e3:9.2f} ms")
    print(f"fastheat encode_corners (fresh): {fast * 1e3:9.2f} ms  ({ref / fast:7.1f}x)")
    print(f"fastheat CornerEncoder (reused): {reused * 1e3:9.2f} ms  ({ref / reused:7.1f}x)")
    print(f"bit-identical to the reference: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
