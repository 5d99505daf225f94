"""Encode CornerNet batches in data-loader workers; print batches/s for 0, 1 and 2 workers.

    python scripts/loader_demo.py [--batches 200] [--mode encoder|fresh] [--return checksum|targets]

Uses a real ``torch.utils.data.DataLoader`` when torch is installed (``pip install
torch==2.13.0``), else a ``multiprocessing`` pool of the same shape. Each worker follows the
README recipe: ``worker_init_fn`` keeps fastheat at one thread per worker, and the parent runs
``fastheat.warmup()`` first so workers only load cached kernels. ``--return targets`` ships the
2 x 245 MiB of heatmaps back to the parent (then the copy, not fastheat, sets the pace).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time

import numpy as np

import fastheat
from fastheat.workloads import CORNERNET, coco_like_detections

SIZES = {k: v for k, v in CORNERNET.items() if k != "batch_size"}
_encoder = None


def worker_init_fn(_worker_id: int = 0) -> None:
    """Per-worker setup: one fastheat thread per worker (also the default in workers)."""
    os.environ["FASTHEAT_NUM_THREADS"] = "1"


def encode_batch(index: int, mode: str, returns: str):
    global _encoder
    detections = coco_like_detections(index)
    if mode == "encoder":
        _encoder = _encoder or fastheat.CornerEncoder(**SIZES)
        maps = _encoder(detections, 49)
    else:
        maps = fastheat.encode_corners(detections, **CORNERNET)
    if returns == "targets":
        return maps if mode == "fresh" else tuple(np.array(m) for m in maps)
    return float(maps.tl_heatmaps[:, :, 64].sum() + maps.br_heatmaps[:, :, 64].sum())


def run_torch(workers, args):
    import torch.utils.data as data

    class Batches(data.Dataset):
        def __len__(self):
            return args.batches

        def __getitem__(self, index):
            return encode_batch(index, args.mode, args.returns)

    loader = data.DataLoader(Batches(), batch_size=None, num_workers=workers,
                             worker_init_fn=worker_init_fn if workers else None,
                             multiprocessing_context=args.start_method if workers else None)
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def run_pool(workers, args):
    start = time.perf_counter()
    if workers == 0:
        for i in range(args.batches):
            encode_batch(i, args.mode, args.returns)
    else:
        context = multiprocessing.get_context(args.start_method)
        with context.Pool(workers, initializer=worker_init_fn) as pool:
            for _ in pool.imap(_pool_task, [(i, args.mode, args.returns) for i in range(args.batches)]):
                pass
    return time.perf_counter() - start


def _pool_task(task):
    return encode_batch(*task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--mode", choices=["encoder", "fresh"], default="encoder")
    parser.add_argument("--return", dest="returns", choices=["checksum", "targets"], default="checksum")
    parser.add_argument("--start-method", default="fork", choices=["fork", "spawn", "forkserver"])
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        runner, name = run_torch, "torch DataLoader"
    except ImportError:
        runner, name = run_pool, "multiprocessing pool (torch not installed)"
    print(f"warmup: {fastheat.warmup():.2f} s; loader: {name}; mode={args.mode} "
          f"return={args.returns} start={args.start_method} batches={args.batches}")
    rates = {}
    for workers in (0, 1, 2):
        seconds = runner(workers, args)
        rates[workers] = args.batches / seconds
        print(f"workers={workers}: {rates[workers]:8.1f} batches/s ({seconds:.2f} s)", flush=True)
    print(f"2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
