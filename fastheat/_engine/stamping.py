"""The one stamping kernel (serial and parallel from one source) and its wrapper.

Every map fastheat writes is written here: cleared as the sink needs (all of it, one touch per
page of fresh zeros, or only the windows the previous call stamped), then every point of
``Stamps`` max-merged into it with the values of a Gaussian table. Nothing here validates or
raises; the front ends have checked everything.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import runtime, tables
from .jit import jit, jit_parallel, prefetch
from .stamps import CHANNEL, EMPTY, MAP, RADIUS, X, Y, Stamps

CLEAR_ALL = 0  # how the kernel clears each image first: write zeros everywhere (``out=``),
TOUCH_PAGES = 1  # write one zero per 4 KiB page of memory known to be zero (fresh np.zeros),
CLEAR_PREVIOUS = 2  # zero only the windows that the previous call's points stamped (reused),
CLEAR_NOTHING = 3  # or nothing (fresh np.zeros stamped by one thread)
PAGE_BYTES = 4096


@jit
def window(center, radius, size):
    """The cells ``[lo, hi)`` of a ``size``-long axis within ``radius`` of ``center``."""
    return max(center - radius, 0), min(center + radius + 1, size)


@jit
def table_offset(radius):
    """``tables.table_offset``, compiled."""
    return radius * (radius + 1) * (4 * radius - 1) // 6


@jit
def stamp(flat, base, height, width, x, y, radius, table):
    """Max-merge the Gaussian of ``radius`` at ``(x, y)`` into the ``height x width`` map
    ``flat[base:base + height * width]``, with the values of ``table`` (``tables``).

    Only cells inside the map are visited, so any centre is safe. Each window row is read
    from one contiguous table row; the inner loop indexes with unsigned integers (known
    non-negative: no wraparound check), which made it 1.4x faster.
    """
    if radius == 0:  # the most common radius of small boxes: one cell
        if 0 <= x < width and 0 <= y < height:
            cell = base + y * width + x
            flat[cell] = max(flat[cell], table[0])
        return
    y0, y1 = window(y, radius, height)
    x0, x1 = window(x, radius, width)
    side = 2 * radius + 1
    first_value = table_offset(radius) + radius - x + x0  # of row dy = 0, column x0
    for yy in range(y0, y1):
        cells = np.uint64(base + yy * width + x0)
        values = np.uint64(first_value + abs(yy - y) * side)
        for i in range(np.uint64(max(x1 - x0, 0))):
            flat[cells + i] = max(flat[cells + i], table[values + i])


@jit
def clear_window(flat, base, height, width, x, y, radius):
    """Zero the cells that ``stamp`` with the same arguments may have written."""
    y0, y1 = window(y, radius, height)
    x0, x1 = window(x, radius, width)
    if x0 < x1:  # else x1 may be negative: a slice would wrap around into other images
        for yy in range(y0, y1):
            row = base + yy * width
            flat[row + x0:row + x1] = 0.0


@jit
def prefetch_window(flat, base, height, width, x, y, radius):
    """Start loading both ends of every row that ``stamp`` with the same arguments will visit.

    A reused map is far bigger than the caches, so ``stamp`` mostly meets rows that are not in
    cache; asking for all of an image's rows first lets those memory fetches overlap instead of
    stalling the stamping loop one by one (the CPU's own prefetcher fetches the lines between
    both ends). Values are not touched.
    """
    y0, y1 = window(y, radius, height)
    x0, x1 = window(x, radius, width)
    if x0 < x1:
        for yy in range(y0, y1):
            row = base + yy * width
            prefetch(flat, row + x0)
            prefetch(flat, row + x1 - 1)


def _stamp_images(maps, channels, height, width, clear, previous_starts, previous, starts,
                  points, table, covered):
    """Clear, then stamp, each image of the flat ``maps``; one image per thread (no races).

    ``maps`` is a tuple of C-contiguous ``(B, channels, height, width)`` maps, flattened. Point
    ``j`` of image ``b`` (``points[starts[b]:starts[b + 1]]``) stamps channel
    ``points[j, CHANNEL]`` of image ``b`` of ``maps[points[j, MAP]]`` if its radius is at most
    ``covered``; larger radii are the caller's. Before stamping, the thread clears the image as
    ``clear`` says (CLEAR_PREVIOUS: the windows of the previous call's points, after
    prefetching the new windows). The maps may hold more images than ``starts`` describes (a
    reused buffer): those are only cleared.
    """
    plane = height * width
    image_size = channels * plane
    for b in prange(maps[0].size // image_size):
        stamped = b < starts.size - 1
        if clear == CLEAR_PREVIOUS and stamped:
            for j in range(starts[b], starts[b + 1]):
                if points[j, RADIUS] <= covered:
                    prefetch_window(maps[points[j, MAP]], b * image_size + points[j, CHANNEL] * plane,
                                    height, width, points[j, X], points[j, Y], points[j, RADIUS])
        if clear == CLEAR_ALL:
            for m in range(len(maps)):
                maps[m][b * image_size:(b + 1) * image_size] = 0.0
        elif clear == TOUCH_PAGES:
            for m in range(len(maps)):
                for cell in range(b * image_size, (b + 1) * image_size, PAGE_BYTES // maps[m].itemsize):
                    maps[m][cell] = 0.0
        elif b < previous_starts.size - 1:
            for j in range(previous_starts[b], previous_starts[b + 1]):
                clear_window(maps[previous[j, MAP]], b * image_size + previous[j, CHANNEL] * plane,
                             height, width, previous[j, X], previous[j, Y], previous[j, RADIUS])
        if stamped:
            for j in range(starts[b], starts[b + 1]):
                if points[j, RADIUS] <= covered:
                    stamp(maps[points[j, MAP]], b * image_size + points[j, CHANNEL] * plane,
                          height, width, points[j, X], points[j, Y], points[j, RADIUS], table)


stamp_images_serial = jit(_stamp_images)
stamp_images_parallel = jit_parallel(_stamp_images)


@jit
def _visible_window(points, j, height, width):
    """``(y0, y1, x0, x1)``: the cells of the map that point ``j`` covers."""
    y0, y1 = window(points[j, Y], points[j, RADIUS], height)
    x0, x1 = window(points[j, X], points[j, RADIUS], width)
    return y0, max(y0, y1), x0, max(x0, x1)


@jit
def _count_cells(points, maps, height, width, covered):
    """``map_starts``: map ``m``'s cells are ``[map_starts[m], map_starts[m + 1])``."""
    map_starts = np.zeros(maps + 1, np.int64)
    for j in range(points.shape[0]):
        if points[j, RADIUS] <= covered:
            y0, y1, x0, x1 = _visible_window(points, j, height, width)
            map_starts[points[j, MAP] + 1] += (y1 - y0) * (x1 - x0)
    for m in range(maps):
        map_starts[m + 1] += map_starts[m]
    return map_starts


