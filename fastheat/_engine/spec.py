"""``MapSpec``: the validated options of one family's targets (everything but the annotations).

A family declares its public options and their defaults once (``Family.options``); ``spec_for``
checks a call's options against them, once per distinct set of options (a small cache), and
returns the family-neutral ``MapSpec`` that the engine and the family's pass read. A family
whose options are of another kind (keypoints) makes its own spec (``Family.make_spec``): any
frozen dataclass with what the engine reads, ``map_shape(batch_size)``, ``dtype``,
``max_slots`` and ``gaussian`` (``tables``), and, if its maps differ in channels,
``map_shapes(batch_size)`` (``Family.map_shapes``).
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

import numpy as np

from . import passes
from .validate import (
    MAX_DELTE,
    MAX_GRID_COORD,
    check_dtype,
    check_index,
    check_min_overlap,
    check_positive,
    check_map_size,
    radius_formula_code,
)

REQUIRED = inspect.Parameter.empty
SLOTS = "T"  # stands for ``max_slots`` in a slot field's shape (``family.Family.slots``)
CHANNELS = "C"  # stands for the maps' channel count in a slot field's shape
CHANNEL_PAIRS = "2C"  # twice that
HEIGHT, WIDTH = "H", "W"  # the maps' height and width
ON_OVERFLOW = {"warn": passes.WARN, "error": passes.ERROR, "truncate": passes.TRUNCATE}


@dataclass(frozen=True)
class MapSpec:
    """Validated options; see ``encode_corners`` for their meaning.

    ``max_slots`` is the per-image slot count of families with slot arrays (0: none) and
    ``on_overflow`` its policy (``passes.WARN``, ``passes.ERROR`` or ``passes.TRUNCATE``);
    ``clip`` clips boxes to the input image first (CornerNet's ``_clip_detections``).
    """

    num_classes: int
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    dtype: np.dtype
    gaussian_iou: float
    gaussian_rad: int
    delte: float
    k: float
    radius_formula: int
    min_radius: int
    max_slots: int = 0
    on_overflow: int = passes.ERROR
    clip: bool = False

    @functools.cached_property
    def ratios(self) -> tuple[float, float]:
        """``(width_ratio, height_ratio)``: output over input size, as in the reference."""
        return (self.output_size[1] / self.input_size[1], self.output_size[0] / self.input_size[0])

    @property
    def gaussian(self) -> tuple[float, float]:
        """``(delte, k)``: what the Gaussian tables are keyed on (with the dtype)."""
        return (self.delte, self.k)

    def map_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return (batch_size, self.num_classes, *self.output_size)

    def differences(self, other: "MapSpec", fields=None) -> list[str]:
        """The names of the ``fields`` (default all) in which ``other`` differs."""
        return [name for name in fields or self.__dataclass_fields__
                if getattr(self, name) != getattr(other, name)]


#: What rendering stamps into maps depends on (the other options shaped the stamps).
RENDERING = ("num_classes", "output_size", "dtype", "delte", "k")


def check_on_overflow(on_overflow) -> int:
    """``"warn"``, ``"error"`` or ``"truncate"``, as the passes' code."""
    if not isinstance(on_overflow, str) or on_overflow not in ON_OVERFLOW:
        raise ValueError(f"on_overflow must be one of {list(ON_OVERFLOW)}, got {on_overflow!r}")
    return ON_OVERFLOW[on_overflow]


def check_flag(name, value) -> bool:
    """``True`` or ``False`` (NumPy's too), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_options(options: dict, defaults: dict, slots_option: str | None,
                  make_spec=None) -> MapSpec:
    """A ``MapSpec`` from a call's ``options`` and its family's ``defaults``; or, for a family
    with its own options (``make_spec``), ``make_spec(values)`` with every option's value."""
    unknown = [name for name in options if name not in defaults]
    if unknown:
        raise TypeError(f"unexpected option {unknown[0]!r}; options are {sorted(defaults)}")
    values = {**defaults, **options}
    missing = [name for name, value in values.items() if value is REQUIRED]
    if missing:
        raise TypeError(f"missing required option {missing[0]!r}")
    if make_spec is not None:
        return make_spec(values)
    return map_spec(values, slots_option)


def map_spec(values: dict, slots_option: str | None) -> MapSpec:
    """The ``MapSpec`` of every option's value (``check_options``); a family whose spec adds
    fields (``MapSpec`` subclassed) builds on it in its ``make_spec``."""
    dtype = check_dtype(values.get("dtype", np.float32))
    return MapSpec(
        num_classes=check_index("num_classes", values["num_classes"], minimum=1,
                                maximum=MAX_GRID_COORD),
        input_size=check_map_size("input_size", values["input_size"]),
        output_size=check_map_size("output_size", values["output_size"]),
        dtype=dtype,
        gaussian_iou=check_min_overlap("gaussian_iou", values["gaussian_iou"]),
        gaussian_rad=check_index("gaussian_rad", values.get("gaussian_rad", -1), minimum=-1,
                                 maximum=MAX_GRID_COORD),
        delte=check_positive("delte", values["delte"], maximum=MAX_DELTE),
        k=check_positive("k", values["k"], dtype),
        radius_formula=radius_formula_code(values["radius_formula"]),
        min_radius=check_index("min_radius", values["min_radius"], minimum=0, maximum=MAX_GRID_COORD),
        max_slots=check_index(slots_option, values[slots_option], minimum=1) if slots_option else 0,
        on_overflow=check_on_overflow(values["on_overflow"]) if slots_option else passes.ERROR,
        clip=check_flag("clip", values.get("clip", False)),
    )


_SPECS: dict = {}
_MOST_SPECS = 64


def _typed(value):
    """``value`` with its type (and its items'): ``1``, ``1.0`` and ``True`` are distinct keys."""
    if type(value) is tuple:
        return tuple, tuple(_typed(item) for item in value)
    return type(value), value


def spec_for(family, options: dict) -> MapSpec:
    """``check_options`` for ``family``, cached per distinct (hashable) set of options."""
    try:
        key = (family.name, *((name, _typed(value)) for name, value in options.items()))
        return _SPECS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable value (a list, an array): check it every time
        return check_options(options, family.options, family.slots_option, family.make_spec)
    spec = check_options(options, family.options, family.slots_option, family.make_spec)
    if len(_SPECS) >= _MOST_SPECS:
        _SPECS.clear()
    _SPECS[key] = spec
    return spec
