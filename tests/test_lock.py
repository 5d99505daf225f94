"""The inter-process first-use lock: private location, no symbolic links, bounded wait.

Tests that need a fresh process run a small script with ``HOME``, ``XDG_CACHE_HOME`` and
``TMPDIR`` pointing into the test's temporary directory, so nothing outside it is touched (the
lock of other fastheat processes on this machine included). Every test is bounded by a timeout.
"""

import fcntl
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from fastheat._engine import runtime

TIMEOUT = 240

FIRST_CALL = textwrap.dedent("""
    import json, time, warnings
    import fastheat
    from fastheat._engine import runtime
    from fastheat.workloads import coco_like_detections

    waits = []  # seconds spent in each wait for the lock
    acquire = runtime._acquire

    def timed_acquire(*args):
        start = time.monotonic()
        try:
            return acquire(*args)
        finally:
            waits.append(time.monotonic() - start)

    runtime._acquire = timed_acquire
    detections = coco_like_detections(0, batch_size=2, num_classes=3, input_size=(64, 64),
                                      boxes_per_image=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.monotonic()
        maps = fastheat.encode_corners(detections, batch_size=2, num_classes=3,
                                       input_size=(64, 64), output_size=(16, 16))
        seconds = time.monotonic() - start
    print(json.dumps({"waits": waits, "seconds": seconds, "peak": float(maps.tl_heatmaps.max()),
                      "warnings": [str(w.message) for w in caught
                                   if issubclass(w.category, RuntimeWarning)]}))
""")


def environment(tmp_path, **extra):
    """A subprocess environment whose home, cache home and temp dir are under ``tmp_path``."""
    for name in ("home", "xdg", "tmp"):
        (tmp_path / name).mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "TMPDIR": str(tmp_path / "tmp")}
    env.pop("FASTHEAT_LOCK_TIMEOUT", None)
    env.update(extra)
    return env


def first_call(env):
    """Run a fresh process's first ``encode_corners`` call; its measurements and warnings."""
    done = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, capture_output=True,
                          text=True, timeout=TIMEOUT - 30)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak"] == 1.0  # the call did its work
    return result


def private_lock_dir(tmp_path):
    directory = tmp_path / "xdg" / "fastheat"
    directory.mkdir(parents=True, mode=0o700)
    return directory


