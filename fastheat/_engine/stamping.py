"""Numba kernels: plain loops over arrays and scalars that write into preallocated outputs.

Nothing here validates or raises; the public front ends check every input first. Float
arithmetic follows the seed (``shared/seed/gaussian_targets.md``) operation by operation, in
float64, so that results are bit-identical to it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._numba import jit, jit_parallel, prefetch

CORNERNET = 0  # radius formula of the seed (CornerNet, CornerNet-Lite, mmdetection)
CENTERNET = 1  # radius formula shipped with CenterNet ("Objects as Points")

CLEAR_ALL = 0  # how _stamp_points clears a map first: write zeros everywhere,
TOUCH_PAGES = 1  # write one zero per 4 KiB page of memory known to be zero (fresh np.zeros),
CLEAR_PREVIOUS = 2  # or zero only the windows that the previous call's boxes stamped
PAGE_BYTES = 4096


@jit
def _square(x, two):
    # The seed squares with Python's ``**``: exact integer arithmetic when the value is an int,
    # C ``pow()`` when it is a float. ``two`` is the run-time value 2.0: a constant exponent
    # would let LLVM rewrite pow(x, 2.0) as x * x, which rounds differently from glibc's pow.
    if x == math.floor(x):
        return x * x
    return x**two


@jit
def gaussian_radius_scalar(height, width, min_overlap, formula, two):
    """The seed's ``gaussian_radius(det_size=(height, width), min_overlap)``, in float64."""
    a1 = 1.0
    b1 = height + width
    c1 = width * height * (1.0 - min_overlap) / (1.0 + min_overlap)
    sq1 = math.sqrt(_square(b1, two) - 4.0 * a1 * c1)

    a2 = 4.0
    b2 = 2.0 * (height + width)
    c2 = (1.0 - min_overlap) * width * height
    sq2 = math.sqrt(_square(b2, two) - 4.0 * a2 * c2)

    a3 = 4.0 * min_overlap
    b3 = -2.0 * min_overlap * (height + width)
    c3 = (min_overlap - 1.0) * width * height
    sq3 = math.sqrt(b3**two - 4.0 * a3 * c3)  # b3 is a Python float in the seed: pow()

    if formula == CORNERNET:
        r1 = (b1 - sq1) / (2.0 * a1)
        r2 = (b2 - sq2) / (2.0 * a2)
        r3 = (b3 + sq3) / (2.0 * a3)
    else:
        r1 = (b1 + sq1) / 2.0
        r2 = (b2 + sq2) / 2.0
        r3 = (b3 + sq3) / 2.0
    return min(r1, r2, r3)


@jit
def gaussian_radius_array(height, width, min_overlap, formula, two, out):
    """``out[i] = gaussian_radius_scalar(height[i], width[i], ...)`` over 1-D arrays."""
    for i in range(out.size):
        out[i] = gaussian_radius_scalar(height[i], width[i], min_overlap, formula, two)


@jit
def group_by_image(image_index, starts, order):
    """Counting sort: boxes of image ``b`` are ``order[starts[b]:starts[b + 1]]``, in input order."""
    starts[:] = 0
    for i in range(image_index.size):
        starts[image_index[i] + 1] += 1
    for b in range(starts.size - 1):
        starts[b + 1] += starts[b]
    fill = starts[:-1].copy()
    for i in range(image_index.size):
        b = image_index[i]
        order[fill[b]] = i
        fill[b] += 1


@jit
def prepare_corners(
    boxes, width_ratio, height_ratio, min_overlap, fixed_radius, min_radius, formula, two,
    corners, radii,
):
    """Grid corners ``(xtl, ytl, xbr, ybr)`` and Gaussian radius of every box, as in the seed.

    ``boxes`` is float64 ``(N, 4)``: ``x1, y1, x2, y2`` in input pixels. ``fixed_radius < 0``
    computes the radius from the box size (the seed's ``gaussian_rad == -1``).
    """
    for i in range(boxes.shape[0]):
        x1 = boxes[i, 0]
        y1 = boxes[i, 1]
        x2 = boxes[i, 2]
        y2 = boxes[i, 3]
        corners[i, 0] = int(x1 * width_ratio)
        corners[i, 1] = int(y1 * height_ratio)
        corners[i, 2] = int(x2 * width_ratio)
        corners[i, 3] = int(y2 * height_ratio)
        if fixed_radius < 0:
            width = np.ceil((x2 - x1) * width_ratio)
            height = np.ceil((y2 - y1) * height_ratio)
            radius = int(gaussian_radius_scalar(height, width, min_overlap, formula, two))
        else:
            radius = fixed_radius
        radii[i] = max(min_radius, radius)


@jit
def window(center, radius, size):
    """The cells ``[lo, hi)`` of a ``size``-long axis within ``radius`` of ``center``."""
    return max(center - radius, 0), min(center + radius + 1, size)


