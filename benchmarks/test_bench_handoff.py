"""The hand-off from a worker to the training process, in one process: what crosses and what
the receiver then does, for the CornerNet batch.

    python -m pytest benchmarks/test_bench_handoff.py --benchmark-enable --benchmark-columns=min,median,max,rounds

Group ``hand-off``: pickle + unpickle the dense targets (what a DataLoader writes and reads,
490 MiB), against pickle + unpickle the sparse targets and render them into a reused encoder.
``scripts/loader_demo.py`` measures the same through a real DataLoader.

``test_door_check_cost``: what checking sparse targets at the door costs next to rendering them.
"""

import pickle
import statistics

import pytest

import fastheat
from fastheat._engine.sparse_check import check_sparse
from fastheat.workloads import coco_like_detections

CORNERNET = dict(num_classes=80, input_size=(511, 511), output_size=(128, 128))


@pytest.fixture(scope="module")
def batch():
    return coco_like_detections(0)


@pytest.mark.benchmark(group="hand-off")
def test_dense_targets_cross(benchmark, batch):
    dense = fastheat.encode_cornernet(batch, batch_size=49, **CORNERNET)
    benchmark.pedantic(lambda: pickle.loads(pickle.dumps(dense, protocol=5)), rounds=5)


@pytest.mark.benchmark(group="hand-off")
def test_sparse_targets_cross_and_render(benchmark, batch):
    sparse = fastheat.encode_cornernet(batch, batch_size=49, **CORNERNET, sparse=True)
    encoder = fastheat.CornerNetEncoder(**CORNERNET)
    encoder.render(sparse)
    benchmark(lambda: encoder.render(pickle.loads(pickle.dumps(sparse, protocol=5))))


def test_door_check_cost(batch, target, timed):
    """``check_sparse`` (run at every door into rendering) against rendering the COCO-size
    CornerNet batch into a reused encoder and into fresh maps; target: under 5% of the former.
    Both sides are measured interleaved, min and median of repeats."""
    sparse = fastheat.encode_cornernet(batch, batch_size=49, **CORNERNET, sparse=True)
    encoder = fastheat.CornerNetEncoder(**CORNERNET, num_threads=1)
    runs = {"check": lambda: check_sparse(sparse),
            "render (reused encoder, check included)": lambda: encoder.render(sparse),
            "to_dense (fresh maps, check included)": lambda: sparse.to_dense(num_threads=1)}
    times = {name: [] for name in runs}
    for _ in range(7):
        for name, run in runs.items():
            times[name] += timed(run, seconds=0.1, least=1)
    lines = [f"{name}: min {min(t) * 1e6:.1f} us, median {statistics.median(t) * 1e6:.1f} us"
             for name, t in times.items()]
    share = min(times["check"]) / min(times["render (reused encoder, check included)"])
    target(share < 0.05, f"{'; '.join(lines)}; the check is {share:.1%} of the reused render "
           f"({len(sparse.stamps.points)} points, target < 5%)")

