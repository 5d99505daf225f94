"""The hand-off from a worker to the training process, in one process: what crosses and what
the receiver then does, for the CornerNet batch.

    python -m pytest benchmarks/test_bench_handoff.py --benchmark-enable --benchmark-columns=min,median,max,rounds

Group ``hand-off``: pickle + unpickle the dense targets (what a DataLoader writes and reads,
490 MiB), against pickle + unpickle the sparse targets and render them into a reused encoder.
``scripts/loader_demo.py`` measures the same through a real DataLoader.
"""

import pickle

import pytest

import fastheat
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
