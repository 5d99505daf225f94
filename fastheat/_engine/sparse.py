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
from .runtime import check_num_threads
from .spec import SLOTS, MapSpec
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
        """Pickle compactly (what crosses a DataLoader's pipe): the points (and clips) in int32,
        and the slot arrays without their trailing all-zero slots, or, for a family that
        derives its slot arrays from its stamps (``Family.pack_slots``), what it needs to
        derive them; restored exactly."""
        family = FAMILIES[self.family]
        points = self.stamps.points.astype(np.int32)  # they fit: see Stamps
        clips = None if self.stamps.clips is None else self.stamps.clips.astype(np.int32)
        stamps = (self.stamps.starts, points, self.stamps.max_radius, self.stamps.cells, clips,
                  self.stamps.centres, self.stamps.lines)
        if family.pack_slots is not None:
            packed = family.pack_slots(self.spec, self.stamps, self.slots)
            return _unpack, (self.family, self.spec, stamps, packed)
        slotted = [bool(dims) and dims[0] == SLOTS for dims in family.layout(self.spec).dims]
        used = 0
        for slot, has_slots in zip(self.slots, slotted):
            if has_slots and slot.size:  # slots holding a nonzero byte in any image
                bytes_per_image = slot.reshape(slot.shape[0], -1).view(np.uint8)
                per_slot = bytes_per_image.max(axis=0).reshape(slot.shape[1], -1).max(axis=1)
                nonzero = np.flatnonzero(per_slot)
                used = max(used, int(nonzero[-1]) + 1 if nonzero.size else 0)
        slots = tuple(slot[:, :used] if has_slots else slot
                      for slot, has_slots in zip(self.slots, slotted))
        return _restore, (self.family, self.spec, stamps, slots, slotted)

    def to_dense(self, out=None, *, num_threads: int | None = None):
        """The dense result, bit-identical to the dense call's (same named tuple and dtypes).

        Parameters
        ----------
        out : result or tuple of arrays, optional
            Arrays of the result's shapes and dtypes, overwritten entirely and returned.
        num_threads : int, optional
            As for the encode functions.
        """
        family = FAMILIES[self.family]
        threads = check_num_threads(num_threads)
        if out is None:
            family.check_batch_size(self.spec, self.batch_size)
            slots = tuple(slot.copy() for slot in self.slots)
        else:
            out = sinks.check_out_of(family, self.spec, self.batch_size, out)
            slots = self.slots
        return sinks.dense(family, self.spec, self.stamps, slots, out, threads)


def _stamps_of(stamps) -> Stamps:
    """The ``Stamps`` pickled by ``SparseTargets.__reduce__``: int64 points (and clips)."""
    starts, points, max_radius, cells, clips, centres, lines = stamps
    clips = None if clips is None else clips.astype(np.int64)
    return Stamps(starts, points.astype(np.int64), max_radius, cells, clips, centres, lines)


def _unpack(family, spec, stamps, packed) -> SparseTargets:
    """Undo ``SparseTargets.__reduce__`` for a family that packs its slot arrays."""
    stamps = _stamps_of(stamps)
    return SparseTargets(family, spec, stamps, FAMILIES[family].unpack_slots(spec, stamps, packed))


def _restore(family, spec, stamps, slots, slotted) -> SparseTargets:
    """Undo ``SparseTargets.__reduce__``: the stamps, slot arrays padded back with zeros."""
    full = []
    for slot, has_slots in zip(slots, slotted):
        if has_slots and slot.shape[1] != spec.max_slots:
            padded = np.zeros((slot.shape[0], spec.max_slots, *slot.shape[2:]), slot.dtype)
            padded[:, :slot.shape[1]] = slot
            slot = padded
        full.append(slot)
    return SparseTargets(family, spec, _stamps_of(stamps), tuple(full))


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
        if not isinstance(item, SparseTargets):
            raise TypeError(f"items[{k}] is {type(item).__name__}, not SparseTargets")
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
                    _joined([item.stamps.clips for item in items]),
                    _joined([item.stamps.centres for item in items]),
                    _joined([item.stamps.lines for item in items]))
    slots = tuple(np.concatenate(fields) for fields in zip(*(item.slots for item in items)))
    return SparseTargets(first.family, first.spec, stamps, slots)


def _joined(arrays):
    """The optional per-point arrays of collated stamps (one family: all None or none)."""
    return None if arrays[0] is None else np.concatenate(arrays)
