"""OpenPose targets: fastheat against the NumPy transcription of lightweight OpenPose's
per-person loops, side by side in one process, one thread.

    python -m pytest benchmarks/test_bench_openpose.py --benchmark-enable -s

The batch: 16 images of 5 people x 18 keypoints (the COCO keypoints with the neck) spread
over a 368x368 input, stride 8 (46x46 maps), 19 limbs (lightweight OpenPose's
``BODY_PARTS_KPT_IDS``), sigma 7, ``paf_thickness=1``, 80% of the keypoints labelled. Groups
compare the reference's loops (``openpose_loop``, tests/naive.py's transcription of
``_generate_keypoint_maps`` and ``_generate_paf_maps`` per image) with ``encode_openpose``
(fresh outputs) and an ``OpenPoseEncoder`` (reused maps).

``test_speedups`` measures the same calls (min and median) and checks the issue's target
(30x the reference's loops).
"""

import statistics

import numpy as np
import pytest

import fastheat
import naive

BODY_PARTS = ((1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4),
              (2, 16), (1, 5), (5, 6), (6, 7), (5, 17), (1, 0), (0, 14), (0, 15), (14, 16),
              (15, 17))
SHAPE, INPUT_SIZE = (16, 5, 18), (368, 368)
OPTIONS = dict(limbs=BODY_PARTS, input_size=INPUT_SIZE, stride=8, sigma=7.0, paf_thickness=1)
TARGET = 30


def people_batch(seed=0):
    """Seeded keypoints ``SHAPE + (2,)`` over the input (each person within a box of a third of
    the image), and visibilities."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2, 0.8, (*SHAPE[:2], 1, 2))
    keypoints = (centres + rng.uniform(-0.15, 0.15, (*SHAPE, 2))) * np.array(INPUT_SIZE[::-1])
    visible = (rng.uniform(size=SHAPE) < 0.8).astype(np.float64)
    return keypoints, visible


def calls():
    keypoints, visible = people_batch()
    encoder = fastheat.OpenPoseEncoder(**OPTIONS, num_threads=1)
    return {
        "openpose": lambda: naive.encode_openpose(keypoints, visible, **OPTIONS),
        "fastheat": lambda: fastheat.encode_openpose(keypoints, visible, **OPTIONS,
                                                     num_threads=1),
        "encoder": lambda: encoder(keypoints, visible),
    }


@pytest.mark.parametrize("runner", ["openpose", "fastheat", "encoder"])
def test_openpose_batch(benchmark, runner):
    benchmark.group = "openpose"
    call = calls()[runner]
    call()  # compile or load the kernels
    if runner == "openpose":
        benchmark.pedantic(call, rounds=3, warmup_rounds=0)
    else:
        benchmark(call)



def ms(times):
    return f"min {min(times) * 1e3:.2f} ms, median {statistics.median(times) * 1e3:.2f} ms"


def test_speedups(target, timed):
    runs = calls()
    for call in runs.values():
        call()
    reference = timed(runs["openpose"], seconds=3.0)
    lines, fastest = [], {}
    for runner in ("fastheat", "encoder"):
        times = timed(runs[runner])
        fastest[runner] = min(times)
        lines.append(f"{runner}: {ms(times)}, {min(reference) / min(times):.1f}x "
                     f"(median {statistics.median(reference) / statistics.median(times):.1f}x)")
    report = f"openpose: the reference's loops {ms(reference)}; " + "; ".join(lines)
    target(min(reference) / fastest["fastheat"] >= TARGET, f"{report} (target {TARGET}x)")
