"""fastheat.mmpose's codecs against mmpose 1.3.2's own, side by side in one process, one thread,
and through a DataLoader (runs in the toolkit venv, scripts/toolkit_env.sh):

    .venv-toolkits/bin/python -m pytest benchmarks/test_bench_mmpose.py --benchmark-enable -s \
        --benchmark-columns=min,median,rounds

A COCO top-down batch (64 images of one person, 17 keypoints, input 256x192, heatmaps 64x48,
sigma 2, 80% of the keypoints visible), for ``MSRAHeatmap`` (msra), ``MSRAHeatmap(unbiased=True)``
(dark) and ``UDPHeatmap`` (udp), and RTMPose's ``SimCCLabel`` (simcc: the same batch, split
ratio 2, sigma (4.9, 5.66), labels of 384 and 512 cells), each group comparing:

- ``mmpose``: mmpose's codec ``encode`` looped over the batch (its outputs not stacked, as a
  DataLoader's collate would, which costs more again and is not counted);
- ``encode``: the fastheat codec's ``encode`` looped over the batch (what mmpose's
  ``GenerateTarget`` calls per image);
- ``batch_encode``: the fastheat codec's ``batch_encode`` on the whole batch (one thread).

``test_speedups`` times the same calls (best and median of several rounds), prints them and
reports the issue's targets for ``batch_encode``: 30x mmpose's loop for msra, 20x udp and
simcc, 8x dark.

``test_training_loop`` measures what a training loop receives: a real torch ``DataLoader`` (2
workers, fork) delivering batches of 64 top-down targets, each sample encoded in the worker by
mmpose's codec or by the fastheat codec (``encode``, what ``GenerateTarget`` calls once a
``fastheat.`` codec is configured), or each batch by ``batch_encode``, or sparse targets
rendered in the training loop; ``keypoints only`` delivers the keypoints and nothing encoded
(the loader's own ceiling) and ``zero maps`` a fresh zero map per sample, nothing computed
(the ceiling of handing dense maps over). It prints the steady batches per second (after the
first 10 of 60), best of 3 runs. A real pipeline also decodes and warps every image in the
workers, which costs more than any of these targets.
"""

import pickle
import statistics
import time

import numpy as np
import pytest

pytest.importorskip("mmpose", reason="runs in the toolkit venv: bash scripts/toolkit_env.sh")
from mmpose.registry import KEYPOINT_CODECS  # noqa: E402

import fastheat  # noqa: E402
import fastheat.mmpose  # noqa: E402,F401 (registers the fastheat codecs)

SIZES = dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)  # mmpose's [w, h]
#: method: (the codec's class name, its options)
CODECS = {"msra": ("MSRAHeatmap", SIZES), "dark": ("MSRAHeatmap", dict(SIZES, unbiased=True)),
          "udp": ("UDPHeatmap", SIZES),
          "simcc": ("SimCCLabel", dict(input_size=(192, 256), sigma=(4.9, 5.66),
                                       simcc_split_ratio=2.0))}
TARGETS = {"msra": 30, "udp": 20, "dark": 8, "simcc": 20}


def batch(seed=0, size=64, count=17, visible_fraction=0.8):
    """Seeded float32 keypoints ``(size, 1, count, 2)`` spread over the input, and visibilities."""
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform(0.05, 0.95, (size, 1, count, 2)) * SIZES["input_size"]
    visible = (rng.uniform(size=(size, 1, count)) < visible_fraction).astype(np.float32)
    return keypoints.astype(np.float32), visible


def calls(method):
    """``{"mmpose": ..., "encode": ..., "batch_encode": ...}``: one batch each, one thread."""
    name, options = CODECS[method]
    theirs = KEYPOINT_CODECS.build(dict(type=name, **options))
    ours = KEYPOINT_CODECS.build(dict(type=f"fastheat.{name}", **options))
    keypoints, visible = batch()
    return {
        "mmpose": lambda: [theirs.encode(k, v) for k, v in zip(keypoints, visible)],
        "encode": lambda: [ours.encode(k, v) for k, v in zip(keypoints, visible)],
        "batch_encode": lambda: ours.batch_encode(keypoints, visible, num_threads=1),
    }


@pytest.mark.parametrize("method", list(CODECS))
@pytest.mark.parametrize("runner", ["mmpose", "encode", "batch_encode"])
def test_codec_batch(benchmark, method, runner):
    benchmark.group = f"top-down-{method}"
    call = calls(method)[runner]
    call()  # compile or load the kernels, grow the tables
    if runner == "mmpose":
        benchmark.pedantic(call, rounds=5, warmup_rounds=0)
    else:
        benchmark(call)



