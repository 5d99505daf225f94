"""Input checks shared by the public front ends: each raises a TypeError or ValueError that
names the argument (and, for detections, the first offending row) before any kernel runs."""

from __future__ import annotations

import math
import operator
from numbers import Real

import numpy as np

#: Scaled box coordinates must stay within +-MAX_GRID_COORD output cells, so that every grid
#: index, radius and flat index (``y * out_w + x``) fits comfortably in int64.
MAX_GRID_COORD = 2**31
RADIUS_FORMULAS = {"cornernet": 0, "centernet": 1}
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_index(name, value, minimum=None, maximum=None) -> int:
    """An integer (Python or NumPy, not bool or float) in ``[minimum, maximum)``."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value >= maximum:
        raise ValueError(f"{name} must be < {maximum}, got {value}")
    return value


def check_real(name, value) -> float:
    """A finite real number (not bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive(name, value, dtype=None) -> float:
    """A finite real number > 0 (and representable in ``dtype`` when given)."""
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if dtype is not None and value > float(np.finfo(dtype).max):
        raise ValueError(f"{name} = {value} overflows {np.dtype(dtype).name}")
    return value


def check_min_overlap(name, value) -> float:
    """An IoU strictly between 0 and 1."""
    value = check_real(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return value


def radius_formula_code(formula) -> int:
    """The kernels' code for a ``radius_formula`` name."""
    if formula not in RADIUS_FORMULAS:
        raise ValueError(f"radius_formula must be one of {sorted(RADIUS_FORMULAS)}, got {formula!r}")
    return RADIUS_FORMULAS[formula]


def check_size(name, value) -> tuple[int, int]:
    """A ``(height, width)`` pair of positive integers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a (height, width) pair of integers, got {value!r}")
    return (check_index(f"{name}[0]", value[0], minimum=1),
            check_index(f"{name}[1]", value[1], minimum=1))


def check_dtype(dtype) -> np.dtype:
    """float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def check_heatmap(name, heatmap) -> None:
    """A writeable 2-D float32/float64 ndarray."""
    if not isinstance(heatmap, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(heatmap).__name__}")
    if heatmap.dtype not in DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {heatmap.dtype}")
    if heatmap.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {heatmap.shape}")
    if not heatmap.flags.writeable:
        raise ValueError(f"{name} is not writeable")


def check_out(out, shapes, dtype) -> tuple[np.ndarray, ...]:
    """``out``: a tuple of writeable, C-contiguous, non-overlapping arrays of these shapes."""
    if not isinstance(out, (tuple, list)) or len(out) != len(shapes):
        raise TypeError(f"out must be a tuple of {len(shapes)} numpy arrays, got {type(out).__name__}")
    for i, (array, shape) in enumerate(zip(out, shapes)):
        name = f"out[{i}]"
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype}, expected {dtype} (see the dtype argument)")
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if not array.flags.writeable:
            raise ValueError(f"{name} is not writeable")
        for j in range(i):
            if np.may_share_memory(array, out[j]):
                raise ValueError(f"out[{j}] and {name} share memory")
    return tuple(out)


def _first_bad_row(name, bad, message, rows):
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} row {i} {message}: {rows[i].tolist()}")


def check_detections(detections, batch_size, num_classes, width_ratio, height_ratio):
    """``(image_index, categories, boxes)`` of an ``(N, 6)`` detections array-like.

    Returns int64 ``(N,)``, int64 ``(N,)`` and C-contiguous float64 ``(N, 4)`` arrays.
    """
    try:
        array = np.asarray(detections)
    except (ValueError, TypeError) as error:
        raise ValueError(f"detections must be an (N, 6) array: {error}") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"detections must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, 6)
    if array.ndim != 2 or array.shape[1] != 6:
        raise ValueError(
            "detections must be 2-D with 6 columns (batch_index, category, x1, y1, x2, y2), "
            f"got shape {array.shape}"
        )
    rows = array.astype(np.float64)
    _first_bad_row("detections", ~np.isfinite(rows).all(axis=1), "is not finite", rows)
    for column, label, limit in ((0, "batch index", batch_size), (1, "category", num_classes)):
        value = rows[:, column]
        _first_bad_row("detections", value != np.floor(value), f"has a {label} that is not a whole number", rows)
        _first_bad_row("detections", (value < 0) | (value >= limit), f"has a {label} outside [0, {limit})", rows)
    x1, y1, x2, y2 = rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]
    _first_bad_row("detections", x2 < x1, "has x2 < x1", rows)
    _first_bad_row("detections", y2 < y1, "has y2 < y1", rows)
    scaled = np.abs(rows[:, 2:]) * np.array([width_ratio, height_ratio, width_ratio, height_ratio])
    _first_bad_row("detections", (scaled >= MAX_GRID_COORD).any(axis=1),
                   f"has coordinates beyond +-{MAX_GRID_COORD} output cells", rows)
    return (rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64),
            np.ascontiguousarray(rows[:, 2:]))
