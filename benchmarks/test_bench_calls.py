"""What one call costs around its kernels: the front end's fixed cost and small workloads.

    python -m pytest benchmarks/test_bench_calls.py --benchmark-enable --benchmark-columns=min,median,max,rounds

Groups (one thread, warm):
- ``fixed-cost``: a reused CornerEncoder with 0 boxes (batch of 1), and one image of 6 boxes;
  a CenterNetEncoder with one image of 6 boxes.
- ``centernet-one-image``: ``encode_centernet`` for one 512x512 image (128x128 output, 80
  classes) vs ``numpy.zeros`` of its heatmap alone: the difference is fastheat's own cost.
"""

import numpy as np
import pytest

import fastheat
from fastheat.workloads import coco_like_detections

CORNERNET = dict(num_classes=80, input_size=(511, 511), output_size=(128, 128), num_threads=1)
CENTERNET = dict(num_classes=80, input_size=(512, 512), output_size=(128, 128), num_threads=1)
SIX = coco_like_detections(3, batch_size=1, boxes_per_image=40)[:6]


@pytest.mark.benchmark(group="fixed-cost")
def test_corner_encoder_no_boxes(benchmark):
    encoder = fastheat.CornerEncoder(**CORNERNET)
    empty = np.zeros((0, 6))
    encoder(empty, 1)
    benchmark(encoder, empty, 1)


@pytest.mark.benchmark(group="fixed-cost")
def test_corner_encoder_one_image_six_boxes(benchmark):
    encoder = fastheat.CornerEncoder(**CORNERNET)
    encoder(SIX, 1)
    benchmark(encoder, SIX, 1)


@pytest.mark.benchmark(group="fixed-cost")
def test_centernet_encoder_one_image_six_boxes(benchmark):
    encoder = fastheat.CenterNetEncoder(**CENTERNET)
    encoder(SIX, 1)
    benchmark(encoder, SIX, 1)


@pytest.mark.benchmark(group="centernet-one-image")
def test_numpy_zeros_of_the_heatmap(benchmark):
    benchmark(np.zeros, (1, 80, 128, 128), np.float32)


@pytest.mark.benchmark(group="centernet-one-image")
def test_encode_centernet_one_image(benchmark):
    fastheat.encode_centernet(SIX, batch_size=1, **CENTERNET)
    benchmark(lambda: fastheat.encode_centernet(SIX, batch_size=1, **CENTERNET))
