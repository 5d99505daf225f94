"""The mmdetection corner head family: ``CornerHead.get_targets`` of mmdetection 3.3.0, with
CentripetalNet's guiding and centripetal shifts (``encode_mmdet_corner``,
``MmdetCornerEncoder``).

One compiled pass turns detections into two stamps per box (its top-left corner cell into map
0, its bottom-right one into map 1, mmdetection's float32 ``gaussian2D``: ``kinds.Gaussian2D``)
and the values each corner writes at its cell into the dense fields (cell fields, ``cells``):
offset, guiding shift, centripetal shift, later boxes of an image overwriting earlier ones.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CODE, CORNERNET, COUNT, NO_LOG, REQUIRED, WHERE, CellField, Encoder,
                          Family, add_stamp, check_flag, finish, gaussian_radius_scalar, group_rows,
                          jit, new_stamps, one_shot, register, row_problem, runtime, with_fields)
from .mmdet_centernet import MIN_OVERLAP, MmdetSpec, make_mmdet_spec


class MmdetCornerTargets(NamedTuple):
    """mmdetection's ``CornerHead.get_targets`` for ``B`` images, all float32.

    ``with_guiding_shift=True`` appends ``topleft_guiding_shift`` and
    ``bottomright_guiding_shift``, ``with_centripetal_shift=True`` ``topleft_centripetal_shift``
    and ``bottomright_centripetal_shift`` (each ``(B, 2, H, W)``), in that order; a result
    without them gives ``None`` for them.
    """

    topleft_heatmap: NDArray[np.float32]  #: (B, C, H, W)
    bottomright_heatmap: NDArray[np.float32]  #: (B, C, H, W)
    topleft_offset: NDArray[np.float32]  #: (B, 2, H, W)
    bottomright_offset: NDArray[np.float32]  #: (B, 2, H, W)

    topleft_guiding_shift = property(lambda self: None, doc="with ``with_guiding_shift=True``")
    bottomright_guiding_shift = property(lambda self: None,
                                         doc="with ``with_guiding_shift=True``")
    topleft_centripetal_shift = property(lambda self: None,
                                         doc="with ``with_centripetal_shift=True``")
    bottomright_centripetal_shift = property(lambda self: None,
                                             doc="with ``with_centripetal_shift=True``")


GUIDING = ("topleft_guiding_shift", "bottomright_guiding_shift")
CENTRIPETAL = ("topleft_centripetal_shift", "bottomright_centripetal_shift")
MmdetCornerGuidingTargets = with_fields(MmdetCornerTargets, "MmdetCornerGuidingTargets", GUIDING,
                                        "``MmdetCornerTargets`` with ``with_guiding_shift=True``.")
MmdetCornerCentripetalTargets = with_fields(
    MmdetCornerTargets, "MmdetCornerCentripetalTargets", CENTRIPETAL,
    "``MmdetCornerTargets`` with ``with_centripetal_shift=True``.")
MmdetCornerAllTargets = with_fields(
    MmdetCornerTargets, "MmdetCornerAllTargets", GUIDING + CENTRIPETAL,
    "``MmdetCornerTargets`` with both shifts (CentripetalNet).")


@dataclass(frozen=True)
class MmdetCornerSpec(MmdetSpec):
    """``MmdetSpec`` with the corner head's flags."""

    with_guiding_shift: bool = False
    with_centripetal_shift: bool = False


def _make_spec(values: dict) -> MmdetCornerSpec:
    flags = {name: check_flag(name, values[name])
             for name in ("with_guiding_shift", "with_centripetal_shift")}
    return MmdetCornerSpec(**dataclasses.asdict(make_mmdet_spec(values)), **flags)


@jit
def _f32(value):
    return np.float32(value)


@jit
def _check(rows, batch_size, num_classes, width_ratio, height_ratio, centripetal, info):
    """``passes.check_rows``, and with ``centripetal`` the distances from the scaled centre to
    the scaled corners must be > 0 in float32 (mmdetection takes their ``log``)."""
    ratio_x, ratio_y = _f32(width_ratio), _f32(height_ratio)
    for i in range(rows.shape[0]):
        code = row_problem(rows, i, batch_size, num_classes, width_ratio, height_ratio)
        if code == 0 and centripetal:
            for lo, hi, ratio in ((2, 4, ratio_x), (3, 5, ratio_y)):
                low, high = _f32(rows[i, lo]), _f32(rows[i, hi])
                centre = _f32(_f32(_f32(low + high) / _f32(2)) * ratio)
                below, above = _f32(centre - _f32(low * ratio)), _f32(_f32(high * ratio) - centre)
                if not (below > 0 and above > 0):
                    code = NO_LOG
        if code:
            info[CODE] = code
            info[WHERE] = i
            return False
    return True


