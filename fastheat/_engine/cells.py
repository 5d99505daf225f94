"""Cell fields: dense per-cell targets written at each point's own cell, later points winning;
and region fields, written over a region of cells per point.

Some heads keep their regression targets in dense maps rather than slot arrays: mmdetection's
``CenterNetHead`` writes a box's size and offset at its centre cell, ``CornerHead`` a corner's
offset and shifts at the corner's cell, box after box, so that a later box sharing the cell
overwrites an earlier one. A family declares such fields (``Family.cells``: each one's name,
the map whose points write it, the first of its columns in ``Stamps.cell_values`` and its
channel count); its pass gives every point its values (``Stamps.cell_values``), and the engine
renders them wherever it renders maps: fresh, ``out=``, reused by an encoder (cleared only at
the previous call's cells), or scattered by ``fastheat.torch``.

**Rule.** Field ``f`` of image ``b`` is zero, except at the cell ``(x, y)`` of each point ``j``
of image ``b`` whose map is ``f``'s, when that cell is on the map: there, channel ``c`` holds
``cell_values[j, column + c]`` of the last such point (in point order) at that cell. A point
whose cell is off the map writes nothing.

**Region fields** (``RegionField``, ``Family.regions``) are written the same way over a
rectangle of cells per point (``Stamps.regions``), weighted or not by a Gaussian over it, and
cleared to their own fill value (TTFNet's ``box_target`` is -1 where no box writes). One
kernel (``_write_regions``) clears and writes them image after image, each point's region
channel after channel and row after row with element loops (rows a dozen cells wide: slices,
per-row checks and mispredicted loop exits cost more than the writes there); a region whose
weights are all > 0 (a Gaussian's within its box) is written whole, any other row by row as
its weights say.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

from . import runtime
from .jit import jit
from .stamps import CHANNEL, MAP, X, Y, Stamps

CLEAR_ALL, CLEAR_PREVIOUS, CLEAR_NOTHING = 0, 1, 2


class CellField(NamedTuple):
    """One cell field of a family (``Family.cells``): written at the cells of the points of
    map ``map``, channel ``c`` from ``Stamps.cell_values[:, column + c]``; ``flag`` names the
    spec's flag that adds it to the result (None: always there)."""

    name: str
    map: int
    column: int
    channels: int
    flag: str | None = None


@jit
def _cell_index(points, j, field_map, height, width):
    """The flat cell ``y * width + x`` of point ``j`` if it writes a field of ``field_map``
    and its cell is on the map, else -1."""
    x, y = points[j, X], points[j, Y]
    if points[j, MAP] != field_map or x < 0 or x >= width or y < 0 or y >= height:
        return -1
    return y * width + x


