"""mmdetection's CenterNet and corner heads: fastheat against the NumPy transcriptions of their
per-box loops (``get_targets``, tests/naive.py), side by side in one process, one thread.

    python -m pytest benchmarks/test_bench_mmdet.py --benchmark-enable -s

One batch: 16 images of 40 COCO-like boxes, 512x512 -> 128x128, 80 classes. Per head (groups
``mmdet_centernet``, ``mmdet_corner`` with both shifts): the head's loop, the one-shot function
(fresh outputs) and a reused encoder (maps and dense fields cleared where the previous call
wrote). ``test_speedups`` prints min and median ratios and checks the issue's target, 30x the
loop, for the encoder (best of each); the one-shot functions' fresh outputs pay the first touch
of their new pages (see benchmarks/test_bench_ttfnet.py), printed only.
"""

import statistics

import pytest

import fastheat
import naive
from fastheat.workloads import coco_like_detections

SIZES = dict(num_classes=80, input_size=(512, 512), output_size=(128, 128))
BATCH = coco_like_detections(0, batch_size=16, num_classes=80, input_size=(512, 512),
                             boxes_per_image=40)
BATCH = BATCH[(BATCH[:, 4] > BATCH[:, 2]) & (BATCH[:, 5] > BATCH[:, 3])]  # centripetal logs
HEADS = {
    "mmdet_centernet": (naive.encode_mmdet_centernet, fastheat.encode_mmdet_centernet,
                        fastheat.MmdetCenterNetEncoder, {}),
    "mmdet_corner": (naive.encode_mmdet_corner, fastheat.encode_mmdet_corner,
                     fastheat.MmdetCornerEncoder,
                     dict(with_guiding_shift=True, with_centripetal_shift=True)),
}


def calls(head):
    loop, encode, Encoder, options = HEADS[head]
    encoder = Encoder(**SIZES, **options, num_threads=1)
    return {"loop": lambda: loop(BATCH, 16, *SIZES.values(), **options),
            "fastheat": lambda: encode(BATCH, batch_size=16, **SIZES, **options, num_threads=1),
            "encoder": lambda: encoder(BATCH, 16)}


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("runner", ["loop", "fastheat", "encoder"])
def test_head_batch(benchmark, head, runner):
    benchmark.group = head
    call = calls(head)[runner]
    call()
    if runner == "loop":
        benchmark.pedantic(call, rounds=5, warmup_rounds=0)
    else:
        benchmark(call)


@pytest.mark.parametrize("head", HEADS)
def test_speedups(head, target, timed):
    runs = calls(head)
    for call in runs.values():
        call()
    reference = timed(runs["loop"], seconds=3.0)
    lines, ratios = [], {}
    for runner in ("fastheat", "encoder"):
        times = timed(runs[runner])
        ratios[runner] = min(reference) / min(times)
        lines.append(f"{runner}: min {min(times) * 1e3:.3f} ms, median "
                     f"{statistics.median(times) * 1e3:.3f} ms, {ratios[runner]:.1f}x (median "
                     f"{statistics.median(reference) / statistics.median(times):.1f}x)")
    report = (f"{head} loop min {min(reference) * 1e3:.2f} ms, median "
              f"{statistics.median(reference) * 1e3:.2f} ms; " + "; ".join(lines))
    target(ratios["encoder"] >= 30, f"{report} (target: the encoder 30x)")
