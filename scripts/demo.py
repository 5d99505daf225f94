"""Encode a COCO-like CornerNet batch with fastheat and with the NumPy reference, and time both.

    python scripts/demo.py [--seed 0] [--repeat 20] [--reference-repeat 3]

The batch: 49 images, 80 classes, 511x511 input, 128x128 output, about 7 boxes per image. Each
path is timed side by side in this one process (min and median of repeated calls): the NumPy
transcription of the reference (fresh maps), and the paths users ship: fresh maps, an encoder's
reused maps, sparse targets (a worker's job) rendered into reused maps (the trainer's).
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


def timed(repeat, function):
    """``(min, median)`` seconds over ``repeat`` calls, and the last result."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return (min(times), float(np.median(times))), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=20, help="calls of each fastheat path")
    parser.add_argument("--reference-repeat", type=int, default=3, help="calls of the reference")
    args = parser.parse_args()

    detections = coco_like_detections(args.seed)
    sizes = {k: v for k, v in CORNERNET.items() if k != "batch_size"}
    print(f"CornerNet batch: {len(detections)} boxes, 49 x 80 x 128 x 128 float32 maps x 2; "
          f"default_num_threads() = {fastheat.default_num_threads()}")
    start = time.perf_counter()
    fastheat.encode_corners(detections, **CORNERNET)
    print(f"first call (import excluded, includes compile or cache load): {time.perf_counter() - start:.3f} s")

    encoder = fastheat.CornerEncoder(**sizes)
    sparse = fastheat.encode_corners(detections, **CORNERNET, sparse=True)
    paths = {
        "fastheat encode_corners (fresh maps)": lambda: fastheat.encode_corners(detections, **CORNERNET),
        "fastheat CornerEncoder (reused maps)": lambda: encoder(detections, 49),
        "fastheat sparse + render (worker + trainer)": lambda: encoder.render(
            fastheat.encode_corners(detections, **CORNERNET, sparse=True)),
    }
    (ref_min, ref_median), expected = timed(args.reference_repeat, lambda: naive.encode_corners(
        detections, 49, 80, (511, 511), (128, 128)))
    print(f"{'path':46s}{'min ms':>10s}{'median ms':>11s}{'x ref (min)':>13s}{'x ref (median)':>16s}")
    print(f"{'NumPy reference (fresh maps)':46s}{ref_min * 1e3:10.2f}{ref_median * 1e3:11.2f}")
    same = True
    for name, path in paths.items():
        (low, median), result = timed(args.repeat, path)
        same &= all(np.array_equal(a, b) for a, b in zip(result, expected))
        print(f"{name:46s}{low * 1e3:10.3f}{median * 1e3:11.3f}{ref_min / low:13.1f}"
              f"{ref_median / median:16.1f}")
    same &= all(np.array_equal(a, b) for a, b in zip(sparse.to_dense(), expected))
    print(f"bit-identical to the reference: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