@jit
def _corner_pass(rows, batch_size, num_classes, width_ratio, height_ratio, guiding, centripetal,
                 out_h, out_w, starts, points, info, values):
    """Check the rows, then, image by image in input order, stamp both corners of every box and
    give each its cell values (``encode_mmdet_corner``)."""
    if not _check(rows, batch_size, num_classes, width_ratio, height_ratio, centripetal, info):
        return
    first, order = group_rows(rows, batch_size, np.empty(0, np.bool_))
    ratio_x, ratio_y = _f32(width_ratio), _f32(height_ratio)
    values[:] = 0.0
    n = 0
    for b in range(batch_size):
        starts[b] = n
        for t in range(first[b], first[b + 1]):
            i = order[t]
            left, top, right, bottom = (_f32(rows[i, 2]), _f32(rows[i, 3]), _f32(rows[i, 4]),
                                        _f32(rows[i, 5]))
            center_x = _f32(_f32(_f32(left + right) / _f32(2)) * ratio_x)
            center_y = _f32(_f32(_f32(top + bottom) / _f32(2)) * ratio_y)
            scale_left, scale_right = _f32(left * ratio_x), _f32(right * ratio_x)
            scale_top, scale_bottom = _f32(top * ratio_y), _f32(bottom * ratio_y)
            left_idx = int(min(scale_left, out_w - 1))  # truncation, as int()
            right_idx = int(min(scale_right, out_w - 1))
            top_idx = int(min(scale_top, out_h - 1))
            bottom_idx = int(min(scale_bottom, out_h - 1))
            width = math.ceil(_f32(scale_right - scale_left))
            height = math.ceil(_f32(scale_bottom - scale_top))
            radius = max(0, int(gaussian_radius_scalar(float(height), float(width), MIN_OVERLAP,
                                                       CORNERNET, 2.0)))
            category = int(rows[i, 1])
            values[n, 0] = scale_left - left_idx
            values[n, 1] = scale_top - top_idx
            values[n + 1, 0] = scale_right - right_idx
            values[n + 1, 1] = scale_bottom - bottom_idx
            if guiding:
                values[n, 2] = center_x - left_idx
                values[n, 3] = center_y - top_idx
                values[n + 1, 2] = right_idx - center_x
                values[n + 1, 3] = bottom_idx - center_y
            if centripetal:  # math.log of the float32 distance, in float64
                values[n, 4] = math.log(np.float64(_f32(center_x - scale_left)))
                values[n, 5] = math.log(np.float64(_f32(center_y - scale_top)))
                values[n + 1, 4] = math.log(np.float64(_f32(scale_right - center_x)))
                values[n + 1, 5] = math.log(np.float64(_f32(scale_bottom - center_y)))
            n = add_stamp(points, n, info, out_h, out_w, 0, category, left_idx, top_idx, radius)
            n = add_stamp(points, n, info, out_h, out_w, 1, category, right_idx, bottom_idx,
                          radius)
    starts[batch_size] = n
    info[COUNT] = n


def _run_pass(spec, rows, batch_size, slots, labels):
    starts, points, info = new_stamps(batch_size, 2 * len(rows))
    values = np.empty((2 * len(rows), 6), np.float32)
    runtime.call(_corner_pass, _corner_pass, rows, batch_size, spec.num_classes, *spec.ratios,
                 spec.with_guiding_shift, spec.with_centripetal_shift, *spec.output_size, starts,
                 points, info, values)
    stamps = finish(rows, starts, points, info, batch_size=batch_size,
                    num_classes=spec.num_classes, labels=labels)
    return dataclasses.replace(stamps, cell_values=values[:len(stamps.points)])


