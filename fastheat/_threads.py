"""How many threads one kernel call uses, and running it serially or in parallel, safely.

The thread policy (README, "Threads, fork and load"):

* ``num_threads=N`` given: the call runs on ``N`` threads (capped by Numba's pool).
* Default: the call runs serially unless parallel work measurably pays *now*: the process may
  use more than one thread (``default_num_threads() > 1``), the call spans at least two images
  and at least ``PARALLEL_MIN_WORK`` of work (bytes of maps to clear, plus stamped cells
  weighted by ``CELL_WORK``), and a core is idle at this instant (``/proc/loadavg``'s count of
  running tasks, this thread included, is below the usable cores). It then uses one thread
  per idle core, up to ``default_num_threads()`` and the image count. On a loaded machine a
  parallel launch waits for the scheduler to run its second thread (3-10 ms per call, measured
  with one busy process on 2 cores), far more than a CornerNet batch costs on one thread.
* Always serial (the same results; the serial kernel never touches Numba's threading layer):
  while another thread of this process is inside a parallel fastheat kernel (Numba's
  workqueue layer aborts on concurrent launches), and in a forked child whose parent had
  loaded GNU OpenMP (``libgomp``: Numba's own ``omp`` layer or another library's, e.g. torch's
  CPU ops) or had started Numba's threading layer: their thread pools do not survive a fork
  and the child's first parallel launch would wait forever.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

import numba
from numba.np.ufunc import parallel as _numba_parallel

from ._numba import first_use
from ._validate import check_index

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


def stamped_cells(radii, count: int, height: int, width: int) -> int:
    """Cells that ``count`` stamps per radius of ``radii`` visit at most on a height x width map."""
    if radii.size == 0:
        return 0
    sides = 2 * radii + 1
    return count * int((sides.clip(max=height) * sides.clip(max=width)).sum())


def _idle_cores() -> int:
    """Usable cores with nothing running on them at this instant (0 if unknown)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    try:
        with open("/proc/loadavg", "rb") as handle:
            running = int(handle.read().split()[3].split(b"/")[0])  # includes this thread
    except (OSError, ValueError, IndexError):
        try:
            running = 1 + int(os.getloadavg()[0] + 0.5)
        except OSError:
            return 0
    return max(0, usable - running)


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


def run_kernel(serial, parallel, threads: int, *args) -> None:
    """Run ``parallel(*args)`` on ``threads`` threads, or ``serial(*args)``.

    The serial kernel runs for one thread and whenever a parallel launch is unsafe (module
    docstring). Numba's thread count is set only when it differs, and restored afterwards.
    """
    if threads == 1 or not _parallel_is_safe() or not _parallel_lock.acquire(blocking=False):
        with first_use((serial, args[0][0].dtype.str)):
            serial(*args)
        return
    try:
        previous = numba.get_num_threads()
        if previous != threads:
            numba.set_num_threads(threads)
        try:
            with first_use((parallel, args[0][0].dtype.str)):
                parallel(*args)
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
