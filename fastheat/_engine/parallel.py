"""The thread policy, fork handling and the threading layer of the parallel kernels.

**Thread policy** (README, "Threads, fork and load"):

* ``num_threads=N`` given: the call runs on ``N`` threads (capped by Numba's pool).
* Default: the call runs serially unless parallel work measurably pays *now*: the process may
  use more than one thread (``default_num_threads() > 1``), the call spans at least two images
  and at least ``PARALLEL_MIN_WORK`` of work (bytes of maps to clear, plus stamped cells
  weighted by ``CELL_WORK``), and a core is idle, both at this instant and over the last
  minute (``_idle_cores``). It then uses one thread per idle core, up to
  ``default_num_threads()`` and the image count. On a loaded machine a
  parallel launch waits for the scheduler to run its second thread (3-10 ms per call, measured
  with one busy process on 2 cores), far more than a CornerNet batch costs on one thread.
* Always serial (the same results; the serial kernel never touches Numba's threading layer):
  while another thread of this process is inside a parallel fastheat kernel (Numba's
  workqueue layer aborts on concurrent launches), and in a forked child whose parent had
  loaded GNU OpenMP (``libgomp``: Numba's own ``omp`` layer or another library's, e.g. torch's
  CPU ops) or had started Numba's threading layer: their thread pools do not survive a fork
  and the child's first parallel launch would wait forever.

**Fork.** An at-fork hook resets this module's lock (another thread may have held it at the
fork) and marks the child as forked. Encoders notice a fork themselves (they keep the pid they
allocated their buffers in). ``runtime`` resets its own locks.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
from typing import Hashable

import numba
from numba.np.ufunc import parallel as _numba_parallel

from .runtime import call
from .validate import check_index

#: Default calls with less work than this (in bytes of maps cleared, see ``CELL_WORK``) run
#: serially: measured on 2 cores, below it a parallel launch gains less than it risks.
PARALLEL_MIN_WORK = 32 << 20
#: One stamped cell costs about as much as clearing this many bytes of a map.
CELL_WORK = 64

_parallel_lock = threading.Lock()
_forked = False  # this process was made by os.fork() (set in the child by an at-fork hook)
_fork_safe: bool | None = None  # in a forked child: may it launch threads? (decided on first use)


def default_num_threads() -> int:
    """Most threads a call may use when ``num_threads`` is not given.

    ``FASTHEAT_NUM_THREADS`` if set; else 1 inside a worker process (any process started by
    ``multiprocessing``, which includes PyTorch's DataLoader workers), so that W workers run W
    threads, not W x cores; else Numba's thread count (``NUMBA_NUM_THREADS``, all cores). A
    default call uses fewer (usually one) unless its work pays for more (module docstring).
    """
    setting = os.environ.get("FASTHEAT_NUM_THREADS", "").strip()
    if setting:
        try:
            return min(max(1, int(setting)), numba.config.NUMBA_NUM_THREADS)
        except ValueError:
            raise ValueError(f"FASTHEAT_NUM_THREADS must be an integer, got {setting!r}") from None
    if multiprocessing.parent_process() is not None:
        return 1
    return numba.config.NUMBA_NUM_THREADS


def check_num_threads(num_threads) -> int | None:
    """``None`` (the policy decides per call) or a thread count >= 1, capped by Numba's pool."""
    if num_threads is None:
        return None
    num_threads = check_index("num_threads", num_threads, minimum=1)
    return min(num_threads, numba.config.NUMBA_NUM_THREADS)


def _idle_cores() -> int:
    """Usable cores with nothing running on them now *and* over the last minute (0 if unknown).

    Now: ``/proc/loadavg``'s count of running tasks, this thread included. Over the last
    minute: its 1-minute load average, which counts this thread too (a core is taken once
    others add more than a quarter of one). Both must leave a core free: a machine whose load
    comes and goes (other jobs, tests, data-loader workers) stalls parallel calls as surely
    as a loaded one.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    try:
        with open("/proc/loadavg", "rb") as handle:
            fields = handle.read().split()
        minute, running = float(fields[0]), int(fields[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        try:
            minute = os.getloadavg()[0]
        except OSError:
            return 0
        running = 1
    return max(0, usable - max(running, math.ceil(minute - 0.25)))


def threads_for(num_threads: int | None, images: int, work: int) -> int:
    """Threads for one call over ``images`` images with ``work`` bytes-equivalent of work."""
    if num_threads is not None:
        return num_threads
    most = min(default_num_threads(), images)
    if most < 2 or work < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(most, _idle_cores() + 1))


def _parallel_is_safe() -> bool:
    """False in a forked child of a process whose thread pools may have been running."""
    global _fork_safe
    if not _forked:
        return True
    if _fork_safe is None:
        _fork_safe = not _numba_parallel._is_initialized and not _gnu_openmp_loaded()
    return _fork_safe


def _gnu_openmp_loaded() -> bool:
    """Whether a GNU OpenMP runtime is mapped into this process (True if that cannot be read)."""
    try:
        with open("/proc/self/maps", "rb") as handle:
            return b"libgomp" in handle.read()
    except OSError:
        return True


#: The threading layer fastheat's parallel kernels start Numba's pool with, unless the user
#: chose one (``NUMBA_THREADING_LAYER``, ``numba.config.THREADING_LAYER``) or the pool runs.
THREADING_LAYER = "workqueue"


def choose_threading_layer() -> None:
    """Before Numba's pool starts: make it ``THREADING_LAYER`` if nobody chose one.

    Numba's default prefers GNU OpenMP (``omp``) where TBB is not installed. Its pool does not
    survive a fork: a child made by ``os.fork()`` after the pool started in the parent (by
    ``fastheat.warmup()``, say) hangs in its first multi-threaded GNU OpenMP operation, torch's
    included. The ``workqueue`` layer is fork-safe; it is not thread-safe, which fastheat's own
    launches never need (``_parallel_lock`` runs one at a time); the thread policy and
    ``scripts/thread_policy.py`` measure it under load (README, "Threads, fork and load").
    """
    if (not _numba_parallel._is_initialized and numba.config.THREADING_LAYER == "default"
            and not os.environ.get("NUMBA_THREADING_LAYER")):
        numba.config.THREADING_LAYER = THREADING_LAYER


def run_kernel(serial, parallel, threads: int, variant: Hashable, *args) -> None:
    """Run ``parallel(*args)`` on ``threads`` threads, or ``serial(*args)``.

    The serial kernel runs for one thread and whenever a parallel launch is unsafe (module
    docstring); the first parallel launch chooses the threading layer
    (``choose_threading_layer``). Numba's thread count is set only when it differs, and restored afterwards.
    The first use of each compiled ``variant`` (whatever tells the argument types apart)
    takes the first-use lock.
    """
    if threads == 1 or not _parallel_is_safe() or not _parallel_lock.acquire(blocking=False):
        call(serial, (serial, variant), *args)
        return
    try:
        choose_threading_layer()
        previous = numba.get_num_threads()
        if previous != threads:
            numba.set_num_threads(threads)
        try:
            call(parallel, (parallel, variant), *args)
        finally:
            if previous != threads:
                numba.set_num_threads(previous)
    finally:
        _parallel_lock.release()


def _after_fork_in_child() -> None:
    global _parallel_lock, _forked, _fork_safe
    _parallel_lock = threading.Lock()  # another thread may have held it at the fork
    _forked, _fork_safe = True, None


os.register_at_fork(after_in_child=_after_fork_in_child)
