"""Sparse targets checked at the door, before anything is rendered from them.

Sparse targets cross process boundaries (DataLoader workers, custom collate functions, caches on
disk), so whatever renders them trusts nothing they hold: ``check_sparse`` runs at every way
into rendering (``SparseTargets.to_dense``, ``Encoder.render``, ``fastheat.collate``,
``fastheat.torch.to_dense`` and ``Renderer``, pickling and unpickling) and raises a
``ValueError`` (a ``TypeError`` for a wrong type) naming the field and its first bad point
before anything is written. What passes describes a batch of the family and spec it names, so
the kernels' accesses stay in bounds:

* ``family`` a registered family, ``spec`` of its spec type, with positive map sizes (label
  maps, ``tables``: no channels too), a float32
  or float64 dtype and ``max_slots >= 0``;
* ``stamps.starts`` int64 ``(B + 1,)``, ``B >= 1``, non-decreasing from 0 to the number of points;
* ``stamps.points`` int64 ``(n, 5)``: maps in ``[0, family.maps)``, channels in ``[0, C)``, grid
  cells and radii below 2**31 in magnitude, radii >= 0; ``max_radius`` their true maximum (-1
  without points: the tables grow to it); ``cells`` an int >= 0 (a work estimate);
* the optional per-point arrays (``OPTIONAL_ARRAYS``: ``clips``, ``centres``, ...) present
  exactly when the family's stamps of this spec have them (``Family.stamp_arrays``), each of
  its dtype and ``(n, columns)`` shape, cells within +-2**31, floats finite where they must be;
  then the family's own invariants of them, if it declares any (``Family.check_stamps``);
* the slot arrays, one per field of the spec's result after the maps, each of the family's
  dtype and shape with ``B`` images.

The per-point part is one compiled pass over the points (and a vectorised NumPy test per
optional array): O(points), a few microseconds for a COCO-size CornerNet batch
(benchmarks/test_bench_handoff.py measures it against rendering).
"""

from __future__ import annotations

import functools

import numpy as np

from .jit import jit
from .registry import FAMILIES
from .runtime import call
from .stamps import CHANNEL, COLUMNS, MAP, RADIUS, X, Y, Stamps
from .tables import is_label
from .validate import MAX_GRID_COORD

_INT64, _FLOAT64 = np.dtype(np.int64), np.dtype(np.float64)

#: The optional per-point arrays of ``Stamps``: name -> (dtype, columns, what each value must
#: be: ``"cells"`` below 2**31 in magnitude, ``"finite"``, or ``"any"``); ``columns`` None: any
#: count (the family's ``check_stamps`` checks it).
OPTIONAL_ARRAYS = {
    "clips": (_INT64, 4, "cells"),
    "centres": (_FLOAT64, 2, "finite"),
    "cell_values": (np.dtype(np.float32), None, "any"),
    "regions": (_INT64, 4, "cells"),
    "lines": (_FLOAT64, 5, "finite"),
}

# What ``_point_problem`` reports, in the order a point's fields are checked.
STARTS_FIRST, STARTS_ORDER, STARTS_LAST = 1, 2, 3
MAP_OUTSIDE, CHANNEL_OUTSIDE, X_BEYOND, Y_BEYOND, RADIUS_OUTSIDE = 4, 5, 6, 7, 8
_PROBLEMS = {
    MAP_OUTSIDE: "has map {value} outside [0, {maps})",
    CHANNEL_OUTSIDE: "has channel {value} outside [0, {channels})",
    X_BEYOND: "has x = {value} beyond +-2**31",
    Y_BEYOND: "has y = {value} beyond +-2**31",
    RADIUS_OUTSIDE: "has radius {value} outside [0, 2**31)",
}


@jit
def _point_problem(starts, points, map_channels):
    """Check ``starts`` and every point (map ``m`` has ``map_channels[m]`` channels): ``(code,
    where, max_radius)``, the first problem's code (0: none) and its index (into ``starts`` or
    the points), else the points' largest radius."""
    n = points.shape[0]
    if starts[0] != 0:
        return STARTS_FIRST, 0, -1
    for b in range(starts.size - 1):
        if starts[b + 1] < starts[b]:
            return STARTS_ORDER, b + 1, -1
    if starts[starts.size - 1] != n:
        return STARTS_LAST, starts.size - 1, -1
    bound = MAX_GRID_COORD
    max_radius = -1
    for j in range(n):
        code = 0
        if not 0 <= points[j, MAP] < map_channels.size:
            code = MAP_OUTSIDE
        elif not 0 <= points[j, CHANNEL] < map_channels[points[j, MAP]]:
            code = CHANNEL_OUTSIDE
        elif not -bound < points[j, X] < bound:
            code = X_BEYOND
        elif not -bound < points[j, Y] < bound:
            code = Y_BEYOND
        elif not 0 <= points[j, RADIUS] < bound:
            code = RADIUS_OUTSIDE
        if code:
            return code, j, -1
        max_radius = max(max_radius, points[j, RADIUS])
    return 0, 0, max_radius


