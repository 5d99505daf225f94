"""How many threads a kernel call uses, and running it serially or in parallel."""

from __future__ import annotations

import multiprocessing
import os
import threading

import numba

from ._validate import check_index

_PARALLEL_LOCK = threading.Lock()


def default_num_threads() -> int:
    """``FASTHEAT_NUM_THREADS`` if set, else 1 inside a worker process, else all of Numba's."""
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
    """Run ``parallel(*args)`` on ``num_threads`` threads, or ``serial(*args)``.

    The serial kernel runs when one thread is asked for, and when another thread of this
    process is already inside a parallel fastheat kernel: Numba's workqueue layer aborts on
    concurrent parallel launches, and the serial kernel never touches the threading layer.
    """
    if num_threads == 1 or not _PARALLEL_LOCK.acquire(blocking=False):
        serial(*args)
        return
    try:
        previous = numba.get_num_threads()
        numba.set_num_threads(num_threads)
        try:
            parallel(*args)
        finally:
            numba.set_num_threads(previous)
    finally:
        _PARALLEL_LOCK.release()
