"""``warmup``: compile or load the kernels ahead of the first real batch."""

from __future__ import annotations

import time
from typing import Iterable

import numpy as np
from numpy.typing import DTypeLike

from ._engine.cells import expand_cell_values
from ._engine.family import FAMILIES, encode
from ._engine.parallel import check_num_threads, default_num_threads
from ._engine.stamping import expand_cells


def warmup(dtypes: DTypeLike | Iterable[DTypeLike] = (np.float32,), *,
           num_threads: int | None = None) -> float:
    """Compile, or load from Numba's on-disk cache, the kernels of every family's encoders.

    Call it once in the parent process before starting data-loader workers: with a warm cache
    each worker then only loads the kernels, and concurrent workers never compile at once.

    Parameters
    ----------
    dtypes : float32/float64 or iterable of them, default (float32,)
        Heatmap dtypes to prepare for the families with a ``dtype`` option (``encode_corners``,
        ``CornerEncoder``); the others are float32. A single dtype-like (``"float32"``, ``np.float64``,
        ``np.dtype("f4")``) means that one dtype.
    num_threads : int, optional
        Prepare the serial kernel, and the parallel one if this (default:
        ``fastheat.default_num_threads()``) is above 1.

    Returns
    -------
    float
        Seconds spent.
    """
    if isinstance(dtypes, (str, type, np.dtype)):
        dtypes = (dtypes,)
    start = time.perf_counter()
    detections = np.array([[0, 0, 1.0, 1.0, 3.0, 3.0]])
    sizes = dict(num_classes=1, input_size=(4, 4), output_size=(4, 4))
    for threads in sorted({1, check_num_threads(num_threads) or default_num_threads()}):
        for family in FAMILIES.values():
            if family.warmup is not None:  # a family with its own input
                family.warmup(threads)
                continue
            for dtype in dtypes if "dtype" in family.options else (np.float32,):
                options = {**sizes, "dtype": dtype} if "dtype" in family.options else sizes
                for extra in family.warmup_options:
                    encode(family, detections, 1, {**options, **extra}, None, threads, False)
                if threads == 1:  # and the cell expansion of fastheat.torch's scatter path
                    sparse = encode(family, detections, 1, options, None, 1, True)
                    expand_cells(sparse.stamps, family.maps, sparse.spec.map_shape(1),
                                 sparse.spec.gaussian, sparse.spec.dtype)
                    cells = family.layout(sparse.spec).cells
                    if cells:
                        expand_cell_values(sparse.stamps, cells, *sparse.spec.output_size,
                                           sparse.spec.dtype)
    return time.perf_counter() - start
