"""The seed's Gaussian building blocks: radius, 2-D Gaussian, stamping, and the value tables."""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _kernels
from ._validate import (
    MAX_BOX_SIZE,
    MAX_DELTE,
    MAX_GRID_COORD,
    MAX_SIGMA,
    MIN_SIGMA,
    check_heatmap,
    check_index,
    check_memory,
    check_min_overlap,
    check_positive,
    check_size,
    radius_formula_code,
)

RadiusFormula = Literal["cornernet", "centernet"]

#: Bytes of one table (the quadrants of radii 0..R for one (delte, k, dtype)): R <= 367 in
#: float32, R <= 291 in float64. A table also never grows beyond the larger side of the map
#: it is grown for; larger radii are stamped from values computed for the visible window only.
TABLE_BYTES = 64 << 20
#: The cache keeps the tables of at most ``CACHE_KEYS`` option sets and ``CACHE_BYTES`` in
#: all, dropping the least recently used first.
CACHE_BYTES = 128 << 20
CACHE_KEYS = 8
_EPS = np.finfo(np.float64).eps


@overload
def gaussian_radius(
    height: float, width: float, min_overlap: float = ..., *, radius_formula: RadiusFormula = ...
) -> float: ...
@overload
def gaussian_radius(
    height: ArrayLike, width: ArrayLike, min_overlap: float = ..., *, radius_formula: RadiusFormula = ...
) -> float | NDArray[np.float64]: ...
def gaussian_radius(height, width, min_overlap=0.3, *, radius_formula="cornernet"):
    """Radius of the Gaussian for a box of ``height`` x ``width`` output pixels.

    Parameters
    ----------
    height, width : float or array_like
        Box size in output-map pixels (the seed passes ``math.ceil`` of the scaled size), in
        ``[0, 1e150]`` so that the arithmetic cannot overflow. Arrays broadcast against each
        other.
    min_overlap : float, default 0.3
        The IoU ``t`` in (0, 1) that a box from corners within the radius must keep.
    radius_formula : {"cornernet", "centernet"}, default "cornernet"
        ``"cornernet"`` is the seed's formula: ``min(r1, r2, r3)`` of three quadratic roots.
        ``"centernet"`` is the variant CenterNet shipped (``r = (b + sq) / 2`` for all three
        roots), which overestimates the radius; use it to reproduce CenterNet's models.

    Returns
    -------
    float or numpy.ndarray
        A Python float for scalar inputs, else a float64 array of the broadcast shape. Not
        truncated: the encoders use ``max(0, int(radius))``.

    Notes
    -----
    Bit-identical to the seed's Python code, including its use of C ``pow()`` for ``b3 ** 2``.
    """
    check_min_overlap("min_overlap", min_overlap)
    code = radius_formula_code(radius_formula)
    h = np.asarray(height)
    w = np.asarray(width)
    for name, value in (("height", h), ("width", w)):
        if value.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be real numbers, got dtype {value.dtype}")
        if not np.all((value >= 0) & (value <= MAX_BOX_SIZE)):  # NaN fails both
            raise ValueError(f"{name} must be finite, >= 0 and <= {MAX_BOX_SIZE:g}")
    h, w = np.broadcast_arrays(h.astype(np.float64), w.astype(np.float64))
    out = np.empty(h.shape, np.float64)
    _kernels.gaussian_radius_array(
        np.ascontiguousarray(h).ravel(), np.ascontiguousarray(w).ravel(),
        float(min_overlap), code, 2.0, out.reshape(-1),
    )
    return float(out) if out.ndim == 0 else out