@pytest.fixture
def fresh_state(monkeypatch, tmp_path):
    """This process as if it had not warned nor given up on the lock; lock under ``tmp_path``."""
    monkeypatch.setattr(runtime, "_warned", False)
    monkeypatch.setattr(runtime, "_gave_up", False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("FASTHEAT_LOCK_TIMEOUT", raising=False)
    (tmp_path / "xdg").mkdir()


def run_first_use():
    """Enter ``first_use`` for a new key; the RuntimeWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ran = False
        with runtime.first_use(object()):
            ran = True
    assert ran
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.timeout(TIMEOUT)
def test_symlink_at_the_old_temp_path_is_not_followed(tmp_path):
    """The lock used to be ``$TMPDIR/fastheat-numba-<uid>.lock``, opened following links."""
    env = environment(tmp_path)
    target = tmp_path / "planted-target"
    (tmp_path / "tmp" / f"fastheat-numba-{os.getuid()}.lock").symlink_to(target)
    result = first_call(env)
    assert not os.path.lexists(target)
    assert result["warnings"] == []
    lock = tmp_path / "xdg" / "fastheat" / "numba-cache.lock"
    assert stat.S_IMODE(lock.parent.stat().st_mode) == 0o700
    assert stat.S_ISREG(lock.lstat().st_mode) and stat.S_IMODE(lock.stat().st_mode) == 0o600


@pytest.mark.timeout(TIMEOUT)
def test_symlink_at_the_lock_path_is_refused(tmp_path):
    env = environment(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    victim.chmod(0o644)
    before = victim.stat()
    (private_lock_dir(tmp_path) / "numba-cache.lock").symlink_to(victim)
    dangling = tmp_path / "not-created"
    (tmp_path / "other-xdg" / "fastheat").mkdir(parents=True, mode=0o700)
    (tmp_path / "other-xdg" / "fastheat" / "numba-cache.lock").symlink_to(dangling)

    result = first_call(env)
    assert victim.read_text() == "keep"
    after = victim.stat()
    assert (after.st_mode, after.st_size, after.st_mtime_ns) == (
        before.st_mode, before.st_size, before.st_mtime_ns)
    assert len(result["warnings"]) == 1 and "symbolic link" in result["warnings"][0]

    first_call({**env, "XDG_CACHE_HOME": str(tmp_path / "other-xdg")})
    assert not os.path.lexists(dangling)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", ["group-writable", "other-writable", "other owner",
                                  "symlink to a private dir", "lock is a fifo",
                                  "lock owned by another uid"])
def test_unsafe_lock_location_is_refused(tmp_path, monkeypatch, fresh_state, case):
    directory = tmp_path / "xdg" / "fastheat"
    if case == "symlink to a private dir":
        real = tmp_path / "elsewhere"
        real.mkdir(mode=0o700)
        directory.symlink_to(real)
        inside = real
    else:
        directory.mkdir(mode=0o700)
        inside = directory
    lock = directory / "numba-cache.lock"
    if case == "group-writable":
        directory.chmod(0o770)
    elif case == "other-writable":
        directory.chmod(0o703)
    elif case == "other owner":
        real_euid = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real_euid + 1)
    elif case == "lock is a fifo":
        os.mkfifo(lock, 0o600)
    elif case == "lock owned by another uid":
        if os.geteuid() != 0:
            pytest.skip("giving a file to another uid needs root")
        lock.touch(mode=0o600)
        os.chown(lock, os.geteuid() + 1, -1)
    before = sorted(os.listdir(inside))

    messages = run_first_use() + run_first_use()
    assert len(messages) == 1  # once per process
    assert "without the inter-process lock" in messages[0]
    assert sorted(os.listdir(inside)) == before  # nothing created in a refused directory


@pytest.mark.timeout(60)
def test_lock_is_private_and_held_during_the_body(tmp_path, fresh_state):
    lock = tmp_path / "xdg" / "fastheat" / "numba-cache.lock"
    assert runtime.lock_path() == str(lock)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with runtime.first_use(object()):
            assert stat.S_IMODE(lock.parent.stat().st_mode) == 0o700
            assert stat.S_IMODE(lock.stat().st_mode) == 0o600
            other = os.open(lock, os.O_RDWR)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(other)
        other = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released after the body
        finally:
            os.close(other)


@pytest.mark.timeout(60)
def test_unwritable_home_goes_unlocked_silently(tmp_path, monkeypatch, fresh_state):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "xdg"))
    assert run_first_use() == []


@pytest.mark.timeout(60)
def test_held_lock_wait_is_bounded_in_process(tmp_path, monkeypatch, fresh_state):
    """A lock held by another open file: wait the bound once, warn once, then stop waiting."""
    monkeypatch.setenv("FASTHEAT_LOCK_TIMEOUT", "0.5")
    lock = private_lock_dir(tmp_path) / "numba-cache.lock"
    holder = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        start = time.monotonic()
        first = run_first_use()
        waited = time.monotonic() - start
        start = time.monotonic()
        second = run_first_use()
        again = time.monotonic() - start
    finally:
        os.close(holder)
    assert 0.5 <= waited <= 0.5 + 3
    assert again < 0.5  # gave up: later first uses do not wait the bound again
    assert len(first) == 1 and str(lock) in first[0] and second == []
    assert run_first_use() == []  # lock free again: taken, no warning


HOLDER = textwrap.dedent("""
    import fcntl, os, sys, time
    descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(600)
""")


@pytest.mark.timeout(TIMEOUT)
def test_held_lock_delays_a_fresh_process_by_at_most_the_bound(tmp_path):
    env = environment(tmp_path, FASTHEAT_LOCK_TIMEOUT="2")
    lock = private_lock_dir(tmp_path) / "numba-cache.lock"
    first_call(environment(tmp_path))  # warm Numba's cache, so the timed call only loads
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = first_call(env)
        assert holder.poll() is None  # held throughout
    finally:
        holder.kill()
        holder.wait()
    waits = result["waits"]
    assert max(waits) >= 2 - 0.1, result  # it did wait for the holder
    assert sum(waits) <= 2 + 3, result  # and no longer than the bound, over all first uses
    assert len(result["warnings"]) == 1, result
    assert str(lock) in result["warnings"][0]
    assert "without the inter-process lock" in result["warnings"][0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("setting", ["soon", "-1", "nan", "inf", "1e999", "2 s"])
def test_invalid_lock_timeout_is_a_clear_error(monkeypatch, fresh_state, setting):
    monkeypatch.setenv("FASTHEAT_LOCK_TIMEOUT", setting)
    with pytest.raises(ValueError, match="FASTHEAT_LOCK_TIMEOUT"):
        runtime.lock_timeout()
    with pytest.raises(ValueError, match="FASTHEAT_LOCK_TIMEOUT"):
        with runtime.first_use(object()):
            pass
    monkeypatch.setenv("FASTHEAT_LOCK_TIMEOUT", "1")
    assert run_first_use() == []  # nothing left held by the failed attempt


@pytest.mark.timeout(60)
def test_lock_timeout_setting(monkeypatch):
    monkeypatch.delenv("FASTHEAT_LOCK_TIMEOUT", raising=False)
    assert runtime.lock_timeout() == runtime.LOCK_TIMEOUT == 30
    for setting, seconds in [("0", 0), ("2.5", 2.5), (" 7 ", 7), ("", 30)]:
        monkeypatch.setenv("FASTHEAT_LOCK_TIMEOUT", setting)
        assert runtime.lock_timeout() == seconds
