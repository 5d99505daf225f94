"""The engine as a family sees it: every name a family module imports from the engine.

A family (``fastheat/<family>.py``) imports from this module only
(``tests/test_engine_api.py`` holds every family to it); what it does not find here it does
not need, or it belongs in the engine. The names, by the module that defines them:

* ``family``: ``Family``, ``register`` and what every family gets (``one_shot``, which makes
  its public one-shot function, ``encode``, ``Encoder``), ``with_fields`` for optional result
  fields; ``spec``: ``REQUIRED`` and the symbols of slot
  shapes (``SLOTS``, ``CHANNELS``, ...), ``MapSpec``, ``map_spec``, ``check_flag``,
  ``RENDERING``.
* ``jit``: ``jit``, the compiler of the families' passes; ``runtime``: ``runtime.call``, which
  runs a kernel (its first call under the first-use lock); ``numpy_exp``: NumPy's ``exp`` bits
  in a kernel (``exp32``; ``separable_float32`` for float64 Gaussians,
  ``with_numpy_for_uncertain`` for their uncertain values).
* ``stamps``: ``Stamps`` and its column constants; ``passes``: the compiled pass helpers (row
  checks, grouping, slots, stamp bookkeeping) and their ``info`` codes.
* ``tables``, ``kinds``, ``stamping``, ``cells``, ``radius``: the stamp kinds, values and
  dense fields a family declares or fills.
* ``validate``: argument checks.
"""

from __future__ import annotations

from . import numpy_exp, runtime
from .cells import CellField, RegionField, region_windows
from .family import Encoder, Family, encode, one_shot, register, with_fields
from .jit import jit
from .kinds import EllipticalGaussian, Gaussian2D, asymmetric_rectangle, ellipse_clip
from .numpy_exp import exp32, separable_float32, with_numpy_for_uncertain
from .passes import (CELLS, CODE, COUNT, DRAWN_PROBLEMS, MAX_PIXEL, MAX_RADIUS, NO_LOG, WHERE,
                     Labels, add_clipped_stamp, add_label_stamp, add_stamp, check_rows,
                     drawn_keypoint_problem, finish, group_rows, new_stamps, row_problem,
                     slots_fit)
from .radius import CORNERNET, gaussian_radius_scalar
from .spec import (CHANNEL_PAIRS, CHANNELS, GROUPS, HEIGHT, RENDERING, REQUIRED, SLOTS, WIDTH,
                   MapSpec, check_flag, map_spec)
from .stamping import axis_starts, expand_cells, stamp, stamp_values, table_offset, window
from .stamps import (CHANNEL, MAP, RADIUS, UX, UY, VALUE, X, X0, X_HI, X_LO, Y, Y0, Y_HI, Y_LO,
                     Stamps)
from .tables import ADD_CLAMP, LimbBand, MapKinds, MsraGaussian, table_of, visible_window
from .validate import (MAX_GRID_COORD, as_real_array, check_image_ids, check_index,
                       check_map_size, check_min_overlap, check_positive, check_real, check_size)

__all__ = [
    "ADD_CLAMP", "CELLS", "CHANNEL", "CHANNELS", "CHANNEL_PAIRS", "CODE", "CORNERNET", "COUNT",
    "DRAWN_PROBLEMS", "GROUPS", "HEIGHT", "MAP", "MAX_GRID_COORD", "MAX_PIXEL", "MAX_RADIUS",
    "NO_LOG", "RADIUS", "RENDERING", "REQUIRED", "SLOTS", "UX", "UY", "VALUE", "WHERE", "WIDTH",
    "X", "X0", "X_HI", "X_LO", "Y", "Y0", "Y_HI", "Y_LO",
    "CellField", "EllipticalGaussian", "Encoder", "Family", "Gaussian2D", "Labels", "LimbBand",
    "MapKinds", "MapSpec", "MsraGaussian", "RegionField", "Stamps",
    "add_clipped_stamp", "add_label_stamp", "add_stamp", "as_real_array", "asymmetric_rectangle",
    "axis_starts", "check_flag", "check_image_ids", "check_index", "check_map_size",
    "check_min_overlap", "check_positive", "check_real", "check_rows", "check_size",
    "drawn_keypoint_problem", "ellipse_clip", "encode", "exp32", "expand_cells",
    "finish", "gaussian_radius_scalar", "group_rows", "jit", "map_spec", "new_stamps", "numpy_exp",
    "one_shot", "region_windows", "register", "row_problem", "runtime", "separable_float32",
    "slots_fit", "stamp", "stamp_values", "table_of", "table_offset", "visible_window", "window",
    "with_fields", "with_numpy_for_uncertain",
]