@jit
def _fill_cells(starts, points, channels, height, width, table, covered, map_starts, cells,
                values):
    fill = map_starts[:-1].copy()
    for b in range(starts.size - 1):
        for j in range(starts[b], starts[b + 1]):
            radius = points[j, RADIUS]
            if radius > covered:
                continue
            y0, y1, x0, x1 = _visible_window(points, j, height, width)
            m = points[j, MAP]
            base = (b * channels + points[j, CHANNEL]) * height * width
            first_value = table_offset(radius) + radius - points[j, X]
            for yy in range(y0, y1):
                row = first_value + abs(yy - points[j, Y]) * (2 * radius + 1)
                for xx in range(x0, x1):
                    cells[fill[m]] = base + yy * width + xx
                    values[fill[m]] = table[row + xx]
                    fill[m] += 1


def expand_cells(stamps: Stamps, maps: int, shape, gaussian, dtype) -> list:
    """``[(cells, values)]`` per map: the flat indices into a ``shape`` ``(B, C, H, W)`` map of
    every cell that ``stamps`` stamp there, and the values stamped (``dtype``, from the same
    tables). Scattered with ``max`` into zeros they give the maps ``stamp_maps`` gives; a cell
    may repeat (overlapping Gaussians)."""
    _, channels, height, width = shape
    dtype = np.dtype(dtype)
    table, covered = tables.table_for(*gaussian, dtype, stamps.max_radius, max(height, width))
    map_starts = runtime.call(_count_cells, _count_cells, stamps.points, maps, height, width,
                              covered)
    cells, values = np.empty(map_starts[-1], np.int64), np.empty(map_starts[-1], dtype)
    runtime.call(_fill_cells, _fill_cells, stamps.starts, stamps.points, channels, height, width,
                 table, covered, map_starts, cells, values)
    expanded = [([cells[map_starts[m]:map_starts[m + 1]]], [values[map_starts[m]:map_starts[m + 1]]])
                for m in range(maps)]
    for j in np.flatnonzero(stamps.points[:, RADIUS] > covered).tolist():  # beyond the table
        b = int(np.searchsorted(stamps.starts, j, side="right")) - 1
        m, c, x, y, r = stamps.points[j].tolist()
        y0, y1 = max(y - r, 0), min(y + r + 1, height)
        x0, x1 = max(x - r, 0), min(x + r + 1, width)
        if y0 < y1 and x0 < x1:
            window_values = tables.gaussian_values(np.arange(y0 - y, y1 - y), np.arange(x0 - x, x1 - x),
                                                   r, *gaussian)
            rows, columns = np.arange(y0, y1)[:, None], np.arange(x0, x1)[None, :]
            expanded[m][0].append((((b * channels + c) * height + rows) * width + columns).ravel())
            expanded[m][1].append(window_values.astype(dtype).ravel())
    return [(np.concatenate(c), np.concatenate(v)) for c, v in expanded]


