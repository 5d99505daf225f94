"""Running kernels in a process: the first-use lock, named process locks, once-only warnings.

**First use.** The first call of a kernel in a process compiles it or loads it from Numba's
on-disk cache, and Numba does not lock its cache index: data-loader workers started together
could race on it. ``call`` runs each kernel's first call (per key) under a thread lock and an
inter-process file lock in a private per-user directory (``lock_path``), waiting at most
``lock_timeout()`` seconds; later calls take no lock.

**Fork.** An at-fork hook resets every lock of this module (another thread may have held one
at the fork) and what it has said and waited for: the child is a new process. The thread
policy and its fork handling are ``parallel``'s, the profiling hook ``profiling``'s.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import sys
import threading
import time
import types
import warnings
from typing import Callable, Hashable, Iterator

_first_use_lock = threading.Lock()
_ready: set = set()
_warned = False  # this process already said it compiles without the inter-process lock
_gave_up = False  # a wait for the lock timed out: later first uses do not wait again
_locks: dict[str, threading.Lock] = {}

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




def _after_fork_in_child() -> None:
    global _first_use_lock, _warned, _gave_up
    _first_use_lock = threading.Lock()  # another thread may have held any lock at the fork
    _locks.clear()
    _warned_once.clear()
    _warned = _gave_up = False  # the child is a new process: it waits and warns for itself


os.register_at_fork(after_in_child=_after_fork_in_child)
