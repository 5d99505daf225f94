"""The one stamping kernel (serial and parallel from one source) and its wrapper.

Every map fastheat writes is written here: cleared as the sink needs (all of it, one touch per
page of fresh zeros, or only the windows the previous call stamped), then every point of
``Stamps`` max-merged into it with the values of a Gaussian table, or, for a per-point kind
(``tables``), with each point's own values computed beforehand (an exp32 kind's as they are
stamped, ``stamp_exp32``),
merged as the kind says (``tables.MAX``, ``ADD_CLAMP`` or ``OVERWRITE``: each image's points in
order, one image per thread, so the order-dependent merges are deterministic). A kind with a
background channel gets it written after stamping; ``tables.MapKinds`` stamps each map with its
own kind. A label kind's points (``tables``, "label kinds"; SimCC) are 1-D labels instead: each
writes one whole row of its map (``_stamp_label_images``), the maps of one family may differ in
width. Nothing here validates or raises; the front ends have checked everything.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from numba import prange

from . import numpy_exp, parallel, runtime, tables
from .jit import jit, jit_parallel, prefetch
from .numpy_exp import exp32
from .stamps import CHANNEL, EMPTY, MAP, RADIUS, X, X_HI, X_LO, Y, Y_HI, Y_LO, Stamps
from .tables import ADD_CLAMP, MAX

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
def covered_cells(points, clips, j, height, width):
    """``(y0, y1, x0, x1)``: the cells of the map that point ``j`` covers, its square within
    its clip rectangle (``clips`` of size 0: none); empty when ``y0 == y1`` or ``x0 == x1``."""
    y0, y1 = window(points[j, Y], points[j, RADIUS], height)
    x0, x1 = window(points[j, X], points[j, RADIUS], width)
    if clips.shape[0] > 0:
        x0, x1 = max(x0, clips[j, X_LO]), min(x1, clips[j, X_HI])
        y0, y1 = max(y0, clips[j, Y_LO]), min(y1, clips[j, Y_HI])
    return y0, max(y0, y1), x0, max(x0, x1)


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
def stamp_cells(flat, base, width, x, y, radius, table, y0, y1, x0, x1):
    """``stamp`` restricted to the cells ``[y0, y1) x [x0, x1)`` (within the map and the
    square; ``covered_cells``). (Its own copy of ``stamp``'s loop: CornerNet's kernel was 10%
    slower with ``stamp`` calling this.)"""
    side = 2 * radius + 1
    first_value = table_offset(radius) + radius - x + x0  # of row dy = 0, column x0
    for yy in range(y0, y1):
        cells = np.uint64(base + yy * width + x0)
        values = np.uint64(first_value + abs(yy - y) * side)
        for i in range(np.uint64(max(x1 - x0, 0))):
            flat[cells + i] = max(flat[cells + i], table[values + i])


@jit
def stamp_values(flat, base, width, values, first, y0, y1, x0, x1):
    """Max-merge the cells ``[y0, y1) x [x0, x1)`` into the map at ``flat[base:]`` with a
    point's own values: ``values[first:]``, row after row of the window."""
    span = x1 - x0
    for yy in range(y0, y1):
        cells = np.uint64(base + yy * width + x0)
        source = np.uint64(first + (yy - y0) * span)
        for i in range(np.uint64(span)):
            flat[cells + i] = max(flat[cells + i], values[source + i])


