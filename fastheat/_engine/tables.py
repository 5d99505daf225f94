"""Tables of stamped Gaussian values: exact, grown on demand, bounded by the map and by bytes.

One table per ``(delte, k, dtype)`` holds, for every radius ``r`` in ``0..covered``, the rows
``dy = 0..r`` of the Gaussian of radius ``r``, each row the ``2r + 1`` values of ``dx = -r..r``:
the value at offset ``(dx, dy)`` is ``values[table_offset(r) + |dy| * (2r + 1) + r + dx]``, so
the stamping kernel reads each window row left to right. The values come from NumPy's ``exp``
exactly as the reference computes them (NumPy's ``exp`` can differ from the C library's in the
last bit), so stamped maps are bit-identical to the reference's.

A table grows when a call needs a larger radius, to at most the larger side of the map being
stamped (a larger Gaussian overflows the map in both directions) and at most ``TABLE_BYTES``.
Radii above ``covered`` are stamped by ``stamp_window`` from values computed for their visible
window only. The cache keeps at most ``CACHE_KEYS`` tables and ``CACHE_BYTES`` in all.

**Kinds.** A family's ``spec.gaussian`` says which Gaussian its points stamp:

* ``(delte, k)``: CornerNet's ``gaussian2D`` of each radius (``gaussian_values``), the default;
* a *table kind*: any hashable object (a frozen dataclass) with ``per_point = False`` and
  ``values(dy, dx, radius)``, the values at integer offsets from the centre of a point of
  ``radius``, computed with NumPy as the family's reference computes them. Its tables are
  built, grown and bounded like CornerNet's (e.g. mmpose's MSRA Gaussian of one sigma);
* a *per-point kind*: ``per_point = True`` and ``window_values(stamps, windows, starts)``,
  the values of every point's visible window (``stamping.visible_windows``) in any float
  dtype (rounded to the maps' as they are max-merged), for Gaussians centred on sub-pixel
  positions (``Stamps.centres``), which no table can hold; it should compute them with one
  vectorised NumPy call. A per-point kind whose values are NumPy's float32 ``exp(-(x + y) /
  divisor)`` for per-column parts ``x`` and per-row parts ``y`` (mmpose's DarkPose) is also
  an *exp32 kind*: ``exp32 = True`` and ``exp32_parts(stamps, windows)``, ``(x_squares,
  x_starts, y_squares, y_starts, divisor, reciprocal)`` (``stamping.stamp_exp32``). Where
  ``numpy_exp.exp32`` is NumPy's ``exp`` (``exp32_is_numpys``), the stamping kernel computes
  its values as it stamps them: no array of values;
* a *label kind*: ``label = True``, ``widths`` (one per map: the maps of its family are
  ``(B, C, R, widths[m])``, rows of 1-D labels) and ``offset_values(length)``, a
  ``(len(widths), length)`` array in the maps' dtype: map ``m``'s value at offset ``d`` from
  a point's centre. Each point writes one whole row (``stamping.stamp_label_maps``): its
  ``Stamps.points`` are ``(map, channel, x, y, radius)`` with ``y`` the row (``0 <= y < R``),
  ``x`` the centre cell along it (any integer, on the row or not) and ``radius`` the largest
  offset the row reads, ``max(|x|, |widths[map] - 1 - x|)``; no two points of an image write
  the same ``(map, channel, row)``, and every value is >= 0 (so scattering with ``amax`` into
  zeros writes them). SimCC's 1-D labels.

  vectorised NumPy call.

``kinds.py`` holds kinds of a chosen kernel precision (mmdetection's float32 ``gaussian2D``, a
table kind) and elliptical ones with separate x and y radii (a per-point kind reading whole
kernels from bounded tables per radius pair).
A per-point kind may also set ``merge`` (``MAX``, the default, order-free;
``ADD_CLAMP``, added then clamped at 1, its values in the maps' dtype; ``OVERWRITE``, written
unless NaN, the last point winning; the order-dependent merges stamp each image's points in
order) and ``background = True``: the map's last channel is then ``1 - max(0, the other
channels)`` everywhere (OpenPose's background), rewritten after every stamping.

``MapKinds(kinds)`` gives each of a family's maps its own kind (its maps may differ in
channels: ``Family.map_shapes``); ``LimbBand(half_width)`` is the per-point kind of limb bands
(``Stamps.lines``): a constant written on the cells within ``half_width`` of a line.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from . import runtime
from .jit import jit
from .stamps import UX, UY, VALUE, X0, Y0

#: How a per-point kind's values meet the map (its ``merge``): the maximum (order-free), added
#: then clamped at 1, or written unless NaN (the last point winning).
MAX, ADD_CLAMP, OVERWRITE = range(3)
#: Bytes of one table: radii up to 291 in float32, 231 in float64.
TABLE_BYTES = 64 << 20
#: The cache keeps the tables of at most ``CACHE_KEYS`` option sets and ``CACHE_BYTES`` in all,
#: dropping the least recently grown first.
CACHE_BYTES = 128 << 20
CACHE_KEYS = 8
_EPS = np.finfo(np.float64).eps


def table_offset(radius: int) -> int:
    """Where radius ``radius`` starts: after ``(q + 1) * (2q + 1)`` values for each ``q < radius``."""
    return radius * (radius + 1) * (4 * radius - 1) // 6


def table_size(radius: int) -> int:
    """Values in a table covering radii ``0..radius``."""
    return table_offset(radius + 1)


@functools.cache
def budget_radius(itemsize: int) -> int:
    """The largest radius whose table fits in ``TABLE_BYTES``."""
    radius = 0
    while table_size(radius + 1) * itemsize <= TABLE_BYTES:
        radius += 1
    return radius


def gaussian_values(dy: NDArray, dx: NDArray, radius: int, delte: float, k: float) -> NDArray:
    """The reference's stamped values ``gaussian2D(...)[radius + dy, radius + dx] * k`` (float64).

    ``dy`` (rows) and ``dx`` (columns) are integer offsets from the centre, ``|offset| <=
    radius``. Computed with the very NumPy operations of the reference, so bit-exact.
    """
    diameter = 2 * int(radius) + 1
    sigma = diameter / delte
    x = dx.astype(np.float64)[None, :]
    y = dy.astype(np.float64)[:, None]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < _EPS] = 0  # the full Gaussian's max is exp(-0.0) == 1.0
    return h * k


def is_label(gaussian) -> bool:
    """Whether ``gaussian`` (a ``spec.gaussian``) is a label kind: rows of 1-D labels."""
    return bool(getattr(gaussian, "label", False))


def is_exp32(gaussian) -> bool:
    """Whether ``gaussian`` (a ``spec.gaussian``) is an exp32 kind (stamped from axis parts)."""
    return bool(getattr(gaussian, "exp32", False))


def is_per_point(gaussian) -> bool:
    """Whether ``gaussian`` (a ``spec.gaussian``) computes its values per point."""
    return bool(getattr(gaussian, "per_point", False))


def max_merged(gaussian) -> bool:
    """Whether ``gaussian`` (a ``spec.gaussian``) max-merges everything it stamps (no other
    merge, no background channel, one kind for every map): what a ``scatter_reduce_(...,
    "amax")`` of its cells reproduces."""
    return (not isinstance(gaussian, MapKinds) and getattr(gaussian, "merge", MAX) == MAX
            and not getattr(gaussian, "background", False))


def values_of(gaussian, dy: NDArray, dx: NDArray, radius: int) -> NDArray:
    """The values of a table kind (or CornerNet's ``(delte, k)``) at offsets ``dy`` (rows) and
    ``dx`` (columns) from the centre of a point of ``radius``."""
    if isinstance(gaussian, tuple):
        return gaussian_values(dy, dx, radius, *gaussian)
    return gaussian.values(dy, dx, radius)


def stamp_window(heatmap: NDArray, x: int, y: int, radius: int, delte: float, k: float) -> None:
    """Max-merge the visible part of one Gaussian into the 2-D ``heatmap`` (NumPy, no table)."""
    stamp_clipped_window(heatmap, x, y, radius, (delte, k))


def visible_window(gaussian, x: int, y: int, radius: int, height: int, width: int,
                   clip=None) -> tuple:
    """``(y0, y1, x0, x1, values)``: the cells ``[y0, y1) x [x0, x1)`` of a ``height x width``
    map that the Gaussian of ``radius`` at ``(x, y)`` covers, within the rectangle ``clip``
    (a ``Stamps.clips`` row) if given, and their values (``values_of``), or None if there are
    none."""
    y0, y1 = max(y - radius, 0), min(y + radius + 1, height)
    x0, x1 = max(x - radius, 0), min(x + radius + 1, width)
    if clip is not None:
        x0, x1, y0, y1 = max(x0, clip[0]), min(x1, clip[1]), max(y0, clip[2]), min(y1, clip[3])
    if y0 >= y1 or x0 >= x1:
        return y0, y1, x0, x1, None
    values = values_of(gaussian, np.arange(y0 - y, y1 - y), np.arange(x0 - x, x1 - x), radius)
    return y0, y1, x0, x1, values


def stamp_clipped_window(heatmap: NDArray, x: int, y: int, radius: int, gaussian,
                         clip=None) -> None:
    """``stamp_window`` for any table kind, within the rectangle ``clip`` (``Stamps.clips``
    row) if given."""
    y0, y1, x0, x1, values = visible_window(gaussian, x, y, radius, *heatmap.shape, clip)
    if values is not None:
        target = heatmap[y0:y1, x0:x1]
        np.maximum(target, values, out=target, casting="same_kind")


@dataclass(frozen=True)
class MsraGaussian:
    """The MSRA Gaussian of one ``sigma`` (mmpose's ``MSRAHeatmap``, CenterNet's
    ``draw_msra_gaussian``), a table kind (``tables``): the value at integer
    offsets ``(dx, dy)`` from its centre is ``exp(-(dx**2 + dy**2) / (2 * sigma**2))``, all in
    float32 as both compute it (``(x - x0)**2`` of a float32 grid, divided by ``2 * sigma**2``,
    a Python float in mmpose's, a Python int in CenterNet's: the same float32 divisor),
    whatever the radius."""

    sigma: float
    per_point: ClassVar[bool] = False

    def values(self, dy: NDArray, dx: NDArray, radius: int) -> NDArray[np.float32]:
        x = dx.astype(np.float32)[None, :]
        y = dy.astype(np.float32)[:, None]
        return np.exp(-(x**2 + y**2) / (2 * self.sigma**2))


class GaussianTable:
    """The table of one ``(delte, k, dtype)`` (or of a table kind, ``for_kind``); ``snapshot``
    is ``(values, covered)``.

    Growing computes the new radii only and replaces ``snapshot`` as a whole, never modifies an
    array in place, so a kernel running in another thread keeps a consistent snapshot and
    readers need no lock.
    """

    def __init__(self, delte: float, k: float, dtype: np.dtype):
        self.gaussian, self.dtype = (delte, k), dtype
        self.snapshot: tuple[NDArray, int] = (np.empty(0, dtype), -1)

    @classmethod
    def for_kind(cls, gaussian, dtype: np.dtype) -> GaussianTable:
        table = cls(0.0, 0.0, dtype)
        table.gaussian = gaussian
        return table

    @property
    def values(self) -> NDArray:
        return self.snapshot[0]

    @property
    def covered(self) -> int:
        return self.snapshot[1]

    @property
    def nbytes(self) -> int:
        return self.snapshot[0].nbytes

    def grow(self, radius: int) -> None:
        """Cover radii up to ``radius`` (with the tables lock held)."""
        values, covered = self.snapshot
        parts = [values]
        for r in range(covered + 1, radius + 1):
            parts.append(values_of(self.gaussian, np.arange(r + 1), np.arange(-r, r + 1), r)
                         .astype(self.dtype).ravel())
        self.snapshot = (np.concatenate(parts), radius)


_TABLES: OrderedDict[tuple, GaussianTable] = OrderedDict()  # least recently grown first


def table_of(gaussian, dtype: np.dtype, max_radius: int, map_size: int) -> tuple[NDArray, int]:
    """``(values, covered)``: the shared table of ``gaussian`` (a table kind, or CornerNet's
    ``(delte, k)``) in ``dtype``, covering radii ``0..covered``.

    A table that covers less than ``max_radius`` first grows to ``min(max_radius, map_size,
    budget_radius)``; ``map_size`` is the larger side of the map to stamp. Radii above
    ``covered`` are the caller's to stamp (``stamp_window``).
    """
    key = (*gaussian, dtype.str) if isinstance(gaussian, tuple) else (gaussian, dtype.str)
    table = _TABLES.get(key)
    if table is not None:
        values, covered = table.snapshot
        if max_radius <= covered:
            return values, covered
    with runtime.process_lock("tables"):
        table = _TABLES.get(key)
        if table is None:
            table = _TABLES[key] = (GaussianTable(*gaussian, dtype) if isinstance(gaussian, tuple)
                                    else GaussianTable.for_kind(gaussian, dtype))
            _make_room(table, 0)
        radius = min(max_radius, map_size, budget_radius(dtype.itemsize))
        if radius > table.snapshot[1]:
            _TABLES.move_to_end(key)
            _make_room(table, table_size(radius) * dtype.itemsize)
            table.grow(radius)
        return table.snapshot


def _make_room(current: GaussianTable, nbytes: int) -> None:
    """Drop the least recently grown tables but ``current`` until, with ``current`` at
    ``nbytes``, the cache holds at most ``CACHE_KEYS`` tables and ``CACHE_BYTES``."""
    total = nbytes + sum(t.nbytes for t in _TABLES.values() if t is not current)
    for key, table in list(_TABLES.items()):
        if len(_TABLES) <= CACHE_KEYS and total <= CACHE_BYTES:
            break
        if table is not current:
            del _TABLES[key]
            total -= table.nbytes


@dataclass(frozen=True)
class MapKinds:
    """One kind per map (``kinds[m]`` for the points of map ``m``), for a family whose maps
    stamp different things (OpenPose: Gaussians added into keypoint maps, limb bands written
    into part affinity fields)."""

    kinds: tuple


@jit
def _band_values(windows, lines, value_starts, half_width, out):
    """Every point's band over its window ``windows[j]`` (``y0, y1, x0, x1``), row after row
    into ``out[value_starts[j]:]``: its ``value`` where ``|(x - x0) * uy - (y - y0) * ux| <=
    half_width`` (``Stamps.lines``; ``x``, ``y`` the cell's integer coordinates), else NaN
    (left as it is by ``OVERWRITE``)."""
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        line_x, line_y = lines[j, X0], lines[j, Y0]
        ux, uy, value = lines[j, UX], lines[j, UY], lines[j, VALUE]
        position = value_starts[j]
        for yy in range(y0, y1):
            dy = yy - line_y
            for xx in range(x0, x1):
                d = abs((xx - line_x) * uy - dy * ux)
                out[position] = value if d <= half_width else np.nan
                position += 1


@dataclass(frozen=True)
class LimbBand:
    """A band of ``half_width`` map cells around each point's line (``Stamps.lines``) within
    its clip rectangle, holding the point's value: a per-point kind merged with ``OVERWRITE``
    (in point order, the last one winning). Two bands per limb, its direction's x and y on
    two channels, are lightweight OpenPose's part affinity field (``_set_paf``): the distance
    ``|(x - x0) * uy - (y - y0) * ux|`` is computed in float64 as there."""

    half_width: float
    per_point: ClassVar[bool] = True
    merge: ClassVar[int] = OVERWRITE

    def window_values(self, stamps, windows, value_starts) -> NDArray[np.float64]:
        values = np.empty(int(value_starts[-1]), np.float64)
        if values.size:
            runtime.call(_band_values, _band_values, windows, stamps.lines, value_starts,
                         self.half_width, values)
        return values