def _check_array(name: str, field: str, value, dtype: np.dtype, shape: tuple,
                 expected: str | None = None) -> None:
    """``name.field`` (``value``) is an ndarray of ``dtype`` and ``shape`` (said ``expected``
    in messages, default ``shape`` itself: only built on failure, every door runs this)."""
    if type(value) is np.ndarray and value.dtype == dtype and value.shape == shape:
        return
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}.{field} must be a numpy array, got {type(value).__name__}")
    raise ValueError(f"{name}.{field} is {value.dtype} {value.shape}, expected {dtype} "
                     f"{expected or shape}")


def _rows(array, columns) -> tuple:
    """The shape ``array`` has if it is ``(n, columns)`` (None: any count), for
    ``_check_array``."""
    if getattr(array, "ndim", 0) != 2:
        return (-1, -1)
    return (array.shape[0], array.shape[1] if columns is None else columns)


class _Expected:
    """What sparse targets of one family and spec must be, once the spec is known good."""

    def __init__(self, family, spec, name: str):
        if not isinstance(spec, family.spec_type):
            raise TypeError(f"{name}.spec is a {type(spec).__name__}, not the "
                            f"{family.spec_type.__name__} of the {family.name!r} family")
        _, self.channels, self.height, self.width = shape = spec.map_shape(1)
        # label maps (SimCC: channels are instances) may have none: no point can then pass
        least = (0, 1, 1) if is_label(spec.gaussian) else (1, 1, 1)
        if not all(isinstance(size, int) and low <= size < MAX_GRID_COORD
                   for size, low in zip(shape[1:], least)):
            raise ValueError(f"{name}.spec describes maps of (channels, height, width) = "
                             f"{shape[1:]}: each must be an int in [{least[0]}, 2**31) "
                             "([1, 2**31) for height and width)")
        if spec.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name}.spec has dtype {spec.dtype}, not float32 or float64")
        if not isinstance(spec.max_slots, int) or spec.max_slots < 0:
            raise ValueError(f"{name}.spec has max_slots={spec.max_slots!r}, not an int >= 0")
        self.map_channels = np.array([shape[1] for shape in family.map_shapes(spec, 1)],
                                     np.int64)
        self.spec = spec  # (kept: its id stays its own while it is cached)
        present = set(family.stamp_arrays(spec))
        self.absent = [field for field in OPTIONAL_ARRAYS if field not in present]
        self.present = [(field, *OPTIONAL_ARRAYS[field]) for field in OPTIONAL_ARRAYS
                        if field in present]
        layout = family.layout(spec)
        dense = family.dense(spec)  # the maps, then the cell and region fields
        self.slots = [(f"slots ({field})", shape, dtype) for field, shape, dtype
                      in zip(layout.result._fields[dense:], layout.shapes, layout.dtypes)]
        self._slots_of = {}  # batch size -> the slots with their whole shapes
        # the columns of Stamps.cell_values that the cell and region fields read
        self.value_columns = max([cell.column + cell.channels for cell in layout.cells]
                                 + [region.column + region.width + region.weighted
                                    for region in layout.regions], default=0)


    def slots_of(self, images: int) -> list:
        """``slots`` with the batch axis of ``images`` images in their shapes."""
        slots = self._slots_of.get(images)
        if slots is None:
            if len(self._slots_of) >= 16:
                self._slots_of.clear()
            slots = self._slots_of[images] = [(field, (images, *shape), dtype)
                                              for field, shape, dtype in self.slots]
        return slots


_EXPECTED: dict = {}  # (family name, id(spec)) -> _Expected


def _expected(family, spec, name: str) -> _Expected:
    key = (family.name, id(spec))
    expected = _EXPECTED.get(key)
    if expected is None or expected.spec is not spec:
        expected = _Expected(family, spec, name)
        if len(_EXPECTED) >= 64:
            _EXPECTED.clear()
        _EXPECTED[key] = expected
    return expected


@functools.cache
def _sparse_targets() -> type:
    from .sparse import SparseTargets  # (sparse.py imports this module)

    return SparseTargets


def check_sparse(targets, name: str = "targets") -> None:
    """Raise unless ``targets`` (``SparseTargets``, called ``name`` in messages: e.g.
    ``targets.stamps.points[3] = [...] has channel 80 outside [0, 80) (image 1)``) describe a
    batch of their family and spec (module docstring)."""
    if not isinstance(targets, _sparse_targets()):
        raise TypeError(f"{name} must be SparseTargets (encode_*(..., sparse=True)), got "
                        f"{type(targets).__name__}")
    expected, images = check_stamps(targets.family, targets.spec, targets.stamps, name)
    slots = targets.slots
    if type(slots) is not tuple or len(slots) != len(expected.slots):
        count = len(slots) if isinstance(slots, (tuple, list)) else type(slots).__name__
        raise ValueError(f"{name}.slots must be a tuple of {len(expected.slots)} arrays "
                         f"({', '.join(f[7:-1] for f, _, _ in expected.slots) or 'none'}), "
                         f"got {count}")
    for slot, (field, shape, dtype) in zip(slots, expected.slots_of(images)):
        if type(slot) is not np.ndarray or slot.dtype != dtype or slot.shape != shape:
            _check_array(name, field, slot, dtype, shape)  # (raises, naming the field)


