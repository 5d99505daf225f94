"""Numba kernels of the CornerNet and CenterNet training targets (``fastheat.targets``).

Like ``_kernels``: serial loops that write into preallocated outputs, never validate and never
raise. Each walks the boxes image by image through ``group_by_image``'s ``starts``/``order``,
so slot ``t`` of image ``b`` is that image's ``t``-th box in input order. The front end has
already dropped the boxes past the last slot of their image.
"""

from __future__ import annotations

import math

import numpy as np

from ._kernels import gaussian_radius_scalar
from ._numba import jit


@jit
def fill_corner_slots(
    boxes, width_ratio, height_ratio, out_w, starts, order, corners,
    tl_regrs, br_regrs, tl_tags, br_tags, tag_masks, tag_lens,
):
    """CornerNet's per-box targets, from the grid corners of ``prepare_corners``.

    ``tl_regrs[b, t] = (fxtl - xtl, fytl - ytl)``: the float64 scaled corner minus its grid
    cell, rounded to the float32 output; ``tl_tags[b, t] = ytl * out_w + xtl`` (and likewise
    for the bottom-right corner). The outputs arrive zeroed.
    """
    for b in range(starts.size - 1):
        tag_lens[b] = starts[b + 1] - starts[b]
        for t in range(tag_lens[b]):
            i = order[starts[b] + t]
            tl_regrs[b, t, 0] = boxes[i, 0] * width_ratio - corners[i, 0]
            tl_regrs[b, t, 1] = boxes[i, 1] * height_ratio - corners[i, 1]
            br_regrs[b, t, 0] = boxes[i, 2] * width_ratio - corners[i, 2]
            br_regrs[b, t, 1] = boxes[i, 3] * height_ratio - corners[i, 3]
            tl_tags[b, t] = corners[i, 1] * out_w + corners[i, 0]
            br_tags[b, t] = corners[i, 3] * out_w + corners[i, 2]
            tag_masks[b, t] = 1


@jit
def _scale_clip(value, ratio, high):
    """``np.clip(float32(value * ratio), 0, high)``: scaled in float64, clipped in float32."""
    return min(max(np.float32(value * ratio), np.float32(0.0)), high)


@jit
def prepare_centers(
    boxes, width_ratio, height_ratio, out_w, out_h, min_overlap, min_radius, formula, two,
    starts, order, points, radii, stamp_starts, stamp_order, wh, reg, ind, reg_mask,
):
    """CenterNet's ctdet targets, and the centres and radii of the Gaussians to stamp.

    For box ``i`` in slot ``t`` of image ``b``: the float32 box scaled to the output map and
    clipped into it; if its float32 width and height are both > 0, the radius (from their
    ``ceil``), the float32 centre ``ct`` and its grid cell ``points[i] = int(ct)``, and the
    slot's ``wh``, ``reg``, ``ind`` and ``reg_mask``. Only those boxes enter the stamping
    order ``stamp_order[stamp_starts[b]:stamp_starts[b + 1]]``; the others keep radius 0 and
    zero slots. ``points``, ``radii`` and the slot outputs arrive zeroed.
    """
    max_x = np.float32(out_w - 1)
    max_y = np.float32(out_h - 1)
    half = np.float32(2.0)
    stamped = 0
    stamp_starts[0] = 0
    for b in range(starts.size - 1):
        for t in range(starts[b + 1] - starts[b]):
            i = order[starts[b] + t]
            x1 = _scale_clip(boxes[i, 0], width_ratio, max_x)
            y1 = _scale_clip(boxes[i, 1], height_ratio, max_y)
            x2 = _scale_clip(boxes[i, 2], width_ratio, max_x)
            y2 = _scale_clip(boxes[i, 3], height_ratio, max_y)
            w = np.float32(x2 - x1)
            h = np.float32(y2 - y1)
            if not (h > 0 and w > 0):
                continue
            radius = int(gaussian_radius_scalar(float(math.ceil(h)), float(math.ceil(w)),
                                                min_overlap, formula, two))
            radii[i] = max(min_radius, max(0, radius))
            cx = np.float32(np.float32(x1 + x2) / half)
            cy = np.float32(np.float32(y1 + y2) / half)
            points[i, 0] = int(cx)
            points[i, 1] = int(cy)
            wh[b, t, 0] = w
            wh[b, t, 1] = h
            reg[b, t, 0] = cx - points[i, 0]
            reg[b, t, 1] = cy - points[i, 1]
            ind[b, t] = points[i, 1] * out_w + points[i, 0]
            reg_mask[b, t] = 1
            stamp_order[stamped] = i
            stamped += 1
        stamp_starts[b + 1] = stamped
