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
issues' targets: 30x mmpose's loop for msra and udp, 8x for dark, 30x bottom-up.

``test_exp_floor`` is the floor analysis of udp and dark, whose references spend their time in
NumPy's ``exp``: how many ``exp`` the reference evaluates and how many are needed (dark: the
cells where NumPy's float32 ``exp`` is not 0; udp: every keypoint's window), NumPy's time for
the needed ones on this machine (the floor of any code calling NumPy's ``exp``), and
fastheat's time as a multiple of it (goals: dark within 1.5x, udp at most 0.3 ms beyond),
and the least a one-shot call must spend beyond that here (``least_parts``: its checks and a
fresh map written once; for dark also ``exp32`` of the needed values, as fast as NumPy's).
fastheat computes NumPy's bits without NumPy's ``exp`` (fastheat/_engine/numpy_exp.py), so
it can go below that floor. Each report starts with the CPU and NumPy's ``exp`` code path
(AVX-512 or AVX2): to see the AVX2 figures on an AVX-512 machine, run with
``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR" NUMBA_CPU_NAME=haswell``.
"""

import statistics

import numpy as np
import pytest

import fastheat
import naive
from fastheat._engine import numpy_exp
from machine import cpu_line, exp_arguments

TOP_DOWN = dict(shape=(64, 1, 17), input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)
BOTTOM_UP = dict(shape=(16, 20, 17), input_size=(512, 512), heatmap_size=(128, 128), sigma=2.0)
TARGETS = {("top-down", "msra"): 30, ("top-down", "udp"): 30, ("top-down", "dark"): 8,
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
    report = (f"{cpu_line()}; {name} {method}: mmpose loop min {min(mmpose) * 1e3:.2f} ms, median "
              f"{statistics.median(mmpose) * 1e3:.2f} ms; " + "; ".join(lines))
    target(min(mmpose) / fastest["fastheat"] >= TARGETS[name, method],
           f"{report} (target {TARGETS[name, method]}x)")


def least_parts(call, shape, timed):
    """What any one-shot call of ``call``'s batch costs beyond computing its values, at least,
    measured here (min of repeats): fastheat's checks and its family's pass
    (``profile_stages``), and a fresh float32 map of ``shape`` with every cell written once
    (the values can be written in the same pass): the cheaper of NumPy's zeros with one value
    per 4 KiB page written (the OS zeroing new pages) and filling ``np.empty`` (memory the
    process freed)."""
    with fastheat.profile_stages() as stages:
        for _ in range(20):
            call()
    size = int(np.prod(shape))

    def zeroed_pages():
        np.zeros(size, np.float32)[::1024] = 1

    def filled():
        np.empty(size, np.float32).fill(0)

    return {"checks and pass": min(stages["check"]) + min(stages["pass"]),
            "fresh map": min(min(timed(zeroed_pages, 0.5, 10)), min(timed(filled, 0.5, 10)))}


@pytest.mark.parametrize("method", ["udp", "dark"])
def test_exp_floor(method, target, timed, exp_floor):
    runs = calls("top-down", method)
    for call in runs.values():
        call()
    arguments = exp_arguments(runs["mmpose"])
    needed = arguments[np.exp(arguments) != 0] if method == "dark" else arguments
    count, floor = exp_floor(needed)
    fastest = {runner: min(timed(runs[runner])) for runner in ("fastheat", "encoder")}
    lines = [f"{runner} min {best * 1e3:.3f} ms = {best / floor:.2f}x the floor "
             f"({(best - floor) * 1e3:+.3f} ms)" for runner, best in fastest.items()]
    parts = least_parts(runs["fastheat"], runs["fastheat"]().heatmaps.shape, timed)
    if method == "dark":  # and its values: NumPy's float32 exp, transcribed (as fast)
        values = np.empty_like(needed)
        parts["exp32 of the needed"] = min(timed(
            lambda: numpy_exp.exp32_array(needed, values), 0.5, 10))
    least = sum(parts.values())
    report = (f"{cpu_line()}; top-down {method}: mmpose evaluates {arguments.size} {arguments.dtype}"
              f" exp per batch, {count} needed; NumPy's exp takes {floor / count * 1e9:.2f} ns "
              f"each here, floor {floor * 1e3:.3f} ms; " + "; ".join(lines) + "; a one-shot "
              f"call costs at least " + " + ".join(
                  f"{name} {seconds * 1e3:.3f} ms" for name, seconds in parts.items())
              + f" = {least * 1e3:.3f} ms" + (f" ({least / floor:.2f}x the floor)"
                                               if method == "dark" else " beyond its exps"))
    if method == "dark":
        target(fastest["fastheat"] <= 1.5 * floor, report + " (goal: within 1.5x of the floor)")
    else:
        target(fastest["fastheat"] - floor <= 0.3e-3,
               report + " (goal: at most 0.3 ms beyond the floor)")