def gaussian2d(shape: tuple[int, int], sigma: float = 1.0) -> NDArray[np.float64]:
    """The seed's ``gaussian2D``: an unnormalized 2-D Gaussian of ``shape`` (float64).

    Parameters
    ----------
    shape : (int, int)
        Rows and columns, positive integers (a tuple, list or 1-D array); the centre is at
        ``((rows - 1) / 2, (cols - 1) / 2)``.
    sigma : float, default 1.0
        Standard deviation in cells, in ``[1e-150, 1e150]`` so that ``2 * sigma**2`` neither
        underflows to 0 nor overflows.

    Returns
    -------
    numpy.ndarray
        ``exp(-(x^2 + y^2) / (2 sigma^2))``, with values below ``eps * max`` set to 0.

    Raises
    ------
    TypeError, ValueError
        On an invalid ``shape`` (or one too large for memory) or ``sigma``, naming it.
    """
    shape = check_size("shape", shape)
    check_memory(f"shape={shape}", shape[0] * shape[1] * 8)
    sigma = check_positive("sigma", sigma, minimum=MIN_SIGMA, maximum=MAX_SIGMA)
    m, n = [(ss - 1.0) / 2.0 for ss in shape]
    y, x = np.ogrid[-m : m + 1, -n : n + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h


def gaussian_values(dy: NDArray, dx: NDArray, radius: int, delte: float, k: float) -> NDArray:
    """The seed's stamped values ``gaussian2D(...)[radius + dy, radius + dx] * k`` (float64).

    ``dy`` (rows) and ``dx`` (columns) are integer offsets from the centre, ``|offset| <=
    radius``. Computed with the very NumPy operations of the seed (NumPy's ``exp`` can differ
    from the C library's in the last bit), so tables built from it are bit-exact.
    """
    diameter = 2 * int(radius) + 1
    sigma = diameter / delte
    x = dx.astype(np.float64)[None, :]
    y = dy.astype(np.float64)[:, None]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < _EPS] = 0  # the full Gaussian's max is exp(-0.0) == 1.0
    return h * k


def stamp_window(heatmap: NDArray, x: int, y: int, radius: int, delte: float, k: float) -> None:
    """Max-merge the visible part of one Gaussian into ``heatmap`` (NumPy, no table)."""
    y0, y1 = max(y - radius, 0), min(y + radius + 1, heatmap.shape[0])
    x0, x1 = max(x - radius, 0), min(x + radius + 1, heatmap.shape[1])
    if y0 >= y1 or x0 >= x1:
        return
    values = gaussian_values(np.arange(y0 - y, y1 - y), np.arange(x0 - x, x1 - x), radius, delte, k)
    target = heatmap[y0:y1, x0:x1]
    np.maximum(target, values, out=target, casting="same_kind")


def draw_gaussian(
    heatmap: NDArray[np.floating],
    center: tuple[int, int],
    radius: int,
    k: float = 1.0,
    delte: float = 6,
) -> NDArray[np.floating]:
    """Stamp a Gaussian of ``radius`` at ``center`` into ``heatmap`` in place (element-wise max).

    Parameters
    ----------
    heatmap : numpy.ndarray
        Writeable 2-D float32 or float64 array, any memory layout.
    center : (int, int)
        ``(x, y)`` grid cell, integers within ``+-(2**31 - 1)``: centres off the map stamp
        their visible part.
    radius : int
        In ``[0, 2**31)``; the Gaussian is ``2 * radius + 1`` cells wide with ``sigma =
        diameter / delte``.
    k : float, default 1.0
        Peak value, positive and finite.
    delte : float, default 6
        In ``(0, 1e150]`` (so that ``2 * sigma**2 > 0``); ``sigma = diameter / delte``.

    Returns
    -------
    numpy.ndarray
        ``heatmap`` itself.

    Notes
    -----
    The same values as the seed's ``draw_gaussian`` wherever the seed works; unlike it, never
    raises a broadcast error or wraps around for centres far off the map, and never writes
    outside the array.
    """
    check_heatmap("heatmap", heatmap)
    if not isinstance(center, (tuple, list)) or len(center) != 2:
        raise TypeError(f"center must be an (x, y) pair of integers, got {center!r}")
    x = check_index("center[0]", center[0], minimum=1 - MAX_GRID_COORD, maximum=MAX_GRID_COORD)
    y = check_index("center[1]", center[1], minimum=1 - MAX_GRID_COORD, maximum=MAX_GRID_COORD)
    radius = check_index("radius", radius, minimum=0, maximum=MAX_GRID_COORD)
    k = check_positive("k", k, heatmap.dtype)
    delte = check_positive("delte", delte, maximum=MAX_DELTE)
    stamp_window(heatmap, x, y, radius, delte, k)
    return heatmap


