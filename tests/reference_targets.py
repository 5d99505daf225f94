"""Plain NumPy/Python transcriptions of CornerNet's and CenterNet's training targets: the oracle.

``encode_cornernet`` is the seed's per-detection loop (tests/reference.py) plus CornerNet's
offset/tag bookkeeping; ``encode_centernet`` is CenterNet's ctdet loop with plain scaling in
place of its affine warp. Float32 arithmetic is spelled out with NumPy float32 scalars, so it
means the same under NumPy 1.x and 2.x. Images with more than ``max_slots`` boxes keep their
first ``max_slots`` (the front end's ``on_overflow="truncate"``).
"""

import math

import numpy as np

import reference
from test_gaussian import centernet_radius

RADIUS = {"cornernet": reference.gaussian_radius, "centernet": centernet_radius}


def kept_rows(detections, batch_size, max_slots):
    """``(slot, row)`` of every row that gets a slot, in input order."""
    counts = [0] * batch_size
    for row in np.asarray(detections, dtype=np.float64).reshape(-1, 6):
        b = int(row[0])
        if counts[b] < max_slots:
            yield counts[b], row
        counts[b] += 1


def encode_cornernet(detections, batch_size, num_classes, input_size, output_size,
                     gaussian_iou=0.3, gaussian_rad=-1, max_tag_len=128, delte=6, k=1):
    kept = list(kept_rows(detections, batch_size, max_tag_len))
    rows = np.array([row for _, row in kept]).reshape(-1, 6)
    tl_heatmaps, br_heatmaps = reference.encode_corners(
        rows, batch_size, num_classes, input_size, output_size, gaussian_iou, gaussian_rad,
        delte=delte, k=k)
    width_ratio = output_size[1] / input_size[1]
    height_ratio = output_size[0] / input_size[0]
    tl_regrs = np.zeros((batch_size, max_tag_len, 2), dtype=np.float32)
    br_regrs = np.zeros((batch_size, max_tag_len, 2), dtype=np.float32)
    tl_tags = np.zeros((batch_size, max_tag_len), dtype=np.int64)
    br_tags = np.zeros((batch_size, max_tag_len), dtype=np.int64)
    tag_masks = np.zeros((batch_size, max_tag_len), dtype=np.uint8)
    tag_lens = np.zeros((batch_size,), dtype=np.int32)
    for tag_ind, row in kept:
        b_ind = int(row[0])
        xtl, ytl, xbr, ybr = row[2:]
        fxtl = xtl * width_ratio
        fytl = ytl * height_ratio
        fxbr = xbr * width_ratio
        fybr = ybr * height_ratio
        xtl, ytl, xbr, ybr = int(fxtl), int(fytl), int(fxbr), int(fybr)
        tl_regrs[b_ind, tag_ind, :] = [fxtl - xtl, fytl - ytl]
        br_regrs[b_ind, tag_ind, :] = [fxbr - xbr, fybr - ybr]
        tl_tags[b_ind, tag_ind] = ytl * output_size[1] + xtl
        br_tags[b_ind, tag_ind] = ybr * output_size[1] + xbr
        tag_lens[b_ind] += 1
    for b_ind in range(batch_size):
        tag_masks[b_ind, :tag_lens[b_ind]] = 1
    return (tl_heatmaps, br_heatmaps, tl_regrs, br_regrs, tl_tags, br_tags, tag_masks, tag_lens)


def encode_centernet(detections, batch_size, num_classes, input_size, output_size,
                     gaussian_iou=0.7, radius_formula="centernet", max_objs=128, delte=6, k=1,
                     min_radius=0):
    output_h, output_w = output_size
    width_ratio = output_w / input_size[1]
    height_ratio = output_h / input_size[0]
    hm = np.zeros((batch_size, num_classes, output_h, output_w), dtype=np.float32)
    wh = np.zeros((batch_size, max_objs, 2), dtype=np.float32)
    reg = np.zeros((batch_size, max_objs, 2), dtype=np.float32)
    ind = np.zeros((batch_size, max_objs), dtype=np.int64)
    reg_mask = np.zeros((batch_size, max_objs), dtype=np.uint8)
    for slot, row in kept_rows(detections, batch_size, max_objs):
        b, cls_id = int(row[0]), int(row[1])
        x1, y1, x2, y2 = row[2:]
        bbox = np.array([x1 * width_ratio, y1 * height_ratio, x2 * width_ratio, y2 * height_ratio],
                        dtype=np.float32)
        bbox[[0, 2]] = np.clip(bbox[[0, 2]], np.float32(0), np.float32(output_w - 1))
        bbox[[1, 3]] = np.clip(bbox[[1, 3]], np.float32(0), np.float32(output_h - 1))
        h, w = bbox[3] - bbox[1], bbox[2] - bbox[0]
        assert h.dtype == w.dtype == np.float32
        if h > 0 and w > 0:
            radius = RADIUS[radius_formula]((math.ceil(h), math.ceil(w)), gaussian_iou)
            radius = max(0, int(radius))
            radius = max(min_radius, radius)
            ct = np.array([(bbox[0] + bbox[2]) / np.float32(2), (bbox[1] + bbox[3]) / np.float32(2)],
                          dtype=np.float32)
            ct_int = ct.astype(np.int32)
            reference.draw_gaussian(hm[b, cls_id], ct_int.tolist(), radius, k=k, delte=delte)
            wh[b, slot] = 1.0 * w, 1.0 * h
            ind[b, slot] = int(ct_int[1]) * output_w + int(ct_int[0])
            reg[b, slot] = ct - ct_int
            reg_mask[b, slot] = 1
    return hm, wh, reg, ind, reg_mask