@jit
def stamp_exp32(flat, base, width, parts, j, y0, y1, x0, x1, scratch):
    """Max-merge point ``j``'s float32 Gaussian ``exp32(-(x_squares[c] + y_squares[r]) /
    divisor)`` (``numpy_exp.exp32``: NumPy's float32 ``exp``) into the cells ``[y0, y1) x
    [x0, x1)`` of the map at ``flat[base:]``. ``parts`` is ``(x_squares, x_starts, y_squares,
    y_starts, divisor, reciprocal)``: column ``c`` of point ``j``'s window is
    ``x_squares[x_starts[j] + c]``, row ``r`` ``y_squares[y_starts[j] + r]``; ``reciprocal``
    is ``1 / divisor`` if ``divisor`` is a power of two (multiplying by it is then dividing,
    bit for bit, and faster), else 0. The window's exponents go to ``scratch`` (at least its
    cells long, in cache), then their ``exp32`` is merged in one loop over all of them if the
    window spans whole rows of the map (a loop long enough to vectorise, unlike a row of a
    narrow map), else computed in one such loop and merged row by row."""
    x_squares, x_starts, y_squares, y_starts, divisor, reciprocal = parts
    span = x1 - x0
    first = np.uint64(x_starts[j])
    for yy in range(y0, y1):
        dy2 = y_squares[y_starts[j] + yy - y0]
        row = np.uint64((yy - y0) * span)
        if reciprocal != 0:
            for i in range(np.uint64(span)):  # unsigned: no wraparound check, vectorised
                scratch[row + i] = -(x_squares[first + i] + dy2) * reciprocal
        else:
            for i in range(np.uint64(span)):
                scratch[row + i] = -(x_squares[first + i] + dy2) / divisor
    cells = np.uint64((y1 - y0) * span)
    if span == width:
        first_cell = np.uint64(base + y0 * width)
        for i in range(cells):
            flat[first_cell + i] = max(flat[first_cell + i], exp32(scratch[i]))
        return
    for i in range(cells):
        scratch[i] = exp32(scratch[i])
    stamp_values(flat, base, width, scratch, 0, y0, y1, x0, x1)


@jit
def add_values(flat, base, width, values, first, y0, y1, x0, x1):
    """``stamp_values`` merging by addition (in the maps' dtype: ``values`` are in it), each
    sum above 1 clamped to 1 (OpenPose's ``_add_gaussian``)."""
    span = x1 - x0
    for yy in range(y0, y1):
        cells = base + yy * width + x0
        source = first + (yy - y0) * span
        for i in range(span):
            total = flat[cells + i] + values[source + i]
            flat[cells + i] = 1 if total > 1 else total


@jit
def overwrite_values(flat, base, width, values, first, y0, y1, x0, x1):
    """``stamp_values`` writing each value that is not NaN over the cell's (OpenPose's
    ``_set_paf``: limb bands)."""
    span = x1 - x0
    for yy in range(y0, y1):
        cells = base + yy * width + x0
        source = first + (yy - y0) * span
        for i in range(span):
            value = values[source + i]
            if not np.isnan(value):
                flat[cells + i] = value


@jit
def clear_cells(flat, base, width, y0, y1, x0, x1):
    """Zero the cells ``[y0, y1) x [x0, x1)`` (``covered_cells``) of the map at ``flat[base:]``."""
    for yy in range(y0, y1):
        row = base + yy * width
        flat[row + x0:row + x1] = 0.0


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


@jit
def prefetch_cells(flat, base, width, y0, y1, x0, x1):
    """Start loading both ends of every row of the cells ``[y0, y1) x [x0, x1)`` that a stamp
    will visit.

    A reused map is far bigger than the caches, so stamping mostly meets rows that are not in
    cache; asking for all of an image's rows first lets those memory fetches overlap instead of
    stalling the stamping loop one by one (the CPU's own prefetcher fetches the lines between
    both ends). Values are not touched.
    """
    if x0 < x1:
        for yy in range(y0, y1):
            row = base + yy * width
            prefetch(flat, row + x0)
            prefetch(flat, row + x1 - 1)


