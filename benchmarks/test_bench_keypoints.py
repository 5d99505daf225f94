"""Keypoint heatmaps: fastheat against the NumPy transcription of mmpose's per-image loop, side by
side in one process, one thread.

    python -m pytest benchmarks/test_bench_keypoints.py --benchmark-enable --benchmark-columns=min,median,rounds

Groups (compare the rows within a group):

- ``top-down-<method>``: a COCO top-down batch (64 images of one person, 17 keypoints, input
  256x192, heatmaps 64x48, sigma 2, 80% of the keypoints visible): mmpose's per-image loop
  (``mmpose_loop``: the codec's division and generator on each image, as tests/naive.py
  transcribes them, its per-image outputs not stacked into a batch) vs ``encode_keypoints``
  (fresh batch outputs) vs a ``KeypointEncoder`` (reused maps), for msra, udp and dark.
- ``bottom-up-msra``: 16 images of 20 people (512x512 input, 128x128 heatmaps).

``test_speedups`` measures the same calls (best and median of several rounds) and checks the
issue's targets: 30x mmpose's loop for msra and udp, 5x for dark, 30x bottom-up.
"""

import statistics

import numpy as np
import pytest

import fastheat
import naive

TOP_DOWN = dict(shape=(64, 1, 17), input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)
BOTTOM_UP = dict(shape=(16, 20, 17), input_size=(512, 512), heatmap_size=(128, 128), sigma=2.0)
TARGETS = {("top-down", "msra"): 30, ("top-down", "udp"): 30, ("top-down", "dark"): 5,
           ("bottom-up", "msra"): 30}


def pose_batch(shape, input_size, seed=0, visible_fraction=0.8):
    """Seeded float32 keypoints ``shape + (2,)`` spread over the input image, and visibilities."""
    rng = np.random.default_rng(seed)
    keypoints = (rng.uniform(0.05, 0.95, (*shape, 2)) * [input_size[1], input_size[0]])
    visible = (rng.uniform(size=shape) < visible_fraction).astype(np.float32)
    return keypoints.astype(np.float32), visible


def mmpose_loop(keypoints, visible, input_size, heatmap_size, sigma, method):
    """The codec's ``encode`` on each image: ``[(heatmaps, weights)]`` (stacking them into a
    batch, as a DataLoader's collate would, costs more again and is not counted)."""
    scale = naive.keypoint_scale_factor(input_size, heatmap_size, method)
    generate = naive.KEYPOINT_GENERATORS[method]
    size = [heatmap_size[1], heatmap_size[0]]
    return [generate(size, keypoints[b] / scale, visible[b], sigma)
            for b in range(keypoints.shape[0])]


def workload(name):
    config = TOP_DOWN if name == "top-down" else BOTTOM_UP
    keypoints, visible = pose_batch(config["shape"], config["input_size"])
    options = dict(input_size=config["input_size"], heatmap_size=config["heatmap_size"],
                   sigma=config["sigma"])
    return keypoints, visible, options


def calls(name, method):
    """``{"mmpose": ..., "fastheat": ..., "encoder": ...}``: one batch each, one thread."""
    keypoints, visible, options = workload(name)
    encoder = fastheat.KeypointEncoder(**options, method=method, num_threads=1)
    return {
        "mmpose": lambda: mmpose_loop(keypoints, visible, options["input_size"],
                                      options["heatmap_size"], options["sigma"], method),
        "fastheat": lambda: fastheat.encode_keypoints(keypoints, visible, **options, method=method,
                                                      num_threads=1),
        "encoder": lambda: encoder(keypoints, visible),
    }


CASES = [("top-down", "msra"), ("top-down", "udp"), ("top-down", "dark"), ("bottom-up", "msra")]


@pytest.mark.parametrize("name, method", CASES)
@pytest.mark.parametrize("runner", ["mmpose", "fastheat", "encoder"])
def test_keypoint_batch(benchmark, name, method, runner):
    benchmark.group = f"{name}-{method}"
    call = calls(name, method)[runner]
    call()  # compile or load the kernels, grow the tables
    if runner == "mmpose":
        benchmark.pedantic(call, rounds=5, warmup_rounds=0)
    else:
        benchmark(call)



@pytest.mark.parametrize("name, method", CASES)
def test_speedups(name, method, target, timed):
    runs = calls(name, method)
    for call in runs.values():
        call()
    mmpose = timed(runs["mmpose"], seconds=2.0)
    lines, fastest = [], {}
    for runner in ("fastheat", "encoder"):
        times = timed(runs[runner])
        fastest[runner] = min(times)
        lines.append(f"{runner}: min {min(times) * 1e3:.3f} ms, median "
                     f"{statistics.median(times) * 1e3:.3f} ms, {min(mmpose) / min(times):.1f}x "
                     f"(median {statistics.median(mmpose) / statistics.median(times):.1f}x)")
    report = (f"{name} {method}: mmpose loop min {min(mmpose) * 1e3:.2f} ms, median "
              f"{statistics.median(mmpose) * 1e3:.2f} ms; " + "; ".join(lines))
    target(min(mmpose) / fastest["fastheat"] >= TARGETS[name, method],
           f"{report} (target {TARGETS[name, method]}x)")