@jit
def table_offset(radius):
    """Where ``radius`` starts in a table of the radii ``0, 1, ...``: the sum of ``(q + 1) ** 2``
    over ``q < radius`` (each radius stores one ``(radius + 1) ** 2`` quadrant)."""
    return radius * (radius + 1) * (2 * radius + 1) // 6


@jit
def stamp(heatmap, x, y, radius, table, offset):
    """Max-merge the Gaussian of ``radius`` centred on ``(x, y)`` into the 2-D ``heatmap``.

    ``table[offset + dy * (radius + 1) + dx]`` is the Gaussian's value at offset ``(dx, dy)``
    from the centre (one quadrant; the Gaussian is symmetric). Only cells inside the map are
    visited, so any centre is safe.
    """
    y0, y1 = window(y, radius, heatmap.shape[0])
    x0, x1 = window(x, radius, heatmap.shape[1])
    side = radius + 1
    for yy in range(y0, y1):
        row = offset + abs(yy - y) * side
        for xx in range(x0, x1):
            value = table[row + abs(xx - x)]
            if value > heatmap[yy, xx]:
                heatmap[yy, xx] = value


@jit
def clear_window(heatmap, x, y, radius):
    """Zero the cells that ``stamp`` with the same centre and radius may have written."""
    y0, y1 = window(y, radius, heatmap.shape[0])
    x0, x1 = window(x, radius, heatmap.shape[1])
    for yy in range(y0, y1):
        for xx in range(x0, x1):
            heatmap[yy, xx] = 0.0


@jit
def prefetch_window(heatmap, x, y, radius):
    """Start loading both ends of every row that ``stamp`` with the same arguments will visit.

    A reused map is far bigger than the caches, so ``stamp`` mostly meets rows that are not in
    cache; asking for all of an image's rows first lets those memory fetches overlap instead of
    stalling the stamping loop one by one (the CPU's own prefetcher fetches the lines between
    both ends). Values are not touched.
    """
    y0, y1 = window(y, radius, heatmap.shape[0])
    x0, x1 = window(x, radius, heatmap.shape[1])
    if x0 < x1:
        for yy in range(y0, y1):
            prefetch(heatmap, yy, x0)
            prefetch(heatmap, yy, x1 - 1)


def _stamp_points(
    maps, clear,
    prev_starts, prev_order, prev_categories, prev_points, prev_radii,
    starts, order, categories, points, radii, table, covered,
):
    """Stamp every box's K points into the K maps of ``maps``, one image per thread (no races).

    ``maps`` is a tuple of K C-contiguous arrays ``(B, C, H, W)``; box ``i`` stamps a Gaussian
    of radius ``radii[i]`` at ``(points[i, 2k], points[i, 2k + 1])`` into
    ``maps[k][b, categories[i]]`` (corners: K = 2, centres: K = 1), with the values of
    ``table``, which holds the radii ``0..covered`` (``table_offset``). Each image's maps are first
    cleared as ``clear`` says (CLEAR_ALL, TOUCH_PAGES or CLEAR_PREVIOUS with the previous call's
    boxes in ``prev_*``), by the thread that stamps them. The maps may hold more images than
    ``starts`` describes (a reused buffer): those are only cleared. Boxes with a radius above
    ``covered`` are left to the caller. With CLEAR_PREVIOUS (reused maps, mostly out
    of cache) an image's new windows are prefetched before its old ones are cleared.
    """
    for b in prange(maps[0].shape[0]):
        if clear == CLEAR_PREVIOUS and b < starts.size - 1:
            for k in range(len(maps)):
                for j in range(starts[b], starts[b + 1]):
                    i = order[j]
                    if radii[i] <= covered:
                        prefetch_window(maps[k][b, categories[i]], points[i, 2 * k],
                                        points[i, 2 * k + 1], radii[i])
        for k in range(len(maps)):
            image = maps[k][b]
            if clear == CLEAR_ALL:
                image[:] = 0.0
            elif clear == TOUCH_PAGES:
                flat = image.reshape(-1)
                for cell in range(0, flat.size, PAGE_BYTES // flat.itemsize):
                    flat[cell] = 0.0
            elif b < prev_starts.size - 1:
                for j in range(prev_starts[b], prev_starts[b + 1]):
                    i = prev_order[j]
                    clear_window(image[prev_categories[i]], prev_points[i, 2 * k],
                                 prev_points[i, 2 * k + 1], prev_radii[i])
            if b >= starts.size - 1:
                continue
            for j in range(starts[b], starts[b + 1]):
                i = order[j]
                r = radii[i]
                if r <= covered:
                    stamp(image[categories[i]], points[i, 2 * k], points[i, 2 * k + 1],
                          r, table, table_offset(r))


stamp_points_serial = jit(_stamp_points)
stamp_points_parallel = jit_parallel(_stamp_points)