MMDET_CORNER = register(Family(
    name="mmdet_corner", result=MmdetCornerTargets, maps=2, run_pass=_run_pass,
    options=dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                 with_guiding_shift=False, with_centripetal_shift=False),
    cells=(CellField("topleft_offset", 0, 0, 2), CellField("bottomright_offset", 1, 0, 2),
           CellField(GUIDING[0], 0, 2, 2, "with_guiding_shift"),
           CellField(GUIDING[1], 1, 2, 2, "with_guiding_shift"),
           CellField(CENTRIPETAL[0], 0, 4, 2, "with_centripetal_shift"),
           CellField(CENTRIPETAL[1], 1, 4, 2, "with_centripetal_shift")),
    variants={GUIDING: MmdetCornerGuidingTargets, CENTRIPETAL: MmdetCornerCentripetalTargets,
              GUIDING + CENTRIPETAL: MmdetCornerAllTargets},
    make_spec=_make_spec, spec_type=MmdetCornerSpec, stamp_arrays=lambda spec: ("cell_values",),
    rendering=("num_classes", "output_size", "dtype", "with_guiding_shift",
               "with_centripetal_shift"),
    warmup_options=({}, {"with_guiding_shift": True, "with_centripetal_shift": True}),
))


@one_shot(MMDET_CORNER)
def encode_mmdet_corner() -> MmdetCornerTargets:
    """Encode boxes as mmdetection 3.3.0's ``CornerHead.get_targets`` (CornerNet, and with both
    shifts CentripetalNet), bit for bit.

    With ``width_ratio = out_w / in_w``, ``height_ratio = out_h / in_h`` (rounded to float32
    where they meet a float32 value, as torch does) and every box rounded to float32, boxes of
    each image in input order:

    1. ``scale_left = x1 * width_ratio`` (likewise ``scale_right``, ``scale_top``,
       ``scale_bottom``), ``scale_center_x = (x1 + x2) / 2 * width_ratio``, all float32;
    2. corner cells ``left_idx = int(min(scale_left, out_w - 1))`` (truncation towards zero),
       likewise the others;
    3. ``radius = max(0, int(gaussian_radius((ceil(scale_bottom - scale_top),
       ceil(scale_right - scale_left)), 0.3)))`` (CornerNet's formula, float64);
    4. stamp mmdetection's float32 ``gaussian2D`` of that radius at each corner cell into
       ``topleft_heatmap[b, category]`` and ``bottomright_heatmap[b, category]``;
    5. at the top-left cell (if on the map): ``topleft_offset = (scale_left - left_idx,
       scale_top - top_idx)``, with ``with_guiding_shift`` ``topleft_guiding_shift =
       (scale_center_x - left_idx, scale_center_y - top_idx)``, with ``with_centripetal_shift``
       ``topleft_centripetal_shift = (log(scale_center_x - scale_left), log(scale_center_y -
       scale_top))`` (``math.log`` of the float32 distance, rounded to float32); at the
       bottom-right cell the mirror images (``scale_right - right_idx``, ``right_idx -
       scale_center_x``, ``log(scale_right - scale_center_x)``, ...). A later box's corner at
       the same cell overwrites them.

    Parameters
    ----------
    detections, batch_size, num_classes, input_size, output_size, image_ids, sparse, num_threads
        As for ``encode_corners``.
    with_guiding_shift, with_centripetal_shift : bool, default False
        Add the guiding (``topleft_guiding_shift``, ``bottomright_guiding_shift``) or
        centripetal (``topleft_centripetal_shift``, ``bottomright_centripetal_shift``) shift
        fields, in that order.
    out : MmdetCornerTargets or tuple of arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.

    Returns
    -------
    MmdetCornerTargets
        The heatmaps, float32 ``(B, C, out_h, out_w)``, and the offsets (and shifts asked
        for), float32 ``(B, 2, out_h, out_w)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (and the lowest offending row); with
        ``with_centripetal_shift``, a box whose scaled half width or height is 0 in float32
        (mmdetection fails there: ``math.log(0)``).

    Notes
    -----
    mmdetection's corner embedding (``with_corner_emb``, a list of lists) is not produced.
    A corner cell left of or above the map (a box starting at ``x1 <= -1 / width_ratio``)
    makes mmdetection write at a wrapped-around index; fastheat writes no cell values for it
    and stamps the visible part of its Gaussian. ``exp`` is NumPy's float64 one rounded to
    float32, where torch's float32 ``exp`` is sometimes one unit in the last place away
    (``kinds``).
    """


class MmdetCornerEncoder(Encoder):
    """``encode_mmdet_corner`` into reused buffers (heatmaps and dense fields, cleared only
    where the previous call wrote): see ``CornerEncoder``."""

    family = MMDET_CORNER