@jit
def _write_cells(fields, field_maps, columns, channels, height, width, clear, previous_starts,
                 previous, starts, points, values):
    """Clear (``clear``: everything, the previous points' cells, or nothing), then write every
    point's values into the flat ``(B, channels[f], height, width)`` fields, in point order."""
    plane = height * width
    for f in range(len(fields)):
        field = fields[f]
        image = channels[f] * plane
        for b in range(field.size // image):
            base = b * image
            if clear == CLEAR_ALL:
                field[base:base + image] = 0.0
            elif clear == CLEAR_PREVIOUS and b < previous_starts.size - 1:
                for j in range(previous_starts[b], previous_starts[b + 1]):
                    cell = _cell_index(previous, j, field_maps[f], height, width)
                    if cell >= 0:
                        for c in range(channels[f]):
                            field[base + c * plane + cell] = 0.0
            if b < starts.size - 1:
                for j in range(starts[b], starts[b + 1]):
                    cell = _cell_index(points, j, field_maps[f], height, width)
                    if cell >= 0:
                        for c in range(channels[f]):
                            field[base + c * plane + cell] = values[j, columns[f] + c]


def _layout(cells) -> tuple:
    return (np.array([cell.map for cell in cells], np.int64),
            np.array([cell.column for cell in cells], np.int64),
            np.array([cell.channels for cell in cells], np.int64))


def write_cells(fields, cells, stamps: Stamps, clear: int, previous: Stamps | None = None) -> None:
    """Clear the ``(B, channels, H, W)`` arrays ``fields`` (one per ``CellField`` of ``cells``)
    as ``clear`` says (``CLEAR_PREVIOUS``: the cells of ``previous``), then write ``stamps``'
    cell values into them (the module's rule)."""
    if not fields:
        return
    height, width = fields[0].shape[2:]
    previous_starts = np.zeros(1, np.int64) if previous is None else previous.starts
    previous_points = stamps.points[:0] if previous is None else previous.points
    values = stamps.cell_values
    if values is None:
        values = np.zeros((0, 0), np.float32)
    runtime.call(_write_cells, _write_cells, tuple(field.reshape(-1) for field in fields),
                 *_layout(cells), height, width, clear, previous_starts, previous_points,
                 stamps.starts, stamps.points, values)


@jit
def _expand(field_maps, columns, channels, height, width, starts, points, values,
            field, dtype_values):
    """``(flat indices, values)`` of field ``field``'s writes, in point order (repeats kept)."""
    count = 0
    for j in range(points.shape[0]):
        if _cell_index(points, j, field_maps[field], height, width) >= 0:
            count += 1
    ch = channels[field]
    indices = np.empty(count * ch, np.int64)
    out = np.empty(count * ch, dtype_values.dtype)
    n = 0
    for b in range(starts.size - 1):
        for j in range(starts[b], starts[b + 1]):
            cell = _cell_index(points, j, field_maps[field], height, width)
            if cell >= 0:
                for c in range(ch):
                    indices[n] = (b * ch + c) * height * width + cell
                    out[n] = values[j, columns[field] + c]
                    n += 1
    return indices, out


def expand_cell_values(stamps: Stamps, cells, height: int, width: int, dtype) -> list:
    """``[(indices, values)]`` per field of ``cells``: the flat cells of its ``(B, channels,
    height, width)`` array that ``stamps`` write, each once, with the value the last write
    leaves (the module's rule), for a scatter into zeros (``fastheat.torch``)."""
    layout = _layout(cells)
    values = stamps.cell_values
    if values is None:
        values = np.zeros((0, 0), np.float32)
    expanded = []
    for f in range(len(cells)):
        indices, written = runtime.call(_expand, _expand, *layout, height, width,
                                        stamps.starts, stamps.points, values, f,
                                        np.zeros(0, dtype))
        reverse_first = np.unique(indices[::-1], return_index=True)[1]
        last = indices.size - 1 - reverse_first  # each cell's last write
        expanded.append((indices[last], written[last]))
    return expanded


# --- region fields ---------------------------------------------------------------------------


class RegionField(NamedTuple):
    """A dense field written over a region of cells per point (``Family.regions``; TTFNet's
    ``box_target`` and ``reg_weight``).

    Point ``j`` of map ``map`` writes the cells of its region (``Stamps.regions[j]`` within
    the map) where its region weight ``g`` is > 0: the spec's ``region_gaussian`` (a per-point
    kind, ``tables``, taking the region as the point's clip rectangle), or 1 everywhere when
    that is None. It writes ``width`` channels from channel ``width * channel`` of the point
    when the spec's attribute ``per_class`` is true (the field then has ``width * C``
    channels), else from 0 (``width`` channels): ``cell_values[j, column + c]``, or, if
    ``weighted`` (``width`` 1), ``float32(float32(g * cell_values[j, column]) /
    cell_values[j, column + 1])``. Later points overwrite; cells no point writes hold
    ``fill``.
    """

    name: str
    map: int
    column: int
    width: int
    per_class: str
    fill: float
    weighted: bool = False

    def channels(self, spec) -> int:
        return self.width * (spec.num_classes if getattr(spec, self.per_class) else 1)


@jit
def _region_cells(regions, j, height, width):
    """``(y0, y1, x0, x1)``: point ``j``'s region within the map (empty: ``y0 >= y1`` or
    ``x0 >= x1``)."""
    return (max(regions[j, 2], 0), min(regions[j, 3], height),
            max(regions[j, 0], 0), min(regions[j, 1], width))


@jit
def _positive_span(weights, source, span):
    """``(lo, hi)`` if the weights ``weights[source:source + span]`` are > 0 exactly on
    ``[lo, hi)`` (possibly empty: ``lo == hi``), else ``(-1, -1)``."""
    lo = 0
    while lo < span and not weights[source + lo] > 0:
        lo += 1
    hi = span
    while hi > lo and not weights[source + hi - 1] > 0:
        hi -= 1
    for i in range(lo, hi):
        if not weights[source + i] > 0:
            return -1, -1
    return lo, hi


@jit
def region_windows(regions, height, width):
    """``(windows, value_starts)`` of the regions within the map: the layout
    ``stamping.visible_windows`` gives a per-point kind's values."""
    n = regions.shape[0]
    windows = np.empty((n, 4), np.int64)
    value_starts = np.zeros(n + 1, np.int64)
    for j in range(n):
        y0, y1, x0, x1 = _region_cells(regions, j, height, width)
        y1, x1 = max(y0, y1), max(x0, x1)
        windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3] = y0, y1, x0, x1
        value_starts[j + 1] = value_starts[j] + (y1 - y0) * (x1 - x0)
    return windows, value_starts


