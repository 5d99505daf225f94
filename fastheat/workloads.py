"""Seeded COCO-like detection batches and nuScenes-like LiDAR scenes: the workloads of the
benchmarks, scripts and tests."""

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


#: mmdetection3d's CenterPoint nuScenes configuration (voxel 0.1 m, 1024 x 1024 grid, factor 8):
#: the options of ``encode_centerpoint``, and its 10 classes' share of nuScenes' boxes
#: (car, truck, construction vehicle, bus, trailer, barrier, motorcycle, bicycle, pedestrian,
#: traffic cone: the label order of its six tasks).
NUSCENES = dict(tasks=(1, 2, 2, 1, 2, 2), point_cloud_range=(-51.2, -51.2, -5.0, 51.2, 51.2, 3.0),
                voxel_size=(0.1, 0.1, 0.2), grid_size=(1024, 1024, 40), out_size_factor=8)
NUSCENES_CLASS_SHARE = (0.43, 0.08, 0.015, 0.015, 0.025, 0.13, 0.01, 0.01, 0.2, 0.085)
#: Typical (dx, dy, dz) in metres of each class.
NUSCENES_CLASS_SIZE = ((4.6, 1.9, 1.7), (6.9, 2.5, 2.8), (6.4, 2.8, 3.2), (11.0, 2.9, 3.5),
                       (12.3, 2.9, 3.9), (0.5, 2.5, 1.0), (2.1, 0.8, 1.5), (1.7, 0.6, 1.3),
                       (0.7, 0.7, 1.8), (0.4, 0.4, 1.1))


def nuscenes_like_boxes(seed: int = 0, *, batch_size: int = 4,
                        boxes_per_scene: int = 120) -> NDArray[np.float64]:
    """Random ``(N, 11)`` LiDAR boxes ``(batch_index, label, x, y, z, dx, dy, dz, yaw, vx,
    vy)`` of ``NUSCENES``' range, ``boxes_per_scene`` per scene, sorted by scene.

    Labels follow ``NUSCENES_CLASS_SHARE``, sizes ``NUSCENES_CLASS_SIZE`` scaled by 0.8 to
    1.2; centres are uniform over the range (a few percent land beyond it), z around the
    ground, yaw uniform, velocities normal (0 for barriers and cones). The same ``seed``
    always gives the same boxes.
    """
    rng = np.random.default_rng(seed)
    n = batch_size * boxes_per_scene
    scene = np.repeat(np.arange(batch_size), boxes_per_scene)
    share = np.array(NUSCENES_CLASS_SHARE)
    label = rng.choice(len(share), n, p=share / share.sum())
    size = np.array(NUSCENES_CLASS_SIZE)[label] * rng.uniform(0.8, 1.2, (n, 3))
    xy = rng.uniform(-52.0, 52.0, (n, 2))
    z = rng.uniform(-2.5, -1.0, n)
    yaw = rng.uniform(-np.pi, np.pi, n)
    velocity = rng.normal(0.0, 3.0, (n, 2)) * ~np.isin(label, (5, 9))[:, None]
    return np.column_stack([scene, label, xy, z, size, yaw, velocity])