@pytest.mark.parametrize("method", list(CODECS))
def test_speedups(method, target, timed):
    runs = calls(method)
    for call in runs.values():
        call()
    mmpose = timed(runs["mmpose"], seconds=2.0)
    lines, fastest = [], {}
    for runner in ("encode", "batch_encode"):
        times = timed(runs[runner])
        fastest[runner] = min(times)
        lines.append(f"{runner}: min {min(times) * 1e3:.3f} ms, median "
                     f"{statistics.median(times) * 1e3:.3f} ms, {min(mmpose) / min(times):.1f}x "
                     f"(median {statistics.median(mmpose) / statistics.median(times):.1f}x)")
    report = (f"{method}: mmpose's codec looped over 64 images min {min(mmpose) * 1e3:.2f} ms, "
              f"median {statistics.median(mmpose) * 1e3:.2f} ms; " + "; ".join(lines))
    target(min(mmpose) / fastest["batch_encode"] >= TARGETS[method],
           f"{report} (target {TARGETS[method]}x)")


class Samples:
    """Sample ``i`` of seeded top-down keypoints (64 per batch), encoded by ``encode(keypoints,
    visible)`` (None: the keypoints only), or with ``batched`` item ``i`` a whole batch."""

    def __init__(self, encode, count: int, batched: bool = False):
        self.encode, self.count, self.batched = encode, count, batched

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        keypoints, visible = batch(seed=index, size=64 if self.batched else 1)
        if self.encode is None:
            return {"keypoints": keypoints[0]}
        if self.batched:
            return self.encode(keypoints, visible)
        return self.encode(keypoints[0], visible[0])


def batches_per_second(dataset, batch_size, collate=None, render=None, batches=60,
                       skip=10) -> float:
    """The steady rate at which a 2-worker torch ``DataLoader`` delivers ``dataset``'s
    ``batches`` batches (collated by ``collate``, else torch's default) to a loop that renders
    them with ``render`` (if given), then reads a value of their first array (after the first
    ``skip``)."""
    import torch.utils.data as data

    loader = data.DataLoader(dataset, batch_size=batch_size, num_workers=2, collate_fn=collate,
                             multiprocessing_context="fork")
    arrivals = []
    for item in loader:
        if render is not None:
            item = render(item)._asdict()
        float(next(iter(item.values())).reshape(-1)[0])
        arrivals.append(time.perf_counter())
    assert len(arrivals) == batches
    return (len(arrivals) - 1 - skip) / (arrivals[-1] - arrivals[skip])


@pytest.mark.parametrize("method", ["msra", "udp", "dark"])
def test_training_loop(method):
    """Rows: ``keypoints only``; ``zero maps`` (per sample, dense, nothing computed);
    ``mmpose encode`` and ``fastheat encode`` (per sample, dense, torch's collate);
    ``fastheat batch_encode`` (per batch, dense); ``fastheat sparse`` (per sample
    ``encode_keypoints(sparse=True)``, ``fastheat.collate``, rendered in the loop by a
    ``KeypointEncoder``: the same maps, from a batch of sparse targets (its pickled size is
    printed) instead of 12.75 MiB of maps). The loop reads one value of a dense batch, leaving
    the rest of its shared memory untouched, and renders whole sparse batches: the dense rows'
    rates are upper bounds."""
    name, options = CODECS[method]
    theirs = KEYPOINT_CODECS.build(dict(type=name, **options))
    ours = KEYPOINT_CODECS.build(dict(type=f"fastheat.{name}", **options))
    sizes = dict(input_size=SIZES["input_size"][::-1], heatmap_size=SIZES["heatmap_size"][::-1],
                 sigma=SIZES["sigma"], method=method)
    encoder = fastheat.KeypointEncoder(**sizes)
    samples = 60 * 64
    ours.batch_encode(*batch())  # load the kernels before the workers fork
    runs = {
        "keypoints only": (Samples(None, samples), 64),
        "zero maps": (Samples(lambda k, v: {"heatmaps": np.zeros((17, 64, 48), np.float32),
                                            "keypoint_weights": v.copy()}, samples), 64),
        "mmpose encode": (Samples(theirs.encode, samples), 64),
        "fastheat encode": (Samples(ours.encode, samples), 64),
        "fastheat batch_encode": (
            Samples(lambda k, v: ours.batch_encode(k, v, num_threads=1), 60, True), None),
        "fastheat sparse": (
            Samples(lambda k, v: fastheat.encode_keypoints(k[None], v[None], **sizes, sparse=True,
                                                           num_threads=1), samples),
            64, fastheat.collate, encoder.render),
    }
    rates = {label: max(batches_per_second(*run) for _ in range(3)) for label, run in runs.items()}
    sparse = fastheat.collate([runs["fastheat sparse"][0][i] for i in range(64)])
    print(f"{method}, batches of 64 per second through a 2-worker DataLoader: "
          + ", ".join(f"{label} {rate:.1f}" for label, rate in rates.items())
          + f"; a batch of sparse targets pickles to {len(pickle.dumps(sparse)) / 1024:.1f} KiB")
    assert all(rate > 0 for rate in rates.values())
