"""Input checks of the public front ends: each raises a TypeError or ValueError that names the
argument before any kernel runs. Detections' rows are checked in the families' compiled passes
(``passes.check_rows``), which report the lowest offending row to ``passes.raise_for``."""

from __future__ import annotations

import functools
import math
import operator
import os
from numbers import Real

import numpy as np

#: Scaled box coordinates must stay within +-MAX_GRID_COORD output cells, so that every grid
#: index, radius and flat index (``y * out_w + x``) fits comfortably in int64.
MAX_GRID_COORD = 2**31
#: Every Gaussian needs ``0 < 2 * sigma**2 < inf`` in float64 (else ``exp`` gives NaN): sigma
#: within ``[MIN_SIGMA, MAX_SIGMA]``. The smallest sigma of a stamped Gaussian, ``(2r + 1) /
#: delte`` for radius 0, is ``1 / delte``: hence ``delte <= MAX_DELTE``.
MIN_SIGMA, MAX_SIGMA = 1e-150, 1e150
MAX_DELTE = 1e150
#: Box sizes passed to ``gaussian_radius`` are at most this, so that its intermediate products
#: (``(h + w)**2``, ``16 * w * h``, ...) stay finite in float64.
MAX_BOX_SIZE = 1e150
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


def check_positive(name, value, dtype=None, *, minimum=None, maximum=None) -> float:
    """A finite real number > 0, in ``[minimum, maximum]`` and representable in ``dtype``
    when these are given."""
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value:g}")
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
    """The kernels' code for a ``radius_formula`` name (a ValueError for anything else)."""
    if not isinstance(formula, str) or formula not in RADIUS_FORMULAS:
        raise ValueError(f"radius_formula must be one of {sorted(RADIUS_FORMULAS)}, got {formula!r}")
    return RADIUS_FORMULAS[formula]


def check_map_size(name, value) -> tuple[int, int]:
    """``check_size``, or one integer for a square."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value, value)
    return check_size(name, value)


def check_size(name, value) -> tuple[int, int]:
    """A ``(height, width)`` pair of integers in ``[1, MAX_GRID_COORD)``: a tuple, a list or a
    1-D array of length 2 (so that ``H * W`` and every flat index ``y * W + x`` fit in int64)."""
    is_array = isinstance(value, np.ndarray) and value.ndim == 1
    if not (is_array or isinstance(value, (tuple, list))) or len(value) != 2:
        raise TypeError(f"{name} must be a (height, width) pair of integers, got {value!r}")
    return (check_index(f"{name}[0]", value[0], minimum=1, maximum=MAX_GRID_COORD),
            check_index(f"{name}[1]", value[1], minimum=1, maximum=MAX_GRID_COORD))


@functools.cache
def memory_limit() -> tuple[int, str]:
    """``(bytes, description)``: the physical memory, or the most ``np.zeros`` could ever
    allocate (``2**63 - 1`` bytes) where the OS does not report it."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical memory"
    except (AttributeError, ValueError, OSError):
        return 2**63 - 1, "the largest possible array"


def check_memory(culprit, needed, advice="") -> None:
    """A ``ValueError`` naming ``culprit`` (say ``"batch_size=8"``), then ``advice``, if
    ``needed`` bytes of new outputs exceed ``memory_limit()``: checked before anything is
    allocated."""
    limit, what = memory_limit()
    if needed > limit:
        raise ValueError(f"{culprit} needs {needed / 2**30:.3g} GiB ({needed} bytes) of "
                         f"outputs, more than the {limit / 2**30:.3g} GiB of {what}{advice}")


def check_batch_size(batch_size, bytes_per_image, context="") -> int:
    """``batch_size >= 1`` whose new outputs, ``bytes_per_image`` each, fit in memory.

    ``context`` (say ``" of 1 x 80 x 128 x 128 maps and max_objs=128 slots"``) follows
    ``batch_size=...`` in the error.
    """
    batch_size = check_index("batch_size", batch_size, minimum=1)
    check_memory(f"batch_size={batch_size}{context}", batch_size * bytes_per_image,
                 ": encode a smaller batch, or make smaller maps (the options that size them)")
    return batch_size


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


