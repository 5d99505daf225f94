"""Where stamps are rendered: fresh maps, ``out=`` maps, or maps an encoder reuses.

Every family gets all three: the one-shot functions and ``SparseTargets.to_dense`` render into
fresh or ``out=`` maps (``dense``), encoders into ``ReusedMaps``, which clear only the cells
their previous call stamped.
"""

from __future__ import annotations

import os
import threading

from .stamping import CLEAR_ALL, CLEAR_PREVIOUS, TOUCH_PAGES, stamp_maps
from .stamps import Stamps
from .validate import check_out


def check_out_of(family, spec, batch_size: int, out) -> tuple:
    """``out`` checked against the family's result: shapes and dtypes, field by field."""
    names, shapes, dtypes = family.fields(spec, batch_size)
    return check_out(out, shapes, dtypes, names)


def dense(family, spec, stamps: Stamps, slots: tuple, out, num_threads):
    """The family's result with ``stamps`` rendered into fresh maps, or into ``out``'s maps
    (``out`` already checked; its slot arrays must be ``slots`` or are overwritten by them)."""
    if out is None:
        maps, clear = family.new_maps(spec, stamps.images), TOUCH_PAGES
    else:
        maps, clear = out[:family.maps], CLEAR_ALL
        for target, source in zip(out[family.maps:], slots):
            if target is not source:
                target[...] = source
        slots = out[family.maps:]
    stamp_maps(maps, stamps, spec.gaussian, num_threads, clear)
    return family.result_of(spec, (*maps, *slots))


class ReusedMaps:
    """An encoder's maps: allocated once (grown for a larger batch), then after each call
    cleared only where the previous call stamped.

    A forked child notices the new process id and starts over with its own buffers (the
    parent's are shared copy-on-write, and a parent thread may have held the lock).
    ``allocate(shape, dtype)``, if given, makes each zeroed map (e.g. in pinned memory).
    """

    def __init__(self, family, spec, allocate=None):
        self.family, self.spec, self.allocate = family, spec, allocate
        self._forget()

    def _forget(self) -> None:
        self.maps = None
        self.previous = None  # the Stamps the maps hold; None: unknown
        self.views = None  # (maps, batch_size, readonly, views) of the last call
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def _new_maps(self, batch_size: int) -> tuple:
        if self.allocate is None:
            return self.family.new_maps(self.spec, batch_size)
        return tuple(self.allocate(shape, self.spec.dtype)
                     for shape in self.family.map_shapes(self.spec, batch_size))

    def render(self, stamps: Stamps, batch_size: int, num_threads, copy: bool, owner: str,
               readonly: bool = True):
        """Clear, stamp and return the first ``batch_size`` images of every map: views,
        read-only unless ``readonly`` is False (fresh arrays with ``copy``). One call at a
        time: another thread's concurrent call is a ``RuntimeError`` naming ``owner``."""
        if self.pid != os.getpid():
            self._forget()
        if not self.lock.acquire(blocking=False):
            raise RuntimeError(f"this {owner} is already encoding in another thread: use one "
                               "encoder per thread")
        try:
            maps = self.maps
            if maps is None or maps[0].shape[0] < batch_size:
                self.maps = maps = self._new_maps(batch_size)
                clear = TOUCH_PAGES
            elif self.previous is None:  # a call failed: the buffers' contents are unknown
                clear = CLEAR_ALL
            else:
                clear = CLEAR_PREVIOUS
            previous, self.previous = self.previous, None
            stamp_maps(maps, stamps, self.spec.gaussian, num_threads, clear, previous)
            self.previous = stamps
            if copy:
                return [buffer[:batch_size].copy() for buffer in maps]
            return self._views(maps, batch_size, readonly)
        finally:
            self.lock.release()

    def _views(self, maps, batch_size: int, readonly: bool) -> list:
        """The first ``batch_size`` images of every map, the same view objects while the
        buffers and the batch size stay (they are valid until the next call either way)."""
        if self.views is None or self.views[0] is not maps or self.views[1:3] != (batch_size, readonly):
            views = [buffer[:batch_size] for buffer in maps]
            for view in views:
                view.flags.writeable = not readonly
            self.views = (maps, batch_size, readonly, views)
        return self.views[3]