def check_stamps(family_name, spec, stamps, name: str) -> tuple[_Expected, int]:
    """``check_sparse`` but for the slot arrays: the family, its spec and the stamps; returns
    what the slot arrays must be and the batch size."""
    family = FAMILIES.get(family_name) if isinstance(family_name, str) else None
    if family is None:
        raise ValueError(f"{name} are of an unknown family {family_name!r}; families are "
                         f"{sorted(FAMILIES)}")
    expected = _expected(family, spec, name)
    if type(stamps) is not Stamps:
        raise TypeError(f"{name}.stamps must be Stamps, got {type(stamps).__name__}")
    starts, points = stamps.starts, stamps.points
    if not (type(starts) is np.ndarray and starts.dtype == _INT64 and starts.ndim == 1):
        _check_array(name, "stamps.starts", starts, _INT64, (-1,), "(B + 1,)")  # (raises)
    images = starts.size - 1
    if images < 1:
        raise ValueError(f"{name}.stamps.starts must have batch_size + 1 >= 2 entries, "
                         f"got {starts.size}")
    if not (type(points) is np.ndarray and points.dtype == _INT64 and points.ndim == 2
            and points.shape[1] == COLUMNS):
        _check_array(name, "stamps.points", points, _INT64, (-1, COLUMNS), "(n, 5)")  # (raises)
    n = len(points)
    for field in expected.absent:
        if getattr(stamps, field) is not None:
            raise ValueError(f"{name}.stamps.{field} must be None for the {family.name!r} "
                             "family with these options")
    for field, dtype, columns, values in expected.present:
        value = getattr(stamps, field)
        if value is None:
            raise ValueError(f"{name}.stamps.{field} must be an array for the "
                             f"{family.name!r} family with these options")
        _check_array(name, "stamps." + field, value, dtype, (n, *_rows(value, columns)[1:]),
                     None if columns else "(n, V)")
        _check_values(name, field, value, values, starts)
    cell_values = stamps.cell_values
    if cell_values is not None and cell_values.shape[1] < expected.value_columns:
        raise ValueError(f"{name}.stamps.cell_values has {cell_values.shape[1]} columns, but "
                         f"the {family.name!r} family's fields read {expected.value_columns}")
    if type(stamps.max_radius) is not int and not isinstance(stamps.max_radius, np.integer):
        raise TypeError(f"{name}.stamps.max_radius must be an int, got "
                        f"{type(stamps.max_radius).__name__}")
    cells = stamps.cells
    if not (type(cells) is int or isinstance(cells, np.integer)) or cells < 0:
        raise ValueError(f"{name}.stamps.cells must be an int >= 0, got {cells!r}")
    code, where, max_radius = call(_point_problem, _point_problem, starts, points,
                                   expected.map_channels)
    if code:
        _raise_point_problem(name, family, expected, stamps, code, where)
    if stamps.max_radius != max_radius:
        raise ValueError(f"{name}.stamps.max_radius is {stamps.max_radius}, but the points give "
                         f"{max_radius}")
    if family.check_stamps is not None:
        problem = family.check_stamps(spec, stamps)
        if problem:
            raise ValueError(f"{name}.{problem}")
    return expected, images


def _check_values(name: str, field: str, value: np.ndarray, values: str, starts) -> None:
    """Every row of the optional array ``field`` holds what ``values`` says."""
    if values == "any" or not value.size:
        return
    if values == "cells":
        bad = np.abs(value) >= MAX_GRID_COORD  # (-2**63 stays negative: caught as well)
        bad |= value < -MAX_GRID_COORD
        what = "is beyond +-2**31"
    else:
        bad = ~np.isfinite(value)
        what = "is not finite"
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size:
        j = int(rows[0])
        image = int(np.searchsorted(starts, j, side="right")) - 1
        raise ValueError(f"{name}.stamps.{field}[{j}] = {value[j].tolist()} {what} (image {image})")


def _raise_point_problem(name, family, expected, stamps, code, where):
    """The named ``ValueError`` of ``_point_problem``'s ``code`` at ``where``."""
    starts = stamps.starts
    if code in (STARTS_FIRST, STARTS_ORDER, STARTS_LAST):
        raise ValueError(f"{name}.stamps.starts must rise from 0 to the {len(stamps.points)} "
                         f"points without decreasing; starts[{where}] = {int(starts[where])}"
                         + (f" < starts[{where - 1}]" if code == STARTS_ORDER else ""))
    image = int(np.searchsorted(starts, where, side="right")) - 1
    column = (MAP, CHANNEL, X, Y, RADIUS)[code - MAP_OUTSIDE]
    channels = expected.map_channels[stamps.points[where, MAP]] if code > MAP_OUTSIDE else 0
    problem = _PROBLEMS[code].format(value=int(stamps.points[where, column]),
                                     maps=expected.map_channels.size, channels=channels)
    raise ValueError(f"{name}.stamps.points[{where}] = {stamps.points[where].tolist()} {problem} "
                     f"(image {image})")
