"""How many threads a kernel call uses, and running it serially or in parallel, safely.

Numba's threading layers fail in data-loader settings (README, "Using fastheat in a
DataLoader"): GNU OpenMP kills a forked child at its first parallel launch if the parent had
started it, and the workqueue layer aborts on concurrent launches from two threads. fastheat
therefore runs its serial kernel (which never touches the threading layer) whenever one
thread is asked for -- the default inside worker processes --, whenever another thread is
already inside a parallel fastheat kernel, and in a forked child of a process that had started
GNU OpenMP.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

import numba
from numba.np.ufunc import parallel as _numba_parallel

from ._numba import first_use
from ._validate import check_index

_parallel_lock = threading.Lock()
_parallel_unsafe = False  # set in a forked child of a process that had started GNU OpenMP


def default_num_threads() -> int:
    """Threads per call when ``num_threads`` is not given.

    ``FASTHEAT_NUM_THREADS`` if set; else 1 inside a worker process (any process started by
    ``multiprocessing``, which includes PyTorch's DataLoader workers), so that W workers run W
    threads, not W x cores; else Numba's thread count (``NUMBA_NUM_THREADS``, all cores).
    """
    setting = os.environ.get("FASTHEAT_NUM_THREADS", "").strip()
    if setting:
        try:
            return max(1, int(setting))
        except ValueError:
            raise ValueError(f"FASTHEAT_NUM_THREADS must be an integer, got {setting!r}") from None
    if multiprocessing.parent_process() is not None:
        return 1
    return numba.config.NUMBA_NUM_THREADS


def resolve_num_threads(num_threads) -> int:
    """The thread count for one call: ``num_threads`` or the default, capped by Numba's pool."""
    if num_threads is None:
        num_threads = default_num_threads()
    num_threads = check_index("num_threads", num_threads, minimum=1)
    return min(num_threads, numba.config.NUMBA_NUM_THREADS)


def run_kernel(serial, parallel, num_threads: int, *args) -> None:
    """Run ``parallel(*args)`` on ``num_threads`` threads, or ``serial(*args)`` where unsafe.

    Numba's per-thread thread count is restored afterwards, even on error.
    """
    if num_threads == 1 or _parallel_unsafe or not _parallel_lock.acquire(blocking=False):
        with first_use((serial, args[0][0].dtype.str)):
            serial(*args)
        return
    try:
        previous = numba.get_num_threads()
        numba.set_num_threads(num_threads)
        try:
            with first_use((parallel, args[0][0].dtype.str)):
                parallel(*args)
        finally:
            numba.set_num_threads(previous)
    finally:
        _parallel_lock.release()


def _after_fork_in_child() -> None:
    global _parallel_lock, _parallel_unsafe
    _parallel_lock = threading.Lock()  # another thread may have held it at the fork
    if _numba_parallel._is_initialized and _numba_parallel._threading_layer == "omp":
        _parallel_unsafe = True


os.register_at_fork(after_in_child=_after_fork_in_child)
