"""CenterPoint targets: fastheat against the NumPy transcription of mmdetection3d's per-scene
``CenterHead.get_targets_single``, side by side in one process, one thread.

    python -m pytest benchmarks/test_bench_centerpoint.py --benchmark-enable -s \
        --benchmark-columns=min,median,rounds

The nuScenes setting (``fastheat.workloads.NUSCENES``: 1024 x 1024 grid, out_size_factor 8,
six tasks ``(1, 2, 2, 1, 2, 2)``, 10 classes, 128 x 128 heatmaps), 4 scenes of 120 boxes
(``nuscenes_like_boxes(0)``). Runners (compare them within the group):

- ``mmdet3d``: the transcription's ``centerpoint_scene`` on each scene (its per-task outputs
  not stacked into a batch, as ``get_targets`` would: not counted);
- ``fastheat``: ``encode_centerpoint``, fresh outputs;
- ``encoder``: a ``CenterPointEncoder`` (reused heatmap, sparse reset);
- ``sparse``: ``encode_centerpoint(sparse=True)`` (what a DataLoader worker would return).

``test_speedups`` measures the same calls (best and median of repeated rounds), prints the
pickled size of one scene's sparse targets and checks the issue's targets: fresh calls 30x
the per-scene loop, the encoder 100x, sparse targets under 10 KB a scene.
"""

import pickle
import statistics

import pytest

import fastheat
import naive
from fastheat.workloads import NUSCENES, nuscenes_like_boxes

SCENES, BOXES = 4, 120
TARGETS = {"fastheat": 30, "encoder": 100}
SPARSE_BYTES_PER_SCENE = 10_000


def mmdet3d_loop(boxes):
    """``get_targets_single`` on each scene: ``[(heatmaps, anno_boxes, inds, masks)]``."""
    return [naive.centerpoint_scene(mine[:, 2:], mine[:, 1].astype(int).tolist(),
                                    NUSCENES["tasks"], NUSCENES["point_cloud_range"],
                                    NUSCENES["voxel_size"], NUSCENES["grid_size"],
                                    NUSCENES["out_size_factor"], 0.1, 2, 500, True)
            for mine in (boxes[boxes[:, 0] == b] for b in range(SCENES))]


def calls():
    """``{runner: call}``: one batch each, one thread."""
    boxes = nuscenes_like_boxes(0, batch_size=SCENES, boxes_per_scene=BOXES)
    encoder = fastheat.CenterPointEncoder(**NUSCENES, num_threads=1)
    return {
        "mmdet3d": lambda: mmdet3d_loop(boxes),
        "fastheat": lambda: fastheat.encode_centerpoint(boxes, batch_size=SCENES, **NUSCENES,
                                                        num_threads=1),
        "encoder": lambda: encoder(boxes, SCENES),
        "sparse": lambda: fastheat.encode_centerpoint(boxes, batch_size=SCENES, **NUSCENES,
                                                      sparse=True),
    }


@pytest.mark.parametrize("runner", ["mmdet3d", "fastheat", "encoder", "sparse"])
def test_centerpoint_batch(benchmark, runner):
    benchmark.group = "centerpoint-nuscenes"
    call = calls()[runner]
    call()  # compile or load the kernels, grow the tables
    if runner == "mmdet3d":
        benchmark.pedantic(call, rounds=10, warmup_rounds=0)
    else:
        benchmark(call)



def test_speedups(target, timed):
    runs = calls()
    for call in runs.values():
        call()
    reference = timed(runs["mmdet3d"], seconds=2.0)
    lines = []
    ratios = {}
    for runner in ("fastheat", "encoder", "sparse"):
        times = timed(runs[runner])
        ratios[runner] = min(reference) / min(times)
        lines.append(f"{runner}: min {min(times) * 1e3:.3f} ms, median "
                     f"{statistics.median(times) * 1e3:.3f} ms, {ratios[runner]:.1f}x (median "
                     f"{statistics.median(reference) / statistics.median(times):.1f}x)")
    boxes = nuscenes_like_boxes(0, batch_size=SCENES, boxes_per_scene=BOXES)
    sizes = [len(pickle.dumps(fastheat.encode_centerpoint(boxes[boxes[:, 0] == b, 1:],
                                                          batch_size=None, **NUSCENES,
                                                          sparse=True)))
             for b in range(SCENES)]
    dense = fastheat.encode_centerpoint(boxes, batch_size=SCENES, **NUSCENES)
    report = (f"centerpoint {SCENES} scenes x {BOXES} boxes: mmdet3d loop min "
              f"{min(reference) * 1e3:.2f} ms, median {statistics.median(reference) * 1e3:.2f} "
              f"ms; " + "; ".join(lines) + f"; sparse targets pickled per scene {min(sizes)} to "
              f"{max(sizes)} bytes (dense fields {sum(a.nbytes for a in dense) // SCENES} bytes)")
    target(all(ratios[runner] >= goal for runner, goal in TARGETS.items())
           and max(sizes) < SPARSE_BYTES_PER_SCENE,
           f"{report} (targets {TARGETS}, under {SPARSE_BYTES_PER_SCENE} bytes per scene)")
