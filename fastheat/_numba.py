"""The one place where fastheat sets Numba options.

* ``cache=True``: compiled kernels are stored on disk, so a new data-loader worker loads them
  instead of compiling (see ``fastheat.warmup`` and README, "Cold start").
* ``nogil=True``: kernels release the GIL, so threads calling fastheat run concurrently.
* ``error_model="numpy"``: no Python exceptions from arithmetic; kernels never raise.
* ``fastmath=False``: every fast-math flag may change a rounding (``contract`` fuses into FMA,
  ``arcp``/``reassoc`` reorder, ``nnan``/``ninf`` drop checks) and fastheat must be bit-identical
  to its reference, so none is used.
"""

from __future__ import annotations

from typing import Callable

import numba

OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


def jit(func: Callable) -> Callable:
    """Compile ``func`` as a serial kernel with fastheat's options."""
    return numba.njit(**OPTIONS)(func)


def jit_parallel(func: Callable) -> Callable:
    """Compile ``func`` as a ``prange``-parallel kernel with fastheat's options."""
    return numba.njit(parallel=True, **OPTIONS)(func)
