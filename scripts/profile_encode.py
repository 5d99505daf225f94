"""Profile fastheat on the CornerNet workload, stage by stage.

    python scripts/profile_encode.py --mode encoder --batches 200
    python scripts/profile_encode.py --mode fresh --batches 20 --cprofile encode.prof
    python scripts/profile_encode.py --series        # cost vs boxes per image and map size

Modes: ``fresh`` (encode_corners allocating its outputs), ``out`` (encode_corners into reused
``out=`` arrays, cleared in full) and ``encoder`` (CornerEncoder: reused buffers, sparse reset).
Each batch is a new seeded COCO-like batch (fastheat.workloads.coco_like_detections).
"""

from __future__ import annotations

import argparse
import cProfile
import time

import numpy as np

import fastheat
from fastheat.workloads import coco_like_detections

try:
    from tqdm import tqdm
except ImportError:  # the progress bar is optional: pip install -e .[scripts]
    def tqdm(iterable, **_):
        total = len(iterable)
        for i, item in enumerate(iterable):
            if i % max(1, total // 20) == 0:
                print(f"  {i}/{total}", flush=True)
            yield item


def public_call(args):
    """The real front end for ``args.mode``, as a function of the detections."""
    sizes = dict(num_classes=args.classes, input_size=tuple(args.input), output_size=tuple(args.output))
    if args.mode == "encoder":
        encoder = fastheat.CornerEncoder(**sizes, num_threads=args.threads)
        return lambda d: encoder(d, args.batch_size)
    shape = (args.batch_size, args.classes, *args.output)
    out = (np.zeros(shape, np.float32), np.zeros(shape, np.float32)) if args.mode == "out" else None
    return lambda d: fastheat.encode_corners(d, batch_size=args.batch_size, **sizes, out=out,
                                             num_threads=args.threads)


def batches(args):
    return [coco_like_detections(args.seed + i, batch_size=args.batch_size, num_classes=args.classes,
                                 input_size=tuple(args.input), boxes_per_image=args.boxes_per_image)
            for i in range(min(args.batches, 32))]


def profile(args) -> None:
    workload = batches(args)
    call = public_call(args)
    call(workload[0])  # compile or load the kernels
    with fastheat.profile_stages() as times:  # the engine's own stage clock
        for i in tqdm(range(args.batches), desc="staged", unit="batch"):
            call(workload[i % len(workload)])
    profiler = cProfile.Profile() if args.cprofile else None
    end_to_end = []
    for i in tqdm(range(args.batches), desc="end-to-end", unit="batch"):
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        call(workload[i % len(workload)])
        if profiler:
            profiler.disable()
        end_to_end.append(time.perf_counter() - start)
    if profiler:
        profiler.dump_stats(args.cprofile)
        print(f"cProfile written to {args.cprofile} (view: python -m pstats {args.cprofile})")

    boxes = np.mean([len(w) for w in workload])
    print(f"\nmode={args.mode} threads={args.threads} batch={args.batch_size} classes={args.classes} "
          f"input={args.input} output={args.output} boxes/batch={boxes:.0f} batches={args.batches}")
    print(f"{'stage':<26}{'median ms':>12}{'mean ms':>12}")
    for stage, seconds in times.items():
        print(f"{stage:<26}{np.median(seconds) * 1e3:>12.3f}{np.mean(seconds) * 1e3:>12.3f}")
    median = float(np.median(end_to_end))
    print(f"{'end-to-end (public call)':<26}{median * 1e3:>12.3f}{np.mean(end_to_end) * 1e3:>12.3f}")
    print(f"batches/s: {1 / median:,.1f}   boxes/s: {boxes / median:,.0f}")


def series(args) -> None:
    """Median ms per batch vs boxes per image and output map size (fresh and encoder modes)."""
    print(f"{'boxes/image':>12}{'map':>10}{'fresh ms':>12}{'encoder ms':>12}")
    for boxes_per_image in (1, 10, 100, 1000):
        for side in (64, 128, 256):
            row = []
            for mode in ("fresh", "encoder"):
                run = argparse.Namespace(**{**vars(args), "mode": mode, "output": [side, side],
                                            "boxes_per_image": boxes_per_image,
                                            "batches": 5 if mode == "fresh" else 30})
                workload, call = batches(run), public_call(run)
                call(workload[0])
                timings = []
                for i in range(run.batches):
                    start = time.perf_counter()
                    call(workload[i % len(workload)])
                    timings.append(time.perf_counter() - start)
                row.append(np.median(timings) * 1e3)
            print(f"{boxes_per_image:>12}{side:>7}^2{row[0]:>12.3f}{row[1]:>12.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["fresh", "out", "encoder"], default="encoder")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=49)
    parser.add_argument("--classes", type=int, default=80)
    parser.add_argument("--input", type=int, nargs=2, default=[511, 511], metavar=("H", "W"))
    parser.add_argument("--output", type=int, nargs=2, default=[128, 128], metavar=("H", "W"))
    parser.add_argument("--boxes-per-image", type=float, default=7.3)
    parser.add_argument("--threads", type=int, default=None,
                        help="num_threads of every call (default: the thread policy decides)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cprofile", metavar="FILE", help="write a cProfile of the end-to-end calls")
    parser.add_argument("--series", action="store_true", help="run the scaling series instead")
    args = parser.parse_args()
    series(args) if args.series else profile(args)


if __name__ == "__main__":
    main()
