"""The seed's Gaussian building blocks: radius, 2-D Gaussian, stamping, and the value tables."""

from __future__ import annotations

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

#: Radii up to this use a cached table of Gaussian values; larger ones (boxes many times the
#: size of the output map) are stamped from values computed for the visible window only.
MAX_TABLE_RADIUS = 1023
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


class GaussianTables:
    """Quadrant tables of stamped values for every radius used so far, for one (delte, k, dtype).

    ``values[offsets[r] + dy * (r + 1) + dx]`` is the value at offset ``(dx, dy)`` for radius
    ``r``; ``offsets[r] == -1`` until that radius is needed. The arrays are replaced, never
    modified in place, so a kernel running in another thread keeps a consistent snapshot.
    """

    MAX_ENTRIES = 1 << 24  # beyond this, start over with only the radii of the current call

    def __init__(self, delte: float, k: float, dtype: np.dtype):
        self.delte, self.k, self.dtype = delte, k, dtype
        self.values = np.empty(0, dtype)
        self.offsets = np.full(MAX_TABLE_RADIUS + 1, -1, np.int64)

    def lookup(self, radii: NDArray[np.int64]) -> tuple[NDArray, NDArray[np.int64]]:
        """``(values, offsets)`` covering every radius in ``radii`` up to ``MAX_TABLE_RADIUS``."""
        with _tables_lock:
            offsets = self.offsets
            needed = np.unique(radii[radii <= MAX_TABLE_RADIUS])
            missing = needed[offsets[needed] < 0]
            if missing.size == 0:
                return self.values, offsets
            values = self.values
            added = int(((missing + 1) ** 2).sum())
            if values.size + added > self.MAX_ENTRIES:
                values, offsets, missing = values[:0], np.full_like(offsets, -1), needed
            offsets = offsets.copy()
            parts = [values]
            size = values.size
            for r in missing.tolist():
                quadrant = np.arange(r + 1)
                parts.append(gaussian_values(quadrant, quadrant, r, self.delte, self.k)
                             .astype(self.dtype).ravel())
                offsets[r] = size
                size += (r + 1) ** 2
            self.values, self.offsets = np.concatenate(parts), offsets
            return self.values, self.offsets


_TABLES: OrderedDict[tuple, GaussianTables] = OrderedDict()
_tables_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _tables_lock
    _tables_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_reset_after_fork)


def gaussian_tables(delte: float, k: float, dtype: np.dtype) -> GaussianTables:
    """The shared ``GaussianTables`` for these options (the 8 most recently used are kept)."""
    key = (float(delte), float(k), np.dtype(dtype).str)
    with _tables_lock:
        tables = _TABLES.pop(key, None) or GaussianTables(delte, k, np.dtype(dtype))
        _TABLES[key] = tables
        while len(_TABLES) > 8:
            _TABLES.popitem(last=False)
        return tables
