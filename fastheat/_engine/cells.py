"""Cell fields: dense per-cell targets written at each point's own cell, later points winning.

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
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import runtime
from .jit import jit
from .stamps import MAP, X, Y, Stamps

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
