"""Process state, all of it: the first-use lock, the thread policy, fork handling.

**First use.** The first call of a kernel in a process compiles it or loads it from Numba's
on-disk cache, and Numba does not lock its cache index: data-loader workers started together
could race on it. ``call`` runs each kernel's first call (per key) under a thread lock and an
inter-process file lock in a private per-user directory (``lock_path``), waiting at most
``lock_timeout()`` seconds; later calls take no lock.

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

**Fork.** One at-fork hook resets every lock of this module (another thread may have held one
at the fork) and marks the child as forked. Encoders notice a fork themselves (they keep the
pid they allocated their buffers in).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import stat
import sys
import threading
import time
import types
import warnings
from typing import Callable, Hashable, Iterator

import numba
from numba.np.ufunc import parallel as _numba_parallel

from .validate import check_index

_first_use_lock = threading.Lock()
_ready: set = set()
_warned = False  # this process already said it compiles without the inter-process lock
_gave_up = False  # a wait for the lock timed out: later first uses do not wait again

LOCK_TIMEOUT = 30.0
"""Default bound, in seconds, on waiting for the inter-process lock (``FASTHEAT_LOCK_TIMEOUT``)."""


@contextlib.contextmanager
def first_use(key: Hashable) -> Iterator[None]:
    """Run the body under an inter-process file lock the first time this process runs ``key``.

    The first call of a kernel compiles it or loads it from Numba's on-disk cache, and Numba
    does not lock its cache index: data-loader workers started together could race on it.
    Wrapping each front end's first call per ``key`` (e.g. function, dtype, serial/parallel)
    serializes those first calls across processes; later calls take no lock.

    The lock is ``lock_path()``, in a private per-user directory. A process waits at most
    ``lock_timeout()`` seconds for it, then runs the body without it and warns once. Where the
    lock cannot be made safely (unwritable home, a directory or file that is not the user's own
    and private), the body runs without it, as on platforms without ``fcntl``.

    Raises
    ------
    ValueError
        If ``FASTHEAT_LOCK_TIMEOUT`` is set to anything but a number of seconds >= 0.
    """
    if key in _ready:
        yield
        return
    with _first_use_lock, _cache_file_lock():
        yield
        _ready.add(key)


def lock_timeout() -> float:
    """Seconds to wait for the inter-process lock: ``FASTHEAT_LOCK_TIMEOUT``, else 30.

    Raises
    ------
    ValueError
        If the variable is set but is not a finite number >= 0.
    """
    setting = os.environ.get("FASTHEAT_LOCK_TIMEOUT", "").strip()
    if not setting:
        return LOCK_TIMEOUT
    try:
        seconds = float(setting)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise ValueError(f"FASTHEAT_LOCK_TIMEOUT must be a number of seconds >= 0, got {setting!r}")
    return seconds


def lock_path() -> str | None:
    """The lock file: ``fastheat/numba-cache.lock`` in ``$XDG_CACHE_HOME``, else ``~/.cache``.

    One lock per user, whatever ``NUMBA_CACHE_DIR`` says: that directory may be shared with
    other users, while the lock only has to order this user's processes. None when no absolute
    home directory is known.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):
        return None
    return os.path.join(base, "fastheat", "numba-cache.lock")


@contextlib.contextmanager
def _cache_file_lock() -> Iterator[None]:
    timeout = lock_timeout()
    try:
        import fcntl
    except ImportError:  # not POSIX: no inter-process lock
        yield
        return
    descriptor = _take_lock(fcntl, timeout)
    try:
        yield
    finally:
        if descriptor is not None:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)


def _take_lock(fcntl: types.ModuleType, timeout: float) -> int | None:
    """The lock file's descriptor, locked within ``timeout`` seconds; None to go on unlocked."""
    global _gave_up
    path = lock_path()
    descriptor = _open_lock_file(path) if path else None
    if descriptor is None:
        return None
    held = False
    try:
        held = _acquire(fcntl, descriptor, 0 if _gave_up else timeout)
        if not held:
            _gave_up = True
            _warn_unlocked(f"the lock {path} was held by another process for {timeout:g} s "
                           "(FASTHEAT_LOCK_TIMEOUT)")
    except OSError:  # no flock on this file system (some network ones): unlocked, as before
        pass
    finally:
        if not held:
            os.close(descriptor)
    return descriptor if held else None