def table_size(radius: int) -> int:
    """Entries of a table covering radii ``0..radius``: the sum of ``(q + 1) ** 2``.

    ``table_size(r - 1)`` is where radius ``r`` starts (``_kernels.table_offset``).
    """
    n = radius + 1
    return n * (n + 1) * (2 * n + 1) // 6


@functools.cache
def budget_radius(itemsize: int) -> int:
    """The largest radius whose table (radii ``0..R``) fits in ``TABLE_BYTES``."""
    radius = 0
    while table_size(radius + 1) * itemsize <= TABLE_BYTES:
        radius += 1
    return radius


class GaussianTables:
    """The quadrants of the stamped values of radii ``0..covered`` for one (delte, k, dtype).

    ``values[table_offset(r) + dy * (r + 1) + dx]`` is the value at offset ``(dx, dy)`` for
    radius ``r <= covered``, with ``table_offset(r) = r * (r + 1) * (2 * r + 1) // 6``. Growing
    computes the new radii only and replaces the array, never modifies it in place, so a
    kernel running in another thread keeps a consistent snapshot.
    """

    def __init__(self, delte: float, k: float, dtype: np.dtype):
        self.delte, self.k, self.dtype = delte, k, dtype
        self.values = np.empty(0, dtype)
        self.covered = -1

    def grow(self, radius: int) -> None:
        """Cover radii up to ``radius`` (with ``_tables_lock`` held)."""
        parts = [self.values]
        for r in range(self.covered + 1, radius + 1):
            quadrant = np.arange(r + 1)
            parts.append(gaussian_values(quadrant, quadrant, r, self.delte, self.k)
                         .astype(self.dtype).ravel())
        self.values = np.concatenate(parts)
        self.covered = radius


_TABLES: OrderedDict[tuple, GaussianTables] = OrderedDict()  # least recently used first
_tables_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _tables_lock
    _tables_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_reset_after_fork)


def gaussian_table(delte: float, k: float, dtype: np.dtype, max_radius: int,
                   map_size: int) -> tuple[NDArray, int]:
    """``(values, covered)``: the shared table of these options, covering radii ``0..covered``.

    A table that covers less than ``max_radius`` first grows to ``min(max_radius, map_size,
    budget_radius)``; ``map_size`` is the larger side of the map to stamp, which a larger
    Gaussian overflows in both directions. Radii above ``covered`` are the caller's to stamp
    (``stamp_window``). ``covered`` may exceed ``map_size`` (a table grown for a larger map).
    """
    dtype = np.dtype(dtype)
    key = (float(delte), float(k), dtype.str)
    with _tables_lock:
        tables = _TABLES.get(key)
        if tables is None:
            tables = _TABLES[key] = GaussianTables(float(delte), float(k), dtype)
            _make_room(tables, 0)
        else:
            _TABLES.move_to_end(key)
        radius = min(max_radius, map_size, budget_radius(dtype.itemsize))
        if radius > tables.covered:
            _make_room(tables, table_size(radius) * dtype.itemsize)
            tables.grow(radius)
        return tables.values, tables.covered


def _make_room(current: GaussianTables, nbytes: int) -> None:
    """Drop the least recently used tables but ``current`` until, with ``current`` at
    ``nbytes``, the cache holds at most ``CACHE_KEYS`` tables and ``CACHE_BYTES``."""
    total = nbytes + sum(t.values.nbytes for t in _TABLES.values() if t is not current)
    for key, tables in list(_TABLES.items()):
        if len(_TABLES) <= CACHE_KEYS and total <= CACHE_BYTES:
            break
        if tables is not current:
            del _TABLES[key]
            total -= tables.values.nbytes