def _stamp_images(maps, channels, height, width, clear, previous_starts, previous,
                  previous_clips, starts, points, clips, table, covered, value_starts, merge,
                  exp32_parts):
    """Clear, then stamp, each image of the flat ``maps``; one image per thread (no races).

    ``maps`` is a tuple of C-contiguous ``(B, channels, height, width)`` maps, flattened. Point
    ``j`` of image ``b`` (``points[starts[b]:starts[b + 1]]``) stamps its cells (its square,
    within its ``clips`` row unless ``clips`` is None: ``covered_cells``) into channel
    ``points[j, CHANNEL]`` of image ``b`` of ``maps[points[j, MAP]]``: with its own values
    ``table[value_starts[j]:]`` unless ``value_starts`` is None (a per-point kind, whose points
    are clipped; merged as ``merge`` says) or ``exp32_parts`` (not None: an ``exp32`` kind's
    axis parts, ``stamp_exp32``), else from the Gaussian table if its radius is at
    most ``covered`` (larger radii are the caller's). Before stamping, the thread clears the
    image as ``clear`` says (CLEAR_PREVIOUS: the cells of the previous call's points, after
    prefetching the new ones).
    The maps may hold more images than ``starts`` describes (a reused buffer): those are only
    cleared.

    Numba compiles one kernel per combination of None arguments and prunes the branches of
    the others: CornerNet's kernel (no clips) is the code it was before clips existed (a kernel
    testing the clips at run time was 10% slower).
    """
    plane = height * width
    image_size = channels * plane
    for b in prange(maps[0].size // image_size):
        stamped = b < starts.size - 1
        if clear == CLEAR_PREVIOUS and stamped:
            for j in range(starts[b], starts[b + 1]):
                if points[j, RADIUS] <= covered:
                    base = b * image_size + points[j, CHANNEL] * plane
                    if clips is None:
                        prefetch_window(maps[points[j, MAP]], base, height, width, points[j, X],
                                        points[j, Y], points[j, RADIUS])
                    else:
                        y0, y1, x0, x1 = covered_cells(points, clips, j, height, width)
                        prefetch_cells(maps[points[j, MAP]], base, width, y0, y1, x0, x1)
        if clear == CLEAR_ALL:
            for m in range(len(maps)):
                maps[m][b * image_size:(b + 1) * image_size] = 0.0
        elif clear == TOUCH_PAGES:
            for m in range(len(maps)):
                for cell in range(b * image_size, (b + 1) * image_size, PAGE_BYTES // maps[m].itemsize):
                    maps[m][cell] = 0.0
        elif b < previous_starts.size - 1:
            for j in range(previous_starts[b], previous_starts[b + 1]):
                base = b * image_size + previous[j, CHANNEL] * plane
                if previous_clips is None:
                    clear_window(maps[previous[j, MAP]], base, height, width, previous[j, X],
                                 previous[j, Y], previous[j, RADIUS])
                else:
                    y0, y1, x0, x1 = covered_cells(previous, previous_clips, j, height, width)
                    clear_cells(maps[previous[j, MAP]], base, width, y0, y1, x0, x1)
        if stamped:
            scratch = np.empty(plane if exp32_parts is not None else 0, np.float32)
            for j in range(starts[b], starts[b + 1]):
                if points[j, RADIUS] <= covered:
                    base = b * image_size + points[j, CHANNEL] * plane
                    if clips is None:
                        stamp(maps[points[j, MAP]], base, height, width, points[j, X],
                              points[j, Y], points[j, RADIUS], table)
                    else:
                        y0, y1, x0, x1 = covered_cells(points, clips, j, height, width)
                        if exp32_parts is not None:
                            stamp_exp32(maps[points[j, MAP]], base, width, exp32_parts, j, y0, y1,
                                        x0, x1, scratch)
                        elif value_starts is None:
                            stamp_cells(maps[points[j, MAP]], base, width, points[j, X],
                                        points[j, Y], points[j, RADIUS], table, y0, y1, x0, x1)
                        elif merge == MAX:
                            stamp_values(maps[points[j, MAP]], base, width, table,
                                         value_starts[j], y0, y1, x0, x1)
                        elif merge == ADD_CLAMP:
                            add_values(maps[points[j, MAP]], base, width, table,
                                       value_starts[j], y0, y1, x0, x1)
                        else:
                            overwrite_values(maps[points[j, MAP]], base, width, table,
                                             value_starts[j], y0, y1, x0, x1)


stamp_images_serial = jit(_stamp_images)
stamp_images_parallel = jit_parallel(_stamp_images)


@jit
def visible_windows(points, clips, height, width):
    """``(windows, value_starts)``: per point its ``covered_cells`` as a row ``(y0, y1, x0,
    x1)``, and where its values start in a flat array of all points' windows, row after row
    (``value_starts[n]`` values in all): the layout of a per-point kind's values."""
    n = points.shape[0]
    windows = np.empty((n, 4), np.int64)
    value_starts = np.zeros(n + 1, np.int64)
    for j in range(n):
        y0, y1, x0, x1 = covered_cells(points, clips, j, height, width)
        windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3] = y0, y1, x0, x1
        value_starts[j + 1] = value_starts[j] + (y1 - y0) * (x1 - x0)
    return windows, value_starts


def axis_starts(windows) -> tuple:
    """``(x_starts, y_starts)``: where each window's columns (``windows[j]``: ``y0, y1, x0,
    x1``) start in a flat array of every window's columns, and its rows in one of every
    window's rows (``x_starts[n]`` columns in all): the layout of per-axis parts."""
    x_starts, y_starts = (np.zeros(len(windows) + 1, np.int64) for _ in range(2))
    np.cumsum(windows[:, 3] - windows[:, 2], out=x_starts[1:])
    np.cumsum(windows[:, 1] - windows[:, 0], out=y_starts[1:])
    return x_starts, y_starts


def point_values(stamps: Stamps, gaussian, height: int, width: int) -> tuple:
    """``(values, value_starts)`` of a per-point kind: every point's visible window (of a
    ``height x width`` map), in the kind's dtype (rounded to the maps' as they are merged, as
    NumPy's ``np.maximum(map, values, out=map)`` does)."""
    windows, value_starts = runtime.call(visible_windows, visible_windows, stamps.points,
                                         stamps.clip_array, height, width)
    values = gaussian.window_values(stamps, windows, value_starts)
    return values, value_starts


def values_for(stamps: Stamps, gaussian, height: int, width: int, dtype) -> tuple:
    """``(table, covered, value_starts)`` for the kernels: the Gaussian table and the radii it
    covers and None, or a per-point kind's values, every radius covered, and where each
    point's values start."""
    if tables.is_per_point(gaussian):
        values, value_starts = point_values(stamps, gaussian, height, width)
        return values, np.iinfo(np.int64).max, value_starts
    table, covered = tables.table_of(gaussian, dtype, stamps.max_radius, max(height, width))
    return table, covered, None


@jit
def _count_cells(points, clips, maps, height, width, covered):
    """``map_starts``: map ``m``'s cells are ``[map_starts[m], map_starts[m + 1])``."""
    map_starts = np.zeros(maps + 1, np.int64)
    for j in range(points.shape[0]):
        if points[j, RADIUS] <= covered:
            y0, y1, x0, x1 = covered_cells(points, clips, j, height, width)
            map_starts[points[j, MAP] + 1] += (y1 - y0) * (x1 - x0)
    for m in range(maps):
        map_starts[m + 1] += map_starts[m]
    return map_starts


@jit
def _fill_cells(starts, points, clips, channels, height, width, table, covered, value_starts,
                map_starts, cells, values):
    fill = map_starts[:-1].copy()
    per_point = value_starts.size > 0  # (0: table values)
    for b in range(starts.size - 1):
        for j in range(starts[b], starts[b + 1]):
            radius = points[j, RADIUS]
            if radius > covered:
                continue
            y0, y1, x0, x1 = covered_cells(points, clips, j, height, width)
            m = points[j, MAP]
            base = (b * channels + points[j, CHANNEL]) * height * width
            for yy in range(y0, y1):
                if per_point:
                    row = value_starts[j] + (yy - y0) * (x1 - x0) - x0
                else:
                    row = table_offset(radius) + radius - points[j, X] \
                        + abs(yy - points[j, Y]) * (2 * radius + 1)
                for xx in range(x0, x1):
                    cells[fill[m]] = base + yy * width + xx
                    values[fill[m]] = table[row + xx]
                    fill[m] += 1


def expand_cells(stamps: Stamps, maps: int, shape, gaussian, dtype) -> list:
    """``[(cells, values)]`` per map: the flat indices into a ``shape`` ``(B, C, H, W)`` map of
    every cell that ``stamps`` stamp there, and the values stamped (``dtype``, from the same
    tables or per-point values). Scattered with ``max`` into zeros they give the maps
    ``stamp_maps`` gives; a cell may repeat (overlapping Gaussians)."""
    if tables.is_label(gaussian):
        return _expand_label_cells(stamps, shape, gaussian)
    _, channels, height, width = shape
    dtype = np.dtype(dtype)
    table, covered, value_starts = values_for(stamps, gaussian, height, width, dtype)
    clips = stamps.clip_array
    map_starts = runtime.call(_count_cells, _count_cells, stamps.points, clips, maps, height,
                              width, covered)
    cells, values = np.empty(map_starts[-1], np.int64), np.empty(map_starts[-1], dtype)
    runtime.call(_fill_cells, _fill_cells, stamps.starts, stamps.points, clips, channels, height,
                 width, table, covered, NO_STARTS if value_starts is None else value_starts,
                 map_starts, cells, values)
    expanded = [([cells[map_starts[m]:map_starts[m + 1]]], [values[map_starts[m]:map_starts[m + 1]]])
                for m in range(maps)]
    for j, b, (m, c, x, y, r), clip in _beyond_table(stamps, covered):
        y0, y1, x0, x1, window_values = tables.visible_window(gaussian, x, y, r, height, width,
                                                              clip)
        if window_values is not None:
            rows, columns = np.arange(y0, y1)[:, None], np.arange(x0, x1)[None, :]
            expanded[m][0].append((((b * channels + c) * height + rows) * width + columns).ravel())
            expanded[m][1].append(window_values.astype(dtype).ravel())
    return [(np.concatenate(c), np.concatenate(v)) for c, v in expanded]


def stamp_maps(maps, stamps: Stamps, gaussian, num_threads: int | None, clear: int,
               previous: Stamps | None = None) -> None:
    """Clear the ``(B, C, H, W)`` ``maps`` as ``clear`` says, then stamp ``stamps`` into them.

    ``gaussian`` is the spec's (``tables``: ``(delte, k)`` or a kind); ``num_threads`` a
    checked count, or None for the thread policy to decide from the work. Radii above the
    table's (wider than the map, or beyond its byte budget) are stamped afterwards from values
    computed for their visible windows only. A label kind's maps get its rows
    (``stamp_label_maps``).
    """
    if tables.is_label(gaussian):
        stamp_label_maps(maps, stamps, gaussian, num_threads, clear, previous)
        return
    if isinstance(gaussian, tables.MapKinds):
        for m, kind in enumerate(gaussian.kinds):
            stamp_maps((maps[m],), stamps_of_map(stamps, m), kind, num_threads, clear,
                       None if previous is None else stamps_of_map(previous, m))
        return
    _, channels, height, width = maps[0].shape
    dtype = maps[0].dtype
    exp32_parts = None
    if tables.is_exp32(gaussian) and numpy_exp.exp32_is_numpys():
        windows, _ = runtime.call(visible_windows, visible_windows, stamps.points,
                                  stamps.clip_array, height, width)
        exp32_parts = gaussian.exp32_parts(stamps, windows)
        table, covered, value_starts = np.zeros(0, dtype), np.iinfo(np.int64).max, None
    else:
        table, covered, value_starts = values_for(stamps, gaussian, height, width, dtype)
    previous = previous or EMPTY
    if clear == CLEAR_PREVIOUS:
        cleared = previous.cells * dtype.itemsize
    else:
        cleared = len(maps) * maps[0].nbytes
    threads = parallel.threads_for(num_threads, maps[0].shape[0],
                                   cleared + parallel.CELL_WORK * stamps.cells)
    if clear == TOUCH_PAGES and threads == 1:
        clear = CLEAR_NOTHING  # first-touching fresh zeros pays only to spread page faults over threads
    variant = (dtype.str, previous.clips is None, stamps.clips is None, value_starts is None,
               exp32_parts is None)
    parallel.run_kernel(
        stamp_images_serial, stamp_images_parallel, threads, variant,
        tuple([m.reshape(-1) for m in maps]), channels, height, width, clear,
        previous.starts, previous.points, previous.clips, stamps.starts, stamps.points,
        stamps.clips, table, covered, value_starts, getattr(gaussian, "merge", MAX),
        exp32_parts,
    )
    for j, b, (m, c, x, y, r), clip in _beyond_table(stamps, covered):
        tables.stamp_clipped_window(maps[m][b, c], x, y, r, gaussian, clip)
    if getattr(gaussian, "background", False):
        for heatmaps in maps:
            runtime.call(background_channel, background_channel,
                         heatmaps[:stamps.images].reshape(stamps.images, channels, -1))


@jit
def background_channel(heatmaps):
    """Write the last channel of every image of the ``(B, C, H * W)`` ``heatmaps`` as ``1 -
    max(0, the other channels)`` (OpenPose's ``1 - keypoint_maps.max(axis=0)`` with the
    background channel still 0; ``1 - m`` is exact in float64 for a float32 ``m`` of at least
    2**-30, and rounds to 1 in both below)."""
    last = heatmaps.shape[1] - 1
    for b in range(heatmaps.shape[0]):
        peak = heatmaps[b, last]
        peak[:] = 0
        for c in range(last):
            plane = heatmaps[b, c]
            for i in range(plane.size):
                peak[i] = max(peak[i], plane[i])
        for i in range(peak.size):
            peak[i] = 1 - peak[i]


def stamps_of_map(stamps: Stamps, m: int) -> Stamps:
    """The points of ``stamps`` on map ``m``, as points of a map 0 (for ``tables.MapKinds``:
    each map stamped on its own), with their optional arrays' rows."""
    mine = stamps.points[:, MAP] == m
    if m == 0 and mine.all():
        return stamps
    index = np.flatnonzero(mine)

    def rows(array):  # (np.take: 4x faster than fancy indexing here)
        return None if array is None else np.take(array, index, axis=0)

    points = rows(stamps.points)
    points[:, MAP] = 0
    return Stamps(np.searchsorted(index, stamps.starts), points,
                  int(points[:, RADIUS].max(initial=-1)), stamps.cells, clips=rows(stamps.clips),
                  centres=rows(stamps.centres), cell_values=rows(stamps.cell_values),
                  regions=rows(stamps.regions), lines=rows(stamps.lines))


NO_STARTS = np.zeros(0, np.int64)


def _beyond_table(stamps: Stamps, covered: int):
    """``(j, image, point, clip)`` of the points whose radius the table does not cover."""
    if stamps.max_radius <= covered:
        return
    for j in np.flatnonzero(stamps.points[:, RADIUS] > covered).tolist():
        b = int(np.searchsorted(stamps.starts, j, side="right")) - 1
        clip = None if stamps.clips is None else stamps.clips[j].tolist()
        yield j, b, stamps.points[j].tolist(), clip


# --- 1-D labels (a label kind's points; tables, "label kinds") ---------------------------------


def _stamp_label_images(maps, widths, images, channels, rows, clear, previous_starts, previous,
                        starts, points, table, table_length):
    """Clear, then write the label rows of, each image of the flat ``maps``; one image per
    thread.

    ``maps[m]`` is a C-contiguous ``(images, channels, rows, widths[m])`` map, flattened. Point
    ``j`` of image ``b`` overwrites row ``points[j, Y]`` of channel ``points[j, CHANNEL]`` of
    map ``points[j, MAP]``: cell ``xx`` gets ``table[m * table_length + |xx - points[j, X]|]``
    (``points[j, RADIUS]``, the largest such offset, is below ``table_length``). Clearing as in
    ``_stamp_images`` (CLEAR_PREVIOUS: the rows the previous call's points wrote).
    """
    for b in prange(images):
        if clear == CLEAR_ALL:
            for m in range(len(maps)):
                size = channels * rows * widths[m]
                maps[m][b * size:(b + 1) * size] = 0.0
        elif clear == TOUCH_PAGES:
            for m in range(len(maps)):
                size = channels * rows * widths[m]
                step = max(PAGE_BYTES // maps[m].itemsize, 1)
                for cell in range(b * size, (b + 1) * size, step):
                    maps[m][cell] = 0.0
        elif clear == CLEAR_PREVIOUS and b < previous_starts.size - 1:
            for j in range(previous_starts[b], previous_starts[b + 1]):
                m = previous[j, MAP]
                width = widths[m]
                row = ((b * channels + previous[j, CHANNEL]) * rows + previous[j, Y]) * width
                maps[m][row:row + width] = 0.0
        if b < starts.size - 1:
            for j in range(starts[b], starts[b + 1]):
                m = points[j, MAP]
                target = maps[m]
                width, centre = widths[m], points[j, X]
                row = ((b * channels + points[j, CHANNEL]) * rows + points[j, Y]) * width
                left = min(max(centre, 0), width)  # cells [0, left) lie before the centre
                # unsigned indices (all >= 0: no wraparound checks; 5x faster)
                cells, values = np.uint64(row), np.uint64(m * table_length + centre)
                for i in range(np.uint64(left)):  # offsets centre - xx, decreasing
                    target[cells + i] = table[values - i]
                if left < width:  # offsets xx - centre from left on, increasing
                    cells = np.uint64(row + left)
                    values = np.uint64(m * table_length + left - centre)
                    for i in range(np.uint64(width - left)):
                        target[cells + i] = table[values + i]


stamp_label_images_serial = jit(_stamp_label_images)
stamp_label_images_parallel = jit_parallel(_stamp_label_images)


#: What clearing one row of a window costs beyond its cells, in bytes of clearing a whole
#: buffer (``clearing_all_is_cheaper``): a short fill each, mostly missing the caches when the
#: buffer is larger than they are. Calibrated on reused pose maps here (a different batch
#: every call): top-down MSRA (13 MiB, 4% of its cells and 11,000 rows stamped) cleared
#: whole as fast as window by window; top-down DarkPose (50%, 40,000 rows) 1.3x faster,
#: bottom-up MSRA (17 MiB, 16%, 57,000 rows) 2.4x faster.
ROW_BYTES = 1024


@jit
def covered_rows(points, clips, height, width):
    """How many rows of cells the points cover in all (``covered_cells``)."""
    rows = 0
    for j in range(points.shape[0]):
        y0, y1, x0, x1 = covered_cells(points, clips, j, height, width)
        if x0 < x1:
            rows += y1 - y0
    return rows


def clearing_all_is_cheaper(buffers, whole: int, previous: Stamps, gaussian) -> bool:
    """Whether zeroing all of an encoder's reused ``buffers`` (its maps, then its fields: the
    maps stamped with the spec's ``gaussian``; ``whole`` bytes in all) costs less than
    clearing what ``previous`` wrote (``CLEAR_PREVIOUS``): its cells plus ``ROW_BYTES`` per
    row of them."""
    _, _, height, width = buffers[0].shape
    cells = previous.cells * buffers[0].itemsize
    if cells + previous.points.shape[0] * height * ROW_BYTES < whole:
        return False  # even if every point covered every row (no kernel call: small batches)
    if tables.is_label(gaussian):
        rows = previous.points.shape[0]  # one row each
    else:
        rows = runtime.call(covered_rows, covered_rows, previous.points, previous.clip_array,
                            height, width)
    return whole <= cells + rows * ROW_BYTES


def label_table(stamps: Stamps, kind) -> tuple[NDArray, int]:
    """``(table, length)``: the label kind's values at offsets ``0..length - 1`` for each of
    its maps, flat (``kind.offset_values``), ``length`` covering every point's reach (at least
    the widest map, else a power of two: few distinct tables)."""
    length = max(kind.widths)
    if stamps.max_radius >= length:
        length = 1 << int(stamps.max_radius).bit_length()
    return kind.offset_values(length).reshape(-1), length


def stamp_label_maps(maps, stamps: Stamps, kind, num_threads: int | None, clear: int,
                     previous: Stamps | None = None) -> None:
    """``stamp_maps`` for a label kind: the ``(B, C, R, width)`` ``maps`` (one width per map,
    ``kind.widths``) cleared as ``clear`` says, then each point's row written."""
    images, channels, rows, _ = maps[0].shape
    table, length = label_table(stamps, kind)
    previous = previous or EMPTY
    nbytes = sum(m.nbytes for m in maps)
    cleared = previous.cells * maps[0].itemsize if clear == CLEAR_PREVIOUS else nbytes
    threads = parallel.threads_for(num_threads, images, cleared + parallel.CELL_WORK * stamps.cells)
    if clear == TOUCH_PAGES and threads == 1:
        clear = CLEAR_NOTHING
    parallel.run_kernel(
        stamp_label_images_serial, stamp_label_images_parallel, threads,
        ("labels", maps[0].dtype.str), tuple([m.reshape(-1) for m in maps]),
        np.array(kind.widths, np.int64), images, channels, rows, clear, previous.starts,
        previous.points, stamps.starts, stamps.points, table, length)


def _expand_label_cells(stamps: Stamps, shape, kind) -> list:
    """``expand_cells`` for a label kind: per map, every cell of every row its points write
    (each once: no two points write one row) and its value."""
    images, channels, rows, _ = shape
    table, length = label_table(stamps, kind)
    points = stamps.points
    image = np.repeat(np.arange(stamps.images), np.diff(stamps.starts))
    expanded = []
    for m, width in enumerate(kind.widths):
        mine = points[:, MAP] == m
        row = ((image[mine] * channels + points[mine, CHANNEL]) * rows + points[mine, Y]) * width
        cells = np.arange(width)
        offsets = np.abs(cells[None, :] - points[mine, X][:, None])
        expanded.append(((row[:, None] + cells[None, :]).ravel(),
                         table[m * length + offsets].ravel()))
    return expanded