def _open_lock_file(path: str) -> int | None:
    """Open the lock file at ``path``, creating it and its directory privately; None if unsafe.

    The directory is made with mode 0o700 and then opened without following a symbolic link,
    so the checks (a directory owned by this user, not group/other-writable) hold for the
    directory the file is opened in. The file is opened the same way, with mode 0o600, and must
    be a regular file owned by this user. An OSError (unwritable home, read-only file system)
    means no lock, silently, as before the lock was private.
    """
    directory, name = os.path.split(path)
    no_follow = os.O_NOFOLLOW | os.O_CLOEXEC
    directory_fd = None
    opening = directory
    try:
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
        directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | no_follow)
        status = os.fstat(directory_fd)
        if status.st_uid != os.geteuid() or status.st_mode & 0o022:
            _warn_unlocked(f"{directory} is not a private directory of uid {os.geteuid()} (owner "
                           f"uid {status.st_uid}, mode {stat.S_IMODE(status.st_mode):o})")
            return None
        opening = path
        descriptor = os.open(name, os.O_RDWR | os.O_CREAT | no_follow, 0o600, dir_fd=directory_fd)
        status = os.fstat(descriptor)
        if status.st_uid != os.geteuid() or not stat.S_ISREG(status.st_mode):
            os.close(descriptor)
            _warn_unlocked(f"{path} is not a regular file owned by uid {os.geteuid()}")
            return None
        return descriptor
    except OSError:
        if os.path.islink(opening):  # refused by O_NOFOLLOW (ELOOP, or ENOTDIR for a directory)
            _warn_unlocked(f"{opening} is a symbolic link")
        return None
    finally:
        if directory_fd is not None:
            os.close(directory_fd)


def _acquire(fcntl: types.ModuleType, descriptor: int, timeout: float) -> bool:
    """Take the exclusive lock within ``timeout`` seconds, polling: True, else False."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:  # held by another open file (process)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(delay, remaining))
            delay = min(2 * delay, 0.05)


def _warn_unlocked(reason: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(f"fastheat: {reason}; compiling Numba kernels without the inter-process "
                      "lock", RuntimeWarning)


def call(kernel: Callable, key: Hashable, *args):
    """``kernel(*args)``; the first call per ``key`` in this process under ``first_use``."""
    if key in _ready:
        return kernel(*args)
    with first_use(key):
        return kernel(*args)


class StageClock:
    """Adds the time since the previous stage (or its creation) to ``times[stage]``."""

    def __init__(self, times: dict):
        self.times = times
        self.last = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.times.setdefault(stage, []).append(now - self.last)
        self.last = now


_stage_times: dict | None = None  # set while ``profile_stages`` records


@contextlib.contextmanager
def profile_stages() -> Iterator[dict]:
    """Record the time every encode call spends per stage, for profiling scripts.

    Yields a dict that fills, per stage, with one duration in seconds per call: ``check``
    (arguments), ``pass`` (the family's compiled pass: row checks, stamps, slot arrays),
    ``stamp`` (tables, clearing and stamping the maps), ``outputs`` (the result). Not
    thread-safe: profile one thread at a time.
    """
    global _stage_times
    previous, _stage_times = _stage_times, {}
    try:
        yield _stage_times
    finally:
        _stage_times = previous


def stage_clock() -> StageClock | None:
    """A ``StageClock`` while ``profile_stages`` records, else None (one check per call)."""
    return None if _stage_times is None else StageClock(_stage_times)


_warned_once: set = set()


def warn_once(key: Hashable, message: str) -> None:
    """``warnings.warn(message, RuntimeWarning)`` the first time this process sees ``key``,
    attributed to the first caller outside fastheat."""
    if key not in _warned_once:
        _warned_once.add(key)
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        frame, level = sys._getframe(1), 2
        while frame is not None and frame.f_code.co_filename.startswith(package):
            frame, level = frame.f_back, level + 1
        warnings.warn(message, RuntimeWarning, stacklevel=level)


def process_lock(name: str) -> threading.Lock:
    """The process-wide lock called ``name``: a fresh one in a forked child."""
    lock = _locks.get(name)
    if lock is None:
        lock = _locks.setdefault(name, threading.Lock())
    return lock


#: Default calls with less work than this (in bytes of maps cleared, see ``CELL_WORK``) run
#: serially: measured on 2 cores, below it a parallel launch gains less than it risks.
PARALLEL_MIN_WORK = 32 << 20
#: One stamped cell costs about as much as clearing this many bytes of a map.
CELL_WORK = 64

_parallel_lock = threading.Lock()
_forked = False  # this process was made by os.fork() (set in the child by an at-fork hook)
_fork_safe: bool | None = None  # in a forked child: may it launch threads? (decided on first use)
_locks: dict[str, threading.Lock] = {}


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
    global _first_use_lock, _warned, _gave_up, _parallel_lock, _forked, _fork_safe
    _first_use_lock = threading.Lock()  # another thread may have held any lock at the fork
    _parallel_lock = threading.Lock()
    _locks.clear()
    _warned_once.clear()
    _warned = _gave_up = False  # the child is a new process: it waits and warns for itself
    _forked, _fork_safe = True, None


os.register_at_fork(after_in_child=_after_fork_in_child)
