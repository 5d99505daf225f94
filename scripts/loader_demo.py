"""Targets delivered to a training loop through a DataLoader: dense vs sparse vs nothing.

    python scripts/loader_demo.py                                  # CornerNet batches, all modes
    python scripts/loader_demo.py --workload centernet --batches 100
    python scripts/loader_demo.py --modes sparse none --workers 2 --batches 2000

Uses a real ``torch.utils.data.DataLoader`` when torch is installed (``pip install
torch==2.13.0``), else a ``multiprocessing`` pool of the same shape. Workloads:

* ``cornernet``: each item is one CornerNet batch (49 images, 80 classes, 511 -> 128,
  ``fastheat.workloads.coco_like_detections``) encoded by ``encode_cornernet`` in the worker.
* ``centernet``: each item is one image (512 -> 128, 80 classes), encoded by
  ``encode_centernet`` in the worker; the loader batches 32 of them (``--batch-size``).

Modes, what a worker returns and what the training loop then holds:

* ``dense``: the dense targets (the full maps cross the process boundary);
* ``sparse``: ``sparse=True`` targets (collated by ``fastheat.collate`` for per-image items);
  the training loop renders them with a reused encoder (``encoder.render``);
* ``none``: the detections only, nothing encoded: the loader's own ceiling.

In every mode the loop reads a checksum off the dense targets it holds (tags or indices and a
few map cells), so no work is skipped; checksums must agree between worker counts (within a
mode: modes run different numbers of batches). Prints per mode and worker count the steady batches/s (after the first 10% of the
batches), the time to the first batch, and the pickled bytes of one item (what crosses the
process boundary; dense tensors travel through shared memory, but the same bytes are written).
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
import time

import numpy as np

import fastheat
from fastheat.workloads import coco_like_detections

CORNERNET = dict(num_classes=80, input_size=(511, 511), output_size=(128, 128))
CENTERNET = dict(num_classes=80, input_size=(512, 512), output_size=(128, 128))


class Items:
    """Item ``i`` of a workload in a mode (see the module docstring)."""

    def __init__(self, workload: str, mode: str, count: int):
        self.workload, self.mode, self.count = workload, mode, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if self.workload == "cornernet":
            detections = coco_like_detections(index)
            if self.mode == "none":
                return detections
            return fastheat.encode_cornernet(detections, batch_size=49, **CORNERNET,
                                             sparse=self.mode == "sparse")
        detections = coco_like_detections(index, batch_size=1, input_size=(512, 512))
        if self.mode == "none":
            return detections
        targets = fastheat.encode_centernet(detections, batch_size=1, **CENTERNET,
                                            sparse=self.mode == "sparse")
        return targets if self.mode == "sparse" else tuple(field[0] for field in targets)


def collate(items):
    """A batch of per-image items: ``fastheat.collate`` for sparse targets, stacking for
    dense ones (as torch's ``default_collate`` would, without torch), a list for detections."""
    if isinstance(items[0], fastheat.SparseTargets):
        return fastheat.collate(items)
    if isinstance(items[0], tuple):
        return fastheat.CenterNetTargets(*(np.stack(field) for field in zip(*items)))
    return items


def torch_collate(items):
    import torch.utils.data as data

    if isinstance(items[0], tuple):
        return fastheat.CenterNetTargets(*data.default_collate(items))
    return collate(items)


class TrainingLoop:
    """What the training process does with each batch: render sparse targets, then checksum."""

    def __init__(self, workload: str):
        self.encoder = (fastheat.CornerNetEncoder(**CORNERNET) if workload == "cornernet"
                        else fastheat.CenterNetEncoder(**CENTERNET))

    def __call__(self, batch) -> float:
        if isinstance(batch, fastheat.SparseTargets):
            batch = self.encoder.render(batch)
        if isinstance(batch, (np.ndarray, list)):  # detections only
            return 0.0
        tags = np.asarray(batch[4] if len(batch) == 8 else batch[3])  # tl_tags or ind
        return float(tags.sum()) + float(np.asarray(batch[0]).reshape(-1)[::1_000_003].sum())


def run_torch(dataset: Items, workers: int, batch_size: int | None, loop: TrainingLoop):
    import torch.utils.data as data

    loader = data.DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                             collate_fn=torch_collate if batch_size else None,
                             persistent_workers=False)
    return _collect(loader, loop)


def run_pool(dataset: Items, workers: int, batch_size: int | None, loop: TrainingLoop):
    size = batch_size or 1
    chunks = [range(i, min(i + size, len(dataset)), 1) for i in range(0, len(dataset), size)]
    if workers == 0:
        return _collect((_make_batch(dataset, chunk, batch_size) for chunk in chunks), loop)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        jobs = pool.imap(_pool_batch, [(dataset, chunk, batch_size) for chunk in chunks])
        return _collect(jobs, loop)


def _make_batch(dataset: Items, indices, batch_size):
    items = [dataset[i] for i in indices]
    return collate(items) if batch_size else items[0]


def _pool_batch(job):
    return _make_batch(*job)


def _collect(batches, loop: TrainingLoop):
    """Arrival time (from the start) of every batch and the loop's checksum over them."""
    start = time.perf_counter()
    arrivals, checksum = [], 0.0
    for batch in batches:
        checksum += loop(batch)
        arrivals.append(time.perf_counter() - start)
    return arrivals, checksum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["cornernet", "centernet"], default="cornernet")
    parser.add_argument("--modes", nargs="+", choices=["dense", "sparse", "none"],
                        default=["none", "sparse", "dense"])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--batches", type=int, default=None,
                        help="batches per run (default: 1000 for sparse/none, 30 for dense)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per centernet batch")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        runner, name = run_torch, "torch DataLoader"
    except ImportError:
        runner, name = run_pool, "multiprocessing pool (torch not installed)"
    per_image = args.workload == "centernet"
    print(f"warmup: {fastheat.warmup():.2f} s; loader: {name}; workload={args.workload}"
          + (f" ({args.batch_size} images per batch)" if per_image else " (49 images per batch)"))
    checksums = {}
    for mode in args.modes:
        batches = args.batches or (30 if mode == "dense" else 1000)
        if batches < 3:
            parser.error("--batches must be at least 3")
        images = batches * args.batch_size if per_image else batches
        dataset = Items(args.workload, mode, images)
        item = dataset[0]
        crossing = len(pickle.dumps(collate([dataset[i] for i in range(args.batch_size)])
                                    if per_image else item, protocol=pickle.HIGHEST_PROTOCOL))
        print(f"{mode}: {crossing / 1024:,.1f} KiB pickled per batch", flush=True)
        for workers in args.workers:
            loop = TrainingLoop(args.workload)
            arrivals, checksum = runner(dataset, workers, args.batch_size if per_image else None, loop)
            skip = max(1, len(arrivals) // 10)
            rate = (len(arrivals) - 1 - skip) / (arrivals[-1] - arrivals[skip])
            checksums.setdefault(mode, set()).add(round(checksum, 2))
            print(f"  workers={workers}: first batch after {arrivals[0]:.2f} s, then "
                  f"{rate:9.1f} batches/s", flush=True)
    for mode, sums in checksums.items():
        if len(sums) != 1:
            raise SystemExit(f"{mode}: checksums differ between worker counts: {sorted(sums)}")


if __name__ == "__main__":
    main()
