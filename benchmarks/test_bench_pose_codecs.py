"""mmpose's other pose codecs: fastheat against the NumPy transcription of each codec's
per-image loop, side by side in one process, one thread.

    python -m pytest benchmarks/test_bench_pose_codecs.py --benchmark-enable -s

Groups (compare the rows within a group):

- ``simcc``: an RTMPose batch (64 images of one person, 17 keypoints, input 256x192, split
  ratio 2: labels of 384 and 512 cells, sigma (4.9, 5.66), 80% of the keypoints visible):
  ``SimCCLabel.encode`` on each image (``mmpose``, tests/naive.py's transcription, its
  per-image outputs not stacked into a batch) vs ``encode_simcc`` (fresh batch outputs) vs a
  ``SimCCEncoder`` (reused labels).
- ``associative-embedding``: a bottom-up batch (16 images of 10 people, 17 keypoints, input
  512x512, heatmaps 128x128, default sigma): ``AssociativeEmbedding.encode`` on each image vs
  ``encode_associative_embedding`` vs an ``AssociativeEmbeddingEncoder``.

``test_speedups`` measures the same calls (best and median of several rounds) and checks the
issue's targets: 30x mmpose's loop for both.
"""

import statistics

import numpy as np
import pytest

import fastheat
import naive

SIMCC = dict(shape=(64, 1, 17), input_size=(256, 192),
             options=dict(sigma=(4.9, 5.66), simcc_split_ratio=2.0))
AE = dict(shape=(16, 10, 17), input_size=(512, 512), heatmap_size=(128, 128))
TARGETS = {"simcc": 30, "associative-embedding": 30}


def pose_batch(shape, input_size, seed=0, visible_fraction=0.8):
    """Seeded float32 keypoints ``shape + (2,)`` spread over the input image, and visibilities."""
    rng = np.random.default_rng(seed)
    keypoints = (rng.uniform(0.05, 0.95, (*shape, 2)) * [input_size[1], input_size[0]])
    visible = (rng.uniform(size=shape) < visible_fraction).astype(np.float32)
    return keypoints.astype(np.float32), visible


def simcc_calls():
    """``{"mmpose": ..., "fastheat": ..., "encoder": ...}`` for the SimCC batch, one thread."""
    keypoints, visible = pose_batch(SIMCC["shape"], SIMCC["input_size"])
    options = dict(input_size=SIMCC["input_size"], **SIMCC["options"])
    encoder = fastheat.SimCCEncoder(**options, num_threads=1)
    size = [SIMCC["input_size"][1], SIMCC["input_size"][0]]
    sigma, ratio = SIMCC["options"]["sigma"], SIMCC["options"]["simcc_split_ratio"]
    return {
        "mmpose": lambda: [naive.simcc_labels(size, keypoints[b], visible[b], sigma, ratio,
                                              "gaussian", 0.0, True)
                           for b in range(keypoints.shape[0])],
        "fastheat": lambda: fastheat.encode_simcc(keypoints, visible, **options, num_threads=1),
        "encoder": lambda: encoder(keypoints, visible),
    }


def ae_calls():
    """The same for the associative-embedding batch (default sigma: 2.0 for 128x128)."""
    keypoints, visible = pose_batch(AE["shape"], AE["input_size"])
    options = dict(input_size=AE["input_size"], heatmap_size=AE["heatmap_size"])
    encoder = fastheat.AssociativeEmbeddingEncoder(**options, num_threads=1)
    size = [AE["heatmap_size"][1], AE["heatmap_size"][0]]
    sigma = (size[0] * size[1])**0.5 / 64
    scale = naive.keypoint_scale_factor(AE["input_size"], AE["heatmap_size"], "msra")

    def mmpose():
        results = []
        for b in range(keypoints.shape[0]):
            cells = keypoints[b] / scale
            heatmaps, weights = naive.msra_heatmaps(size, cells, visible[b], sigma)
            results.append((heatmaps, naive.keypoint_indices(size, cells, visible[b]), weights))
        return results

    return {
        "mmpose": mmpose,
        "fastheat": lambda: fastheat.encode_associative_embedding(keypoints, visible, **options,
                                                                  num_threads=1),
        "encoder": lambda: encoder(keypoints, visible),
    }


CALLS = {"simcc": simcc_calls, "associative-embedding": ae_calls}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("runner", ["mmpose", "fastheat", "encoder"])
def test_pose_codec_batch(benchmark, name, runner):
    benchmark.group = name
    call = CALLS[name]()[runner]
    call()  # compile or load the kernels, build the tables
    if runner == "mmpose":
        benchmark.pedantic(call, rounds=5, warmup_rounds=0)
    else:
        benchmark(call)



@pytest.mark.parametrize("name", sorted(CALLS))
def test_speedups(name, target, timed):
    runs = CALLS[name]()
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
    report = (f"{name}: mmpose loop min {min(mmpose) * 1e3:.2f} ms, median "
              f"{statistics.median(mmpose) * 1e3:.2f} ms; " + "; ".join(lines))
    target(min(mmpose) / fastest["fastheat"] >= TARGETS[name],
           f"{report} (target {TARGETS[name]}x)")