def out_names(out, names, kind: str) -> list[str]:
    """How messages name each field of ``out``, a tuple (or list, or named tuple) of one
    ``kind`` (``"numpy arrays"``, ``"tensors"``) per field ``names``: ``out[i] (name)``."""
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        raise TypeError(f"out must be a tuple of {len(names)} {kind} ({', '.join(names)}), "
                        f"got {type(out).__name__}"
                        + (f" of {len(out)}" if isinstance(out, (tuple, list)) else ""))
    return [f"out[{i}] ({name})" for i, name in enumerate(names)]


def check_out(out, shapes, dtypes, names) -> tuple[np.ndarray, ...]:
    """``out``: a tuple (or named tuple) of writeable, C-contiguous, non-overlapping arrays of
    these shapes and dtypes, the fields ``names`` (for messages)."""
    labels = out_names(out, names, "numpy arrays")
    for i, (array, shape, dtype) in enumerate(zip(out, shapes, dtypes)):
        name = labels[i]
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
        if array.dtype != dtype:
            raise TypeError(f"{name} has dtype {array.dtype}, expected {np.dtype(dtype)}")
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if not array.flags.writeable:
            raise ValueError(f"{name} is not writeable")
        for j in range(i):
            if np.may_share_memory(array, out[j]):
                raise ValueError(f"{labels[j]} and {name} share memory")
    return tuple(out)


def check_image_ids(image_ids, batch_size: int, single: bool):
    """``None``, or a list of ``batch_size`` names of the images (dataset indices, file
    names) for messages; one image (``single``) may be named by a lone value."""
    if image_ids is None:
        return None
    if single and (isinstance(image_ids, (str, bytes)) or not hasattr(image_ids, "__len__")):
        return [image_ids]
    if isinstance(image_ids, (str, bytes)) or not hasattr(image_ids, "__len__") \
            or len(image_ids) != batch_size:
        raise ValueError(f"image_ids must be a sequence of batch_size={batch_size} names, "
                         f"got {image_ids!r}")
    return list(image_ids)


def as_real_array(name: str, value, what: str = "an array", booleans: bool = False) -> np.ndarray:
    """``value`` as a NumPy array of real numbers (no copy if it is one), or of booleans if
    ``booleans``: anything with a ``detach`` method (a torch tensor, even one that requires
    grad) is detached and moved to the CPU first, a half-precision one (bfloat16, float16:
    NumPy has no bfloat16) widened to float32, which holds each of their values exactly; a
    ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    if hasattr(value, "detach"):
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        if str(getattr(value, "dtype", "")) in ("torch.bfloat16", "torch.float16"):
            value = value.float()
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} must be {what}: {error}") from None
    if array.dtype.kind not in ("biuf" if booleans else "iuf"):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def as_rows(detections, columns: int = 6) -> np.ndarray:
    """An ``(N, columns)`` detections array-like as C-contiguous float64 rows (no copy if it is
    one): 6 columns ``(batch_index, category, x1, y1, x2, y2)``, or 5 without the batch index.

    Anything with a ``detach`` method (a torch tensor, even one that requires grad) is
    detached and moved to the CPU first; ``[]`` or any empty array means no rows. The rows'
    values are checked by the compiled passes (``passes.check_rows``).
    """
    array = as_real_array("detections", detections, f"an (N, {columns}) array")
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, columns)
    if array.ndim != 2 or array.shape[1] != columns:
        names = "batch_index, category, x1, y1, x2, y2" if columns == 6 else "category, x1, y1, x2, y2"
        raise ValueError(f"detections must be 2-D with {columns} columns ({names}), "
                         f"got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float64)