@jit
def _fill(field, start, count, value):
    """``field[start:start + count] = value`` (nothing if ``count <= 0``), as an element loop
    with unsigned indices: regions' rows are a dozen cells wide, where a slice per row cost
    several times as much."""
    to = np.uint64(start)
    for i in range(np.uint64(max(count, 0))):
        field[to + i] = value


@jit
def _write_regions(fields, field_maps, columns, widths, channels, per_class, fills, weighted,
                   height, width, clear, previous_starts, previous, previous_regions, starts,
                   points, regions, value_starts, weights, values):
    """Clear (``clear``: everything, the previous points' regions, or nothing) to each field's
    fill, then write every point's region into the flat ``(B, channels[f], height, width)``
    fields (``RegionField``), in point order. ``weights`` of size 0: every weight is 1.

    Image after image; a point's region channel after channel, row after row: rows of one
    point have one length, so the loops' exits are predicted (rows are a dozen cells wide,
    where mispredicted exits cost more than the writes). A region whose weights are all > 0
    (a Gaussian's, within its box) is written whole, row by row; any other row by row as its
    weights say."""
    plane = height * width
    largest = 0  # the most weights of a point
    for j in range(value_starts.size - 1):
        largest = max(largest, value_starts[j + 1] - value_starts[j])
    scaled = np.empty(largest if weights.size else 0, weights.dtype)  # a point's weighted values
    for b in range(fields[0].size // (channels[0] * plane)):
        for f in range(len(fields)):
            field, base = fields[f], b * channels[f] * plane
            if clear == CLEAR_ALL:
                _fill(field, base, channels[f] * plane, fills[f])
            elif clear == CLEAR_PREVIOUS and b < previous_starts.size - 1:
                for j in range(previous_starts[b], previous_starts[b + 1]):
                    if previous[j, MAP] != field_maps[f]:
                        continue
                    first = widths[f] * previous[j, CHANNEL] if per_class[f] else 0
                    y0, y1, x0, x1 = _region_cells(previous_regions, j, height, width)
                    for c in range(first, first + widths[f]):
                        for yy in range(y0, y1):
                            _fill(field, base + c * plane + yy * width + x0, x1 - x0, fills[f])
        if b >= starts.size - 1:
            continue
        for j in range(starts[b], starts[b + 1]):
            y0, y1, x0, x1 = _region_cells(regions, j, height, width)
            if x0 >= x1 or y0 >= y1:
                continue
            whole = weights.size == 0 or _all_positive(weights, value_starts[j],
                                                       value_starts[j + 1])
            for f in range(len(fields)):
                if points[j, MAP] != field_maps[f]:
                    continue
                field, column = fields[f], columns[f]
                first = widths[f] * points[j, CHANNEL] if per_class[f] else 0
                corner = (b * channels[f] + first) * plane + y0 * width + x0
                if not whole:
                    _write_region(field, corner, plane, width, widths[f], weighted[f], values,
                                  j, column, weights, value_starts[j], y1 - y0, x1 - x0)
                elif weighted[f] and weights.size > 0:
                    _write_scaled(field, corner, width, weights, scaled, value_starts[j],
                                  value_starts[j + 1], x1 - x0, values[j, column],
                                  values[j, column + 1])
                else:  # every cell: the point's values, or its weight of 1 scaled
                    for c in range(widths[f]):
                        value = values[j, column + c]
                        if weighted[f]:
                            value = np.float32(values[j, column] / values[j, column + 1])
                        for yy in range(y1 - y0):
                            _fill(field, corner + c * plane + yy * width, x1 - x0, value)


@jit
def _all_positive(weights, start, stop):
    """Whether every weight of ``weights[start:stop]`` is > 0 (counted without a branch,
    with unsigned indices: vectorised, 8x faster)."""
    bad = 0
    at = np.uint64(start)
    for i in range(np.uint64(stop - start)):
        bad += not weights[at + i] > 0
    return bad == 0


@jit
def _write_scaled(field, corner, width, weights, scaled, start, stop, span, value, divisor):
    """Write a weighted field over a point's whole region (``_write_regions``): every weight
    ``g`` of ``weights[start:stop]`` (row after row of ``span``) as ``float32(float32(g *
    value) / divisor)``, computed into ``scaled`` in one loop over the region (vectorised:
    divisions one by one cost more than the writes), then copied row by row from the flat
    cell ``corner``."""
    at = np.uint64(start)
    for i in range(np.uint64(stop - start)):
        scaled[i] = np.float32(np.float32(weights[at + i] * value) / divisor)
    for r in range((stop - start) // span):
        to, source = np.uint64(corner + r * width), np.uint64(r * span)
        for i in range(np.uint64(span)):
            field[to + i] = scaled[source + i]


@jit
def _write_region(field, corner, plane, width, channels, weighted, values, j, column, weights,
                  source, rows, span):
    """Write point ``j``'s region of ``rows x span`` cells (``_write_regions``) where its
    weights (``weights[source:]``, row after row) are > 0: ``channels`` planes from the flat
    cell ``corner`` (its first cell in the first channel)."""
    for c in range(channels):
        for r in range(rows):
            cells = corner + c * plane + r * width
            first = source + r * span
            lo, hi = _positive_span(weights, first, span)
            if lo >= 0 and not weighted:
                _fill(field, cells + lo, hi - lo, values[j, column + c])
            elif lo >= 0:
                to, at = np.uint64(cells), np.uint64(first)
                for i in range(np.uint64(lo), np.uint64(hi)):  # (no branch: vectorised)
                    field[to + i] = np.float32(np.float32(
                        weights[at + i] * values[j, column]) / values[j, column + 1])
            else:
                for i in range(span):
                    g = weights[first + i]
                    if g > 0:
                        field[cells + i] = (np.float32(np.float32(g * values[j, column])
                                                       / values[j, column + 1])
                                            if weighted else values[j, column + c])


def write_regions(fields, regions, spec, stamps: Stamps, clear: int,
                  previous: Stamps | None = None) -> None:
    """Clear the ``(B, channels, H, W)`` arrays ``fields`` (one per ``RegionField`` of
    ``regions``) as ``clear`` says (``CLEAR_PREVIOUS``: the regions of ``previous``), then
    write ``stamps``' regions into them (``RegionField``)."""
    if not fields:
        return
    height, width = fields[0].shape[2:]
    weights, value_starts = _region_weights(stamps, spec, height, width)
    empty = np.zeros((0, 4), np.int64)
    runtime.call(_write_regions, _write_regions, tuple(field.reshape(-1) for field in fields),
                 np.array([r.map for r in regions], np.int64),
                 np.array([r.column for r in regions], np.int64),
                 np.array([r.width for r in regions], np.int64),
                 np.array([r.channels(spec) for r in regions], np.int64),
                 np.array([bool(getattr(spec, r.per_class)) for r in regions]),
                 np.array([r.fill for r in regions], fields[0].dtype),
                 np.array([r.weighted for r in regions]), height, width, clear,
                 np.zeros(1, np.int64) if previous is None else previous.starts,
                 stamps.points[:0] if previous is None else previous.points,
                 empty if previous is None else previous.regions,
                 stamps.starts, stamps.points, empty if stamps.regions is None else stamps.regions,
                 value_starts, weights,
                 np.zeros((0, 0), np.float32) if stamps.cell_values is None else stamps.cell_values)


def _region_weights(stamps: Stamps, spec, height: int, width: int) -> tuple:
    """``(weights, value_starts)``: every region's weights within the map (the spec's
    ``region_gaussian`` over the region), or none (all 1)."""
    kind = spec.region_gaussian
    if kind is None or stamps.regions is None:
        return np.zeros(0, np.float32), np.zeros(len(stamps.points) + 1, np.int64)
    windows, value_starts = runtime.call(region_windows, region_windows, stamps.regions,
                                         height, width)
    weights = kind.window_values(dataclasses.replace(stamps, clips=stamps.regions), windows,
                                 value_starts)
    return weights, value_starts
