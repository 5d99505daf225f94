"""Encode CornerNet batches in data-loader workers; print batches/s for 0, 1 and 2 workers.

    python scripts/loader_demo.py [--batches 3000] [--mode encoder|fresh|spin|spin-gil|zeros]

Uses a real ``torch.utils.data.DataLoader`` when torch is installed (``pip install
torch==2.13.0``), else a ``multiprocessing`` pool of the same shape. Each item generates one
CornerNet batch (49 images, ``fastheat.workloads``) and encodes it following the README recipe:
the parent runs ``fastheat.warmup()``, the dataset owns a ``CornerEncoder`` (each worker gets its
own buffers), fastheat keeps to one thread per worker. Items return a checksum (the sum of the
first box's class map), which must agree for every worker count.

Per worker count it prints the time to the first batch (worker start, first allocation), the
steady rate over the batches after the first 10%, and the median time of one item inside the
worker. Modes: ``encoder`` (``CornerEncoder``, the recipe; the checksum is taken before the next
call overwrites the views), ``fresh`` (``encode_corners``, new 2 x 245 MiB per batch). Two
controls without fastheat show what the loader and the machine allow: ``spin`` runs a Numba loop
of ``--spin-ms`` of CPU time per item (CPU only, without the GIL like fastheat's kernels;
``spin-gil``: holding it), ``zeros`` allocates and first-touches the same 2 x 245 MiB as ``fresh``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numba
import numpy as np

import fastheat
from fastheat.workloads import CORNERNET, coco_like_detections

SIZES = {k: v for k, v in CORNERNET.items() if k != "batch_size"}
SHAPE = (CORNERNET["batch_size"], CORNERNET["num_classes"], *CORNERNET["output_size"])


def worker_init_fn(_worker_id: int = 0) -> None:
    """Per-worker setup: one fastheat thread per worker (also the default in workers)."""
    os.environ["FASTHEAT_NUM_THREADS"] = "1"


@numba.njit(nogil=True)
def spin(iterations: int) -> float:
    """CPU-only work that releases the GIL, as fastheat's kernels do."""
    total = 0.0
    for i in range(iterations):
        total += (i % 7) * 0.5
    return total


spin_holding_gil = numba.njit(spin.py_func)  # the same loop, keeping the GIL


def spin_iterations(milliseconds: float) -> int:
    spin(10)
    start = time.thread_time()
    spin(10**7)
    return int(10**7 * milliseconds / 1e3 / (time.thread_time() - start))


class CornerNetBatches:
    """Item ``i``: encode CornerNet batch ``i``; returns ``(checksum, seconds spent)``."""

    def __init__(self, count: int, mode: str, spin_ms: float):
        self.count, self.mode = count, mode
        self.spin = spin_iterations(spin_ms) if mode.startswith("spin") else 0
        self.encoder = fastheat.CornerEncoder(**SIZES)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> tuple[float, float]:
        start = time.perf_counter()
        if self.mode.startswith("spin"):
            (spin if self.mode == "spin" else spin_holding_gil)(self.spin)
            return 0.0, time.perf_counter() - start
        if self.mode == "zeros":
            for _ in range(2):
                np.zeros(SHAPE, np.float32).reshape(-1)[::1024] = 0  # one write per 4 KiB page
            return 0.0, time.perf_counter() - start
        detections = coco_like_detections(index)
        if self.mode == "encoder":
            maps = self.encoder(detections, CORNERNET["batch_size"])
        else:
            maps = fastheat.encode_corners(detections, **CORNERNET)
        b, c = detections[0, :2].astype(int) if len(detections) else (0, 0)
        checksum = float(maps.tl_heatmaps[b, c].sum() + maps.br_heatmaps[b, c].sum())
        del maps  # freeing fresh outputs is part of the item's cost
        return checksum, time.perf_counter() - start


def run_torch(dataset: CornerNetBatches, workers: int, start_method: str) -> tuple[list, list]:
    import torch.utils.data as data

    loader = data.DataLoader(dataset, batch_size=None, num_workers=workers,
                             worker_init_fn=worker_init_fn if workers else None,
                             multiprocessing_context=start_method if workers else None)
    return _collect(loader)


def run_pool(dataset: CornerNetBatches, workers: int, start_method: str) -> tuple[list, list]:
    if workers == 0:
        return _collect(dataset[i] for i in range(len(dataset)))
    context = multiprocessing.get_context(start_method)
    with context.Pool(workers, initializer=_init_pool_worker, initargs=(dataset,)) as pool:
        return _collect(pool.imap(_pool_item, range(len(dataset))))


_pool_dataset: CornerNetBatches | None = None


def _init_pool_worker(dataset: CornerNetBatches) -> None:
    """Each pool worker keeps one dataset (and so one encoder) for all its items."""
    global _pool_dataset
    worker_init_fn()
    _pool_dataset = dataset


def _pool_item(index: int) -> tuple[float, float]:
    return _pool_dataset[index]


def _collect(items) -> tuple[list, list]:
    """Arrival time (from the start) and result of every item."""
    start = time.perf_counter()
    arrivals, results = [], []
    for result in items:
        arrivals.append(time.perf_counter() - start)
        results.append(result)
    return arrivals, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--mode", choices=["encoder", "fresh", "spin", "spin-gil", "zeros"], default="encoder")
    parser.add_argument("--spin-ms", type=float, default=0.44, help="item CPU time in --mode spin")
    parser.add_argument("--start-method", default="fork", choices=["fork", "spawn", "forkserver"])
    args = parser.parse_args()
    if args.batches < 3:
        parser.error("--batches must be at least 3")
    try:
        import torch  # noqa: F401
        runner, name = run_torch, "torch DataLoader"
    except ImportError:
        runner, name = run_pool, "multiprocessing pool (torch not installed)"
    print(f"warmup: {fastheat.warmup():.2f} s; loader: {name}; mode={args.mode} "
          f"start={args.start_method} batches={args.batches}")
    dataset = CornerNetBatches(args.batches, args.mode, args.spin_ms)
    skip = max(1, args.batches // 10)
    rates, checksums = {}, set()
    for workers in (0, 1, 2):
        arrivals, results = runner(dataset, workers, args.start_method)
        rates[workers] = (len(arrivals) - 1 - skip) / (arrivals[-1] - arrivals[skip])
        checksums.add(round(sum(checksum for checksum, _ in results), 3))
        item_ms = 1e3 * float(np.median([seconds for _, seconds in results[skip:]]))
        print(f"workers={workers}: first batch after {arrivals[0]:.2f} s, then "
              f"{rates[workers]:8.1f} batches/s; {item_ms:.3f} ms per item in the worker", flush=True)
    print(f"2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    if len(checksums) != 1:
        raise SystemExit(f"checksums differ between worker counts: {sorted(checksums)}")


if __name__ == "__main__":
    main()
