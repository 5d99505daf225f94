"""The one place where fastheat sets Numba options and guards Numba's on-disk cache.

* cache: compiled kernels are stored on disk, so a new data-loader worker loads them instead
  of compiling (see ``fastheat.warmup`` and README, "Cold start"). Where no cache location is
  writable (read-only install and home), kernels compile in memory instead of failing.
* ``nogil=True``: kernels release the GIL, so threads calling fastheat run concurrently.
* ``error_model="numpy"``: no Python exceptions from arithmetic; kernels never raise.
* ``fastmath=False``: every fast-math flag may change a rounding (``contract`` fuses into FMA,
  ``arcp``/``reassoc`` reorder, ``nnan``/``ninf`` drop checks) and fastheat must be bit-identical
  to its reference, so none is used.

It also holds ``first_use``, the inter-process lock around each kernel's first call, and
``prefetch``, the one LLVM intrinsic the kernels use.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import threading
import time
import types
import warnings
from typing import Callable, Hashable, Iterator

import numba
from llvmlite import ir
from numba.core import cgutils
from numba.extending import intrinsic

OPTIONS = {"nogil": True, "error_model": "numpy", "fastmath": False}


def _compile(func: Callable, **extra) -> Callable:
    dispatcher = numba.njit(**OPTIONS, **extra)(func)
    try:
        dispatcher.enable_caching()
    except RuntimeError:  # "no locator available": nowhere writable to cache; compile in memory
        pass
    return dispatcher


def jit(func: Callable) -> Callable:
    """Compile ``func`` as a serial kernel with fastheat's options."""
    return _compile(func)


def jit_parallel(func: Callable) -> Callable:
    """Compile ``func`` as a ``prange``-parallel kernel with fastheat's options.

    Numba names cache entries after the function and does not key them on ``parallel``: the
    serial and parallel kernels compiled from one function would load each other's code (a
    "serial" kernel that launches threads). The parallel one is compiled from a copy of the
    function with its own name.
    """
    copy = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_parallel",
                              func.__defaults__, func.__closure__)
    copy.__qualname__ = func.__qualname__ + "_parallel"
    copy.__module__ = func.__module__
    return _compile(copy, parallel=True)


@intrinsic
def prefetch(typingctx, array, row, column):
    """Start loading, for writing, the cache line that holds ``array[row, column]`` (2-D array).

    LLVM's ``llvm.prefetch``: a hint that changes no value and never faults, whatever the
    address. Call it with in-bounds indices all the same.
    """

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array_struct = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, array_struct, args[1:],
                                           wraparound=False)
        i32 = ir.IntType(32)
        function_type = ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32])
        function = cgutils.get_or_insert_function(builder.module, function_type, "llvm.prefetch.p0")
        builder.call(function, [pointer, i32(1), i32(3), i32(1)])  # write, keep in all caches, data
        return context.get_dummy_value()

    return numba.types.void(array, row, column), codegen


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


def _reset_after_fork() -> None:
    global _first_use_lock, _warned, _gave_up
    _first_use_lock = threading.Lock()  # another thread may have held it at the fork
    _warned = _gave_up = False  # the child is a new process: it waits and warns for itself


os.register_at_fork(after_in_child=_reset_after_fork)
