"""``SparseTargets``: a batch's targets without the dense maps, to cross a process boundary.

Every family's ``encode_*(..., sparse=True)`` returns one: the ``Stamps`` (per point its map,
channel, grid cell and radius) and the slot arrays, tens of kilobytes where the dense maps are
hundreds of megabytes. The process that trains renders them: ``to_dense`` (fresh or ``out=``
maps), an encoder's ``render`` (reused maps, sparse reset) or ``fastheat.torch.to_dense``.
``collate`` merges per-image (or per-chunk) sparse targets into one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import sinks
from .registry import FAMILIES
from .parallel import check_num_threads
from .spec import SLOTS, MapSpec
from .sparse_check import OPTIONAL_ARRAYS, check_sparse, check_stamps
from .stamps import Stamps


@dataclass(frozen=True, eq=False, repr=False)
class SparseTargets:
    """The stamps and slot arrays of one batch of one family's targets (picklable).

    Attributes
    ----------
    family : str
        The family's name (``"corners"``, ``"cornernet"``, ``"centernet"``, ...).
    spec : MapSpec
        The options it was encoded with.
    stamps : Stamps
        What the dense maps hold: per point ``(map, channel, x, y, radius)``, grouped by image.
    slots : tuple of numpy.ndarray
        The result's fields after the maps (empty for ``encode_corners``), final as they are.
    """

    family: str
    spec: MapSpec
    stamps: Stamps
    slots: tuple

    @property
    def batch_size(self) -> int:
        return self.stamps.images

    def __repr__(self) -> str:
        return (f"SparseTargets(family={self.family!r}, batch_size={self.batch_size}, "
                f"points={len(self.stamps.points)}, slots={len(self.slots)})")

    def __reduce__(self):
        """Pickle compactly (what crosses a DataLoader's pipe): the points (and the optional
        arrays of cells, such as clips) in int16 or int32 (``_narrow``), and of the slot arrays
        only the slots holding a nonzero byte in some field, and their indices, or, for a
        family that derives its slot arrays from its stamps (``Family.pack_slots``), what it
        needs to derive them; restored exactly. Checked first (``check_sparse``): a corrupted
        batch is refused where it is made."""
        check_sparse(self, "pickled targets")
        family = FAMILIES[self.family]
        arrays = {}  # the optional per-point arrays, cells narrowed as the points
        for name, (_, _, values) in OPTIONAL_ARRAYS.items():
            array = getattr(self.stamps, name)
            if array is not None:
                arrays[name] = _narrow(array) if values == "cells" else array
        stamps = (self.stamps.starts, _narrow(self.stamps.points), self.stamps.max_radius,
                  self.stamps.cells, arrays)
        if family.pack_slots is not None:
            packed = family.pack_slots(self.spec, self.stamps, self.slots)
            return _unpack, (self.family, self.spec, stamps, packed)
        dims = [tuple(field) if SLOTS in field else None for field in family.layout(self.spec).dims]
        rows = [None if field is None else _slot_rows(slot, field)
                for slot, field in zip(self.slots, dims)]
        used = None  # per slot (the axes up to the slots' flattened): any nonzero byte
        for row in rows:
            if row is not None:
                nonzero = row.view(np.uint8).any(axis=1)
                used = nonzero if used is None else used | nonzero
        kept = np.zeros(0, np.int64) if used is None else np.flatnonzero(used)
        kept = _narrow(kept) if used is None or used.size < 2**31 else kept
        slots = tuple(slot if row is None else row[kept] for slot, row in zip(self.slots, rows))
        shapes = [slot.shape for slot in self.slots]
        return _restore, (self.family, self.spec, stamps, slots, dims, kept, shapes)

    def to_dense(self, out=None, *, num_threads: int | None = None):
        """The dense result, bit-identical to the dense call's (same named tuple and dtypes).

        Parameters
        ----------
        out : result or tuple of arrays, optional
            Arrays of the result's shapes and dtypes, overwritten entirely and returned.
        num_threads : int, optional
            As for the encode functions.
        """
        check_sparse(self)
        family = FAMILIES[self.family]
        threads = check_num_threads(num_threads)
        if out is None:
            family.check_batch_size(self.spec, self.batch_size)
            slots = tuple(slot.copy() for slot in self.slots)
        else:
            out = sinks.check_out_of(family, self.spec, self.batch_size, out)
            slots = self.slots
        return sinks.dense(family, self.spec, self.stamps, slots, out, threads)


def _narrow(values: np.ndarray) -> np.ndarray:
    """int64 ``values`` as int16 if they fit, else int32 (points and clips fit: see ``Stamps``;
    slot indices below 2**31)."""
    small = values.size == 0 or (values.min() >= -2**15 and values.max() < 2**15)
    return values.astype(np.int16 if small else np.int32)


def _slot_rows(slot: np.ndarray, dims) -> np.ndarray:
    """``slot`` (a field whose ``dims`` hold ``SLOTS``) as a 2-D C-contiguous array, one row
    per slot of every image (and group): its axes up to the slots' flattened."""
    axis = 2 + list(dims).index(SLOTS)
    shape = (int(np.prod(slot.shape[:axis])), int(np.prod(slot.shape[axis:])))
    return np.ascontiguousarray(slot).reshape(shape)


