"""The reference's Gaussian building blocks: radius, 2-D Gaussian and stamping."""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._engine.radius import gaussian_radius_array
from ._engine.tables import stamp_window
from ._engine.validate import (
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
        Box size in output-map pixels (CornerNet passes ``math.ceil`` of the scaled size), in
        ``[0, 1e150]`` so that the arithmetic cannot overflow. Arrays broadcast against each
        other. Not the reference's ``det_size=(height, width)`` pair: a tuple or list
        ``height`` with a scalar ``width`` is a ``TypeError`` (pass NumPy arrays for arrays).
    min_overlap : float, default 0.3
        The IoU ``t`` in (0, 1) that a box from corners within the radius must keep.
    radius_formula : {"cornernet", "centernet"}, default "cornernet"
        ``"cornernet"`` is CornerNet's formula (the reference): ``min(r1, r2, r3)`` of three quadratic roots.
        ``"centernet"`` is the variant CenterNet shipped (``r = (b + sq) / 2`` for all three
        roots), which overestimates the radius; use it to reproduce CenterNet's models.

    Returns
    -------
    float or numpy.ndarray
        A Python float for scalar inputs, else a float64 array of the broadcast shape. Not
        truncated: the encoders use ``max(0, int(radius))``.

    Notes
    -----
    Bit-identical to CornerNet's Python code, including its use of C ``pow()`` for ``b3 ** 2``.
    """
    if isinstance(height, (tuple, list)) and np.ndim(width) == 0:
        raise TypeError("gaussian_radius takes height and width, not the reference's det_size "
                        f"pair: gaussian_radius(h, w, min_overlap), got height={height!r}")
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
    gaussian_radius_array(
        np.ascontiguousarray(h).ravel(), np.ascontiguousarray(w).ravel(),
        float(min_overlap), code, 2.0, out.reshape(-1),
    )
    return float(out) if out.ndim == 0 else out


def gaussian2d(shape: tuple[int, int], sigma: float = 1.0) -> NDArray[np.float64]:
    """CornerNet's ``gaussian2D``: an unnormalized 2-D Gaussian of ``shape`` (float64).

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
    The same values as CornerNet's ``draw_gaussian`` wherever it works; unlike it, never
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
