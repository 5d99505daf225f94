"""TTFNet: fastheat against the NumPy transcription of TTFNet's ``target_generator`` (each image
by ``TTFHead.target_single_image``, then stacked; tests/naive.py), side by side in one process,
one thread.

    python -m pytest benchmarks/test_bench_ttfnet.py --benchmark-enable -s

One batch: 16 images of 40 COCO-like boxes, 512x512 -> 128x128, 80 classes, TTFNet's defaults
(alpha = beta = 0.54, log areas, Gaussian regression weights, agnostic boxes). The rows of the
``ttfnet`` group: TTFNet's loop (``ttfnet_loop``), ``encode_ttfnet`` (fresh outputs) and a
reused ``TTFNetEncoder`` (heatmap cleared where the previous call stamped; ``box_target`` and
``reg_weight`` cleared where the previous call wrote). ``test_speedups`` prints min and median
ratios against the issue's targets, 30x for ``encode_ttfnet`` and 100x for the encoder, without
checking them (README, "Performance"), and the encoder fed two batches in turn (``encoder, two
batches``: the previous call's cells are not the ones written next, as in training; its ratio
against the loop on the first batch; no target).

Fresh outputs pay the first touch of their new pages: NumPy asks for transparent huge pages
for arrays of 4 MB and more, so the 84 MB heatmap's few stamped cells, spread over all its 42
huge pages, make the kernel zero all of it (about 7 ms here), as the loop's ``np.stack`` of
the images' maps does; the encoder writes 5 channels over about 130,000 cells per batch.
"""

import statistics

import pytest

import fastheat
import naive
from fastheat.workloads import coco_like_detections

SIZES = dict(num_classes=80, input_size=(512, 512), output_size=(128, 128))
BATCH, OTHER_BATCH = (coco_like_detections(seed, batch_size=16, num_classes=80,
                                          input_size=(512, 512), boxes_per_image=40)
                     for seed in (0, 1))
TARGETS = {"fastheat": 30, "encoder": 100}


def ttfnet_loop():
    return naive.encode_ttfnet(BATCH, 16, SIZES["num_classes"], SIZES["input_size"],
                               SIZES["output_size"])


def calls():
    encoder = fastheat.TTFNetEncoder(**SIZES, num_threads=1)
    return {"ttfnet": ttfnet_loop,
            "fastheat": lambda: fastheat.encode_ttfnet(BATCH, batch_size=16, **SIZES,
                                                       num_threads=1),
            "encoder": lambda: encoder(BATCH, 16)}


@pytest.mark.parametrize("runner", ["ttfnet", "fastheat", "encoder"])
def test_ttfnet_batch(benchmark, runner):
    benchmark.group = "ttfnet"
    call = calls()[runner]
    call()  # compile or load the kernels, grow the tables
    if runner == "ttfnet":
        benchmark.pedantic(call, rounds=5, warmup_rounds=0)
    else:
        benchmark(call)


def two_batches_in_turn():
    """A ``TTFNetEncoder`` call on ``BATCH`` and ``OTHER_BATCH`` alternately."""
    encoder = fastheat.TTFNetEncoder(**SIZES, num_threads=1)
    batches = [BATCH, OTHER_BATCH]

    def call():
        batches.reverse()
        return encoder(batches[0], 16)

    return call


def test_speedups(timed):
    runs = calls()
    runs["encoder, two batches"] = two_batches_in_turn()
    for call in runs.values():
        call()
    reference = timed(runs["ttfnet"], seconds=3.0)
    lines = []
    for runner in ("fastheat", "encoder", "encoder, two batches"):
        times = timed(runs[runner])
        target = f"; target {TARGETS[runner]}x" if runner in TARGETS else ""
        lines.append(f"{runner}: min {min(times) * 1e3:.3f} ms, median "
                     f"{statistics.median(times) * 1e3:.3f} ms, {min(reference) / min(times):.1f}x "
                     f"(median {statistics.median(reference) / statistics.median(times):.1f}x"
                     f"{target})")
    print(f"ttfnet loop min {min(reference) * 1e3:.2f} ms, median "
          f"{statistics.median(reference) * 1e3:.2f} ms; " + "; ".join(lines))