def _stamps_of(stamps) -> Stamps:
    """The ``Stamps`` pickled by ``SparseTargets.__reduce__``: int64 points (and cells)."""
    try:
        starts, points, max_radius, cells, arrays = stamps
    except (TypeError, ValueError):
        raise ValueError("unpickled targets: their stamps are not (starts, points, max_radius, "
                         "cells, arrays), as fastheat pickles them") from None
    if not isinstance(arrays, dict):
        raise ValueError("unpickled targets: their optional per-point arrays are not a dict")
    arrays = {name: _widened(arrays.get(name)) if values == "cells" else arrays.get(name)
              for name, (_, _, values) in OPTIONAL_ARRAYS.items()}
    return Stamps(starts, _widened(points), max_radius, cells, **arrays)


def _unpack(family, spec, stamps, packed) -> SparseTargets:
    """Undo ``SparseTargets.__reduce__`` for a family that packs its slot arrays: the stamps
    are checked before the family derives the slot arrays from them, then the whole."""
    stamps = _stamps_of(stamps)
    check_stamps(family, spec, stamps, "unpickled targets")
    targets = SparseTargets(family, spec, stamps,
                            FAMILIES[family].unpack_slots(spec, stamps, packed))
    check_sparse(targets, "unpickled targets")
    return targets


def _restore(family, spec, stamps, slots, dims, kept, shapes) -> SparseTargets:
    """Undo ``SparseTargets.__reduce__``: the stamps, the kept slots put back in zeroed slot
    arrays; then check them (``check_sparse``): what was pickled may have been changed on the
    way."""
    stamps = _stamps_of(stamps)
    full = []
    for slot, field, shape in zip(slots, dims, shapes):
        if field is not None:
            try:
                whole = np.zeros(shape, slot.dtype)
                rows = _slot_rows(whole, field)  # a view of ``whole``
                rows[kept] = slot
            except (TypeError, ValueError, IndexError, AttributeError) as error:
                raise ValueError(f"unpickled targets: a slot array does not fit its recorded "
                                 f"shape {shape} ({error})") from None
            slot = whole
        full.append(slot)
    targets = SparseTargets(family, spec, stamps, tuple(full))
    check_sparse(targets, "unpickled targets")
    return targets


def _widened(array):
    """The int16 or int32 points or cells (``clips``, ...) of ``__reduce__`` back in int64;
    anything else as it is (for the check to name)."""
    if isinstance(array, np.ndarray) and array.dtype in (np.int16, np.int32):
        return array.astype(np.int64)
    return array


def collate(items) -> SparseTargets:
    """Merge sparse targets of one family and options, in order, into one batch.

    Image ``i`` of item ``k`` becomes image ``sum(batch sizes of items before k) + i``: the
    result equals encoding all the items' detections as one batch. Use it as a DataLoader's
    ``collate_fn`` when ``__getitem__`` returns ``encode_*(..., sparse=True)`` per image.

    Raises
    ------
    TypeError, ValueError
        If ``items`` is empty or holds anything but ``SparseTargets`` of the first item's
        family and options (naming the first offending item).
    """
    items = list(items)
    if not items:
        raise ValueError("collate needs at least one SparseTargets")
    first = items[0]
    for k, item in enumerate(items):
        check_sparse(item, f"items[{k}]")
        if item.family != first.family:
            raise ValueError(f"items[{k}] is of the {item.family!r} family, items[0] of "
                             f"{first.family!r}")
        different = first.spec.differences(item.spec)
        if different:
            raise ValueError(f"items[{k}] was encoded with other {', '.join(different)} than "
                             "items[0]")
    counts = np.cumsum([0] + [len(item.stamps.points) for item in items])
    starts = np.concatenate([item.stamps.starts[:-1] + offset
                             for item, offset in zip(items, counts[:-1])] + [counts[-1:]])
    stamps = Stamps(starts, np.concatenate([item.stamps.points for item in items]),
                    max(item.stamps.max_radius for item in items),
                    sum(item.stamps.cells for item in items),
                    **{name: _joined([getattr(item.stamps, name) for item in items])
                       for name in OPTIONAL_ARRAYS})
    slots = tuple(np.concatenate(fields) for fields in zip(*(item.slots for item in items)))
    return SparseTargets(first.family, first.spec, stamps, slots)


def _joined(arrays):
    """The optional per-point arrays of collated stamps (one family: all None or none)."""
    return None if arrays[0] is None else np.concatenate(arrays)
