"""Gaussian kinds (``tables``) with a chosen kernel precision, and elliptical ones.

* ``Gaussian2D(precision)``: a table kind, the Gaussian of sigma ``(2r + 1) / 6`` of each
  radius ``r``, its exponent computed in ``precision`` and cut below ``eps * max`` of that
  precision (mmdetection's ``gaussian2D``: float32 tensors);
* ``EllipticalGaussian(precision)``: a per-point kind, the Gaussian with separate x and y radii
  ``(rx, ry)`` (sigmas ``(2 rx + 1) / 6`` and ``(2 ry + 1) / 6``), cut below ``eps * max`` of
  its precision, then rounded to float32 (TTFNet's ``gaussian_2d``, NumPy float64). A point's
  radii come from its clip rectangle (``Stamps.clips``), which is the ellipse's box:
  ``rx = x_hi - x - 1``, ``ry = y_hi - y - 1`` (``ellipse_clip``), and its ``RADIUS`` column
  is ``max(rx, ry)``. Every window is read from a table of whole kernels, one per ``(rx, ry)``
  pair met so far (``pair_table``), bounded like the radius tables: at most ``TABLE_BYTES``
  (starting over with the pairs of the call when full), no kernel above ``PAIR_BYTES`` (those
  points' windows are computed for their visible cells only, per call). The table also keeps
  each kernel's float64 sum, its values added one after another: ``window_sums`` (TTFNet's
  ``reg_weight`` divides by its region's sum) takes it for every whole window and adds up only
  the windows the map's edges clip, in the same order.

**Exponentials.** The reference computes ``exp`` with NumPy in float64 (TTFNet) or with torch in
float32 (mmdetection). Both are computed here with NumPy's float64 ``exp`` of the exponent (of
the precision's exact bits), rounded to float32 for float32: bit-identical to TTFNet, and to
mmdetection wherever torch's float32 ``exp`` is correctly rounded (torch's vectorised ``expf``
is not: on some cells it differs by one unit in the last place, and differently between CPU
instruction sets and the GPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from . import runtime, tables
from .jit import jit
from .stamps import X, X_HI, X_LO, Y, Y_HI, Y_LO, Stamps

#: The largest kernel kept in a pair table (bytes): a 512 x 512 ellipse in float32.
PAIR_BYTES = 1 << 20


def _cut(values: NDArray, precision: np.dtype) -> NDArray:
    """``values`` (of ``precision``) with those below ``eps * max`` of the whole kernel set
    to 0; its max is ``exp(-0) == 1``, at the centre."""
    values[values < np.finfo(precision).eps] = 0
    return values


@dataclass(frozen=True)
class Gaussian2D:
    """mmdetection's ``gaussian2D(radius, sigma=(2 * radius + 1) / 6, dtype)``, a table kind:
    ``exp(-(x * x + y * y) / (2 * sigma * sigma))`` with ``x``, ``y`` and the divisor in
    ``precision`` (torch rounds the Python float divisor to the tensor's dtype), then values
    below ``eps * max`` of ``precision`` set to 0 (module docstring: exponentials)."""

    precision: str = "float32"
    per_point: ClassVar[bool] = False

    def values(self, dy: NDArray, dx: NDArray, radius: int) -> NDArray:
        kind = np.dtype(self.precision)
        x = dx.astype(kind)[None, :]
        y = dy.astype(kind)[:, None]
        sigma = (2 * int(radius) + 1) / 6
        exponent = -(x * x + y * y) / kind.type(2 * sigma * sigma)
        return _cut(np.exp(exponent.astype(np.float64)).astype(kind), kind)


def ellipse_values(dy: NDArray, dx: NDArray, rx: int, ry: int, precision: np.dtype) -> NDArray:
    """TTFNet's ``gaussian_2d((2 ry + 1, 2 rx + 1), sigma_x=(2 rx + 1) / 6, sigma_y=(2 ry + 1)
    / 6)`` at the offsets ``dy`` (rows), ``dx`` (columns) from its centre, float32: computed in
    ``precision`` (float64: TTFNet's NumPy), cut below ``eps * max``, rounded."""
    sigma_x, sigma_y = (2 * rx + 1) / 6, (2 * ry + 1) / 6
    x = dx.astype(precision)[None, :]
    y = dy.astype(precision)[:, None]
    exponent = -(x * x / precision.type(2 * sigma_x * sigma_x)
                 + y * y / precision.type(2 * sigma_y * sigma_y))
    return _cut(np.exp(exponent.astype(np.float64)).astype(precision), precision) \
        .astype(np.float32)


@jit
def ellipse_clip(x, y, rx, ry):
    """The clip rectangle ``(x_lo, x_hi, y_lo, y_hi)`` of the ellipse of radii ``(rx, ry)``
    centred on the cell ``(x, y)`` (``Stamps.clips``), with ``max(rx, ry)`` as its radius."""
    return x - rx, x + rx + 1, y - ry, y + ry + 1


def ellipse_radii(stamps: Stamps) -> tuple[NDArray, NDArray]:
    """Every point's ``(rx, ry)`` (``EllipticalGaussian``)."""
    return (stamps.clips[:, X_HI] - stamps.points[:, X] - 1,
            stamps.clips[:, Y_HI] - stamps.points[:, Y] - 1)


def asymmetric_rectangle(points, rectangles) -> int:
    """The first point whose rectangle (``Stamps.clips`` or ``Stamps.regions``) is not the box
    of an ellipse around its cell, ``x - x_lo == x_hi - 1 - x >= 0`` and likewise in y (what
    ``ellipse_radii`` and the kernels' windows rely on), or -1."""
    x, y = points[:, X], points[:, Y]
    rx, ry = rectangles[:, X_HI] - 1 - x, rectangles[:, Y_HI] - 1 - y
    bad = (x - rectangles[:, X_LO] != rx) | (y - rectangles[:, Y_LO] != ry) | (rx < 0) | (ry < 0)
    rows = np.flatnonzero(bad)
    return int(rows[0]) if rows.size else -1


@dataclass(frozen=True)
class EllipticalGaussian:
    """The Gaussian with separate x and y radii (module docstring), a per-point kind."""

    precision: str = "float64"
    per_point: ClassVar[bool] = True

    def window_values(self, stamps: Stamps, windows, value_starts) -> NDArray[np.float32]:
        """The float32 values of every point's visible window, row after row, from the pair
        table; kernels above ``PAIR_BYTES`` computed for the window alone."""
        rx, ry = ellipse_radii(stamps)
        values = np.empty(int(value_starts[-1]), np.float32)
        if values.size == 0:
            return values
        tabled = (2 * rx + 1) * (2 * ry + 1) * 4 <= PAIR_BYTES
        table = pair_table(self, rx[tabled], ry[tabled])
        if table is None:  # too many distinct kernels at once: every window computed alone
            tabled[:] = False
            table = pair_table(self, rx[:0], ry[:0])
        table, offsets, _ = table
        runtime.call(_gather, _gather, windows, stamps.points, rx, ry, tabled, table, offsets,
                     value_starts, values)
        for j in np.flatnonzero(~tabled).tolist():
            y0, y1, x0, x1 = windows[j].tolist()
            x, y = int(stamps.points[j, X]), int(stamps.points[j, Y])
            window = ellipse_values(np.arange(y0 - y, y1 - y), np.arange(x0 - x, x1 - x),
                                    int(rx[j]), int(ry[j]), np.dtype(self.precision))
            values[value_starts[j]:value_starts[j + 1]] = window.ravel()
        return values

    def window_sums(self, stamps: Stamps, windows) -> NDArray[np.float64]:
        """Every point's visible window summed in float64, value after value, row after row
        (the values of ``window_values``): whole windows from the kernels' totals kept in the
        pair table, clipped ones from the table, kernels above ``PAIR_BYTES`` computed."""
        rx, ry = ellipse_radii(stamps)
        sums = np.zeros(len(windows), np.float64)
        if sums.size == 0:
            return sums
        tabled = (2 * rx + 1) * (2 * ry + 1) * 4 <= PAIR_BYTES
        table = pair_table(self, rx[tabled], ry[tabled])
        if table is None:
            tabled[:] = False
            table = pair_table(self, rx[:0], ry[:0])
        runtime.call(_window_sums, _window_sums, windows, stamps.points, rx, ry, tabled, *table,
                     sums)
        for j in np.flatnonzero(~tabled).tolist():
            y0, y1, x0, x1 = windows[j].tolist()
            x, y = int(stamps.points[j, X]), int(stamps.points[j, Y])
            sums[j] = sequential_sum(ellipse_values(np.arange(y0 - y, y1 - y),
                                                    np.arange(x0 - x, x1 - x), int(rx[j]),
                                                    int(ry[j]), np.dtype(self.precision)))
        return sums

    def kernel(self, rx: int, ry: int) -> NDArray[np.float32]:
        """The whole ``(2 ry + 1, 2 rx + 1)`` kernel."""
        return ellipse_values(np.arange(-ry, ry + 1), np.arange(-rx, rx + 1), rx, ry,
                              np.dtype(self.precision))


@jit
def _gather(windows, points, rx, ry, tabled, table, offsets, value_starts, out):
    """Copy every tabled point's visible window ``windows[j]`` (``y0, y1, x0, x1``) out of its
    kernel in ``table`` (at ``offsets[ry, rx]``, rows of ``2 rx + 1`` values), row after row
    into ``out[value_starts[j]:]``. (Element loops with unsigned indices: windows are a dozen
    cells wide, where a slice copy per row cost 4x as much.)"""
    for j in range(windows.shape[0]):
        if not tabled[j]:
            continue
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        side = 2 * rx[j] + 1
        first = offsets[ry[j], rx[j]] + (y0 - points[j, Y] + ry[j]) * side + x0 - points[j, X] + rx[j]
        span = x1 - x0
        for yy in range(y1 - y0):
            source = np.uint64(first + yy * side)
            target = np.uint64(value_starts[j] + yy * span)
            for i in range(np.uint64(span)):
                out[target + i] = table[source + i]


@jit
def _window_sums(windows, points, rx, ry, tabled, table, offsets, totals, out):
    """``out[j]``: the float64 sum, row after row, of every tabled point's visible window
    (``_gather``'s values): its kernel's total (``totals[ry, rx]``, summed in the same order)
    when the window is the whole kernel."""
    for j in range(windows.shape[0]):
        if not tabled[j]:
            continue
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        x, y = points[j, X], points[j, Y]
        if y0 == y - ry[j] and y1 == y + ry[j] + 1 and x0 == x - rx[j] and x1 == x + rx[j] + 1:
            out[j] = totals[ry[j], rx[j]]
            continue
        side = 2 * rx[j] + 1
        first = offsets[ry[j], rx[j]] + (y0 - y + ry[j]) * side + x0 - x + rx[j]
        total = 0.0
        for yy in range(y1 - y0):
            source = first + yy * side
            for i in range(x1 - x0):
                total += np.float64(table[source + i])
        out[j] = total


def sequential_sum(values: NDArray) -> float:
    """The float64 sum of ``values`` added one after another (``np.sum`` adds pairwise)."""
    return float(np.cumsum(values, dtype=np.float64)[-1]) if values.size else 0.0


class PairTable:
    """The kernels of one kind, one per ``(rx, ry)`` pair; ``snapshot`` is ``(values,
    offsets, totals)``: pair ``(rx, ry)``'s kernel starts at ``values[offsets[ry, rx]]`` (-1:
    not in the table) and its values add up to ``totals[ry, rx]`` (float64, one after another:
    ``sequential_sum``). Replaced whole when it grows (readers need no lock; ``tables``)."""

    def __init__(self, kind):
        self.kind = kind
        self.snapshot = _EMPTY_SNAPSHOT

    def grow(self, rx: NDArray, ry: NDArray) -> bool:
        """Add the pairs ``(rx[i], ry[i])`` missing (with the tables lock held), starting over
        with these pairs alone if the table would exceed ``tables.TABLE_BYTES``; False (the
        table left as it was) if these pairs alone exceed it."""
        values, offsets, totals = self.snapshot
        pairs = np.unique(np.stack([ry, rx], axis=1), axis=0)
        size = int((2 * pairs + 1).prod(axis=1).sum())
        if size * 4 > tables.TABLE_BYTES:
            return False
        if (values.size + size) * 4 > tables.TABLE_BYTES:
            values, offsets, totals = _EMPTY_SNAPSHOT
        known, known_totals = offsets, totals
        shape = (max(known.shape[0], int(pairs[:, 0].max()) + 1),
                 max(known.shape[1], int(pairs[:, 1].max()) + 1))
        offsets, totals = np.full(shape, -1, np.int64), np.zeros(shape, np.float64)
        offsets[:known.shape[0], :known.shape[1]] = known
        totals[:known.shape[0], :known.shape[1]] = known_totals
        parts, count = [values], values.size
        for pair_ry, pair_rx in pairs.tolist():
            if offsets[pair_ry, pair_rx] < 0:
                parts.append(self.kind.kernel(pair_rx, pair_ry).ravel())
                offsets[pair_ry, pair_rx] = count
                totals[pair_ry, pair_rx] = sequential_sum(parts[-1])
                count += parts[-1].size
        self.snapshot = (np.concatenate(parts), offsets, totals)
        return True


_EMPTY_SNAPSHOT = (np.zeros(0, np.float32), np.full((0, 0), -1, np.int64),
                   np.zeros((0, 0), np.float64))


_PAIR_TABLES: dict = {}


def pair_table(kind, rx: NDArray, ry: NDArray):
    """``(values, offsets, totals)`` of ``kind``'s pair table (``PairTable``), holding at least
    the pairs ``(rx[i], ry[i])`` (each kernel at most ``PAIR_BYTES``); None if their kernels
    together exceed ``tables.TABLE_BYTES``."""
    table = _PAIR_TABLES.get(kind)
    if table is not None:
        snapshot = table.snapshot
        offsets = snapshot[1]
        if rx.size == 0 or (int(ry.max()) < offsets.shape[0] and int(rx.max()) < offsets.shape[1]
                            and (offsets[ry, rx] >= 0).all()):
            return snapshot
    with runtime.process_lock("tables"):
        table = _PAIR_TABLES.setdefault(kind, PairTable(kind))
        if rx.size and not table.grow(rx, ry):
            return None
        return table.snapshot
