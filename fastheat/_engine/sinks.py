"""Where stamps are rendered: fresh maps, ``out=`` maps, or maps an encoder reuses.

Every family gets all three: the one-shot functions and ``SparseTargets.to_dense`` render into
fresh or ``out=`` maps (``dense``), encoders into ``ReusedMaps``, which clear only the cells
their previous call stamped (or everything, where that is cheaper). A family's cell fields
(``cells``) go wherever its maps go.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from . import cells as cell_fields
from .stamping import (CLEAR_ALL, CLEAR_PREVIOUS, TOUCH_PAGES, clearing_all_is_cheaper,
                       stamp_maps)
from .stamps import Stamps
from .validate import check_out


def check_out_of(family, spec, batch_size: int, out) -> tuple:
    """``out`` checked against the family's result: shapes and dtypes, field by field."""
    names, shapes, dtypes = family.fields(spec, batch_size)
    return check_out(out, shapes, dtypes, names)


#: Fresh maps and cell fields of at most this many bytes in all are allocated uninitialised
#: and cleared image by image as they are stamped (``CLEAR_ALL``, as ``out=`` maps); larger
#: ones are zeros that the OS provides page by page as they are first touched
#: (``TOUCH_PAGES``). Below glibc's largest threshold for mapping an allocation afresh (32
#: MiB), a new array reuses memory the process freed, such as the previous call's result:
#: zeroing it (calloc) wrote all of it before the kernel stamped it again, while clearing one
#: image at a time leaves it in cache for its stamps (``scripts/clear_modes.py`` measures
#: both ways side by side: README, "Fresh outputs and encoders' clearing"). Larger outputs
#: (TTFNet's 84 MiB) are always mapped afresh, and only their stamped pages need writing.
CLEARED_FRESH_BYTES = 32 << 20


def dense(family, spec, stamps: Stamps, slots: tuple, out, num_threads):
    """The family's result with ``stamps`` rendered into fresh maps, or into ``out``'s maps
    (``out`` already checked; its slot arrays must be ``slots`` or are overwritten by them)."""
    dense_count = family.dense(spec)
    if out is None:
        if family.map_bytes(spec, stamps.images) <= CLEARED_FRESH_BYTES:
            maps, clear = family.new_maps(spec, stamps.images, np.empty), CLEAR_ALL
        else:
            maps, clear = family.new_maps(spec, stamps.images), TOUCH_PAGES
    else:
        maps, clear = out[:dense_count], CLEAR_ALL
        for target, source in zip(out[dense_count:], slots):
            if target is not source:
                target[...] = source
        slots = out[dense_count:]
    stamp_maps(maps[:family.maps], stamps, spec.gaussian, num_threads, clear)
    write_fields(family, spec, maps[family.maps:], stamps, clear)
    return family.result_of(spec, (*maps, *slots))


class ReusedMaps:
    """An encoder's maps: allocated once (grown for a larger batch), then after each call
    cleared only where the previous call stamped, or whole where that costs less
    (``stamping.clearing_all_is_cheaper``: windows covering much of the maps).

    A forked child notices the new process id and starts over with its own buffers (the
    parent's are shared copy-on-write, and a parent thread may have held the lock).
    ``allocate(shape, dtype)``, if given, makes each zeroed map (e.g. in pinned memory).
    """

    def __init__(self, family, spec, allocate=None):
        self.family, self.spec, self.allocate = family, spec, allocate
        self._forget()

    def _forget(self) -> None:
        self.maps = None
        self.nbytes = 0  # the maps' bytes in all (summed per call it cost 1 us: small calls)
        self.previous = None  # the Stamps the maps hold; None: unknown
        self.views = None  # (maps, batch_size, readonly, views) of the last call
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def _new_maps(self, batch_size: int) -> tuple:
        if self.allocate is None:
            return self.family.new_maps(self.spec, batch_size)
        shapes = (self.family.map_shapes(self.spec, batch_size)
                  + self.family.cell_shapes(self.spec, batch_size))
        return tuple(self.allocate(shape, self.spec.dtype) for shape in shapes)

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
                self.nbytes = sum(buffer.nbytes for buffer in maps)
                clear = TOUCH_PAGES
            elif self.previous is None:  # a call failed: the buffers' contents are unknown
                clear = CLEAR_ALL
            elif clearing_all_is_cheaper(maps, self.nbytes, self.previous, self.spec.gaussian):
                clear = CLEAR_ALL
            else:
                clear = CLEAR_PREVIOUS
            previous, self.previous = self.previous, None
            count = self.family.maps
            stamp_maps(maps[:count], stamps, self.spec.gaussian, num_threads, clear, previous)
            write_fields(self.family, self.spec, maps[count:], stamps, clear, previous)
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


def write_fields(family, spec, fields, stamps: Stamps, clear: int, previous=None) -> None:
    """Clear, then write the cell fields and region fields ``fields`` (after the maps), the
    maps being cleared as ``clear`` (``stamping``) says: fresh zeros need no clearing, but
    region fields are filled (their fill need not be 0)."""
    layout = family.layout(spec)
    count = len(layout.cells)
    cell_fields.write_cells(fields[:count], layout.cells, stamps, _CELL_CLEAR[clear], previous)
    cell_fields.write_regions(fields[count:], layout.regions, spec, stamps,
                              _REGION_CLEAR[clear], previous)


#: How cell fields and region fields are cleared when the maps are cleared as ``stamping``
#: says.
_CELL_CLEAR = {TOUCH_PAGES: cell_fields.CLEAR_NOTHING, CLEAR_ALL: cell_fields.CLEAR_ALL,
               CLEAR_PREVIOUS: cell_fields.CLEAR_PREVIOUS}
_REGION_CLEAR = {**_CELL_CLEAR, TOUCH_PAGES: cell_fields.CLEAR_ALL}
