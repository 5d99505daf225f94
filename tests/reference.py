"""Plain NumPy/Python transcription of the seed (shared/seed/gaussian_targets.md): the oracle.

Kept as close to the seed's text as possible. Deviations, all from shared/seed/README.md or
the issue: ``draw_gaussian`` is called as ``draw_gaussian(heatmap, [x, y], radius)`` (the
seed's intended call); box values are float64; a Gaussian whose visible window is empty is
skipped (the seed would raise a broadcast error or wrap around there).
"""

import math

import numpy as np


def gaussian_radius(det_size, min_overlap):
    height, width = det_size
    a1 = 1
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    sq1 = np.sqrt(b1**2 - 4 * a1 * c1)
    r1 = (b1 - sq1) / (2 * a1)

    a2 = 4
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    sq2 = np.sqrt(b2**2 - 4 * a2 * c2)
    r2 = (b2 - sq2) / (2 * a2)

    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    sq3 = np.sqrt(b3**2 - 4 * a3 * c3)
    r3 = (b3 + sq3) / (2 * a3)
    return min(r1, r2, r3)


def gaussian2D(shape, sigma=1):
    m, n = [(ss - 1.0) / 2.0 for ss in shape]
    y, x = np.ogrid[-m : m + 1, -n : n + 1]

    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h


def draw_gaussian(heatmap, center, radius, k=1, delte=6):
    diameter = 2 * radius + 1
    gaussian = gaussian2D((diameter, diameter), sigma=diameter / delte)

    x, y = center
    height, width = heatmap.shape[0:2]
    if x + radius < 0 or x - radius >= width or y + radius < 0 or y - radius >= height:
        return  # nothing visible (the seed's slices go wrong here)

    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)

    masked_heatmap = heatmap[y - top : y + bottom, x - left : x + right]
    masked_gaussian = gaussian[radius - top : radius + bottom, radius - left : radius + right]
    np.maximum(masked_heatmap, masked_gaussian * k, out=masked_heatmap)


def encode_corners(detections, batch_size, num_classes, input_size, output_size,
                   gaussian_iou=0.3, gaussian_rad=-1, dtype=np.float32, delte=6, k=1):
    """The seed's per-detection loop over ``(batch_index, category, x1, y1, x2, y2)`` rows."""
    out_h, out_w = output_size
    width_ratio = output_size[1] / input_size[1]
    height_ratio = output_size[0] / input_size[0]
    tl_heatmaps = np.zeros((batch_size, num_classes, out_h, out_w), dtype=dtype)
    br_heatmaps = np.zeros((batch_size, num_classes, out_h, out_w), dtype=dtype)
    for row in np.asarray(detections, dtype=np.float64).reshape(-1, 6):
        b_ind, category = int(row[0]), int(row[1])
        detection = row[2:]
        xtl, ytl = detection[0], detection[1]
        xbr, ybr = detection[2], detection[3]

        fxtl = xtl * width_ratio
        fytl = ytl * height_ratio
        fxbr = xbr * width_ratio
        fybr = ybr * height_ratio

        xtl = int(fxtl)
        ytl = int(fytl)
        xbr = int(fxbr)
        ybr = int(fybr)

        width = detection[2] - detection[0]
        height = detection[3] - detection[1]
        width = math.ceil(width * width_ratio)
        height = math.ceil(height * height_ratio)

        if gaussian_rad == -1:
            radius = gaussian_radius((height, width), gaussian_iou)
            radius = max(0, int(radius))
        else:
            radius = gaussian_rad

        draw_gaussian(tl_heatmaps[b_ind, category], [xtl, ytl], radius, k=k, delte=delte)
        draw_gaussian(br_heatmaps[b_ind, category], [xbr, ybr], radius, k=k, delte=delte)
    return tl_heatmaps, br_heatmaps