def stamp_maps(maps, stamps: Stamps, gaussian, num_threads: int | None, clear: int,
               previous: Stamps | None = None) -> None:
    """Clear the ``(B, C, H, W)`` ``maps`` as ``clear`` says, then stamp ``stamps`` into them.

    ``gaussian`` is ``(delte, k)``; ``num_threads`` a checked count, or None for the thread
    policy to decide from the work. Radii above the table's (wider than the map, or beyond its
    byte budget) are stamped afterwards from values computed for their visible windows only.
    """
    _, channels, height, width = maps[0].shape
    dtype = maps[0].dtype
    table, covered = tables.table_for(*gaussian, dtype, stamps.max_radius, max(height, width))
    previous = previous or EMPTY
    if clear == CLEAR_PREVIOUS:
        cleared = previous.cells * dtype.itemsize
    else:
        cleared = len(maps) * maps[0].nbytes
    threads = runtime.threads_for(num_threads, maps[0].shape[0],
                                  cleared + runtime.CELL_WORK * stamps.cells)
    if clear == TOUCH_PAGES and threads == 1:
        clear = CLEAR_NOTHING  # first-touching fresh zeros pays only to spread page faults over threads
    runtime.run_kernel(
        stamp_images_serial, stamp_images_parallel, threads,
        tuple(m.reshape(-1) for m in maps), channels, height, width, clear,
        previous.starts, previous.points, stamps.starts, stamps.points, table, covered,
    )
    if stamps.max_radius > covered:
        _stamp_beyond_table(maps, stamps, covered, gaussian)


def _stamp_beyond_table(maps, stamps: Stamps, covered: int, gaussian) -> None:
    """Stamp the points whose radius the table does not cover, window by window (NumPy)."""
    for j in np.flatnonzero(stamps.points[:, RADIUS] > covered).tolist():
        b = int(np.searchsorted(stamps.starts, j, side="right")) - 1
        m, c, x, y, r = stamps.points[j].tolist()
        tables.stamp_window(maps[m][b, c], x, y, r, *gaussian)
