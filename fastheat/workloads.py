"""Seeded COCO-like detection batches: the workload of the benchmarks, scripts and tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: CornerNet's COCO configuration (511x511 input, 128x128 output, batch 49, 80 classes) and
#: COCO's mean boxes per image.
CORNERNET = {"batch_size": 49, "num_classes": 80, "input_size": (511, 511), "output_size": (128, 128)}
COCO_MEAN_BOXES = 7.3


def coco_like_detections(
    seed: int = 0,
    *,
    batch_size: int = 49,
    num_classes: int = 80,
    input_size: tuple[int, int] = (511, 511),
    boxes_per_image: float = COCO_MEAN_BOXES,
    min_box: float = 4.0,
) -> NDArray[np.float64]:
    """Random ``(N, 6)`` detections ``(batch_index, category, x1, y1, x2, y2)``, sorted by image.

    Each image gets Poisson(``boxes_per_image``) boxes of a uniform category; widths and heights
    are log-uniform between ``min_box`` pixels and the image size, and every box lies inside the
    image. The same ``seed`` always gives the same batch.
    """
    rng = np.random.default_rng(seed)
    in_h, in_w = input_size
    counts = rng.poisson(boxes_per_image, batch_size)
    n = int(counts.sum())
    image = np.repeat(np.arange(batch_size), counts)
    category = rng.integers(0, num_classes, n)
    w = np.exp(rng.uniform(np.log(min(min_box, in_w)), np.log(in_w), n))
    h = np.exp(rng.uniform(np.log(min(min_box, in_h)), np.log(in_h), n))
    x1 = rng.uniform(0, 1, n) * (in_w - w)
    y1 = rng.uniform(0, 1, n) * (in_h - h)
    return np.column_stack([image, category, x1, y1, x1 + w, y1 + h])
