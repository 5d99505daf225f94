"""The mmdetection CenterNet head family: ``CenterNetHead.get_targets`` of mmdetection 3.3.0
(``encode_mmdet_centernet``, ``MmdetCenterNetEncoder``).

One compiled pass turns detections into one stamp per box (its centre cell, into the one
heatmap, with mmdetection's float32 ``gaussian2D``: ``kinds.Gaussian2D``) and the values the
box writes at that cell into the three dense fields (cell fields, ``cells``): its size, its
centre's offset and a weight of 1, later boxes of an image overwriting earlier ones.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (COUNT, MAX_GRID_COORD, REQUIRED, CellField, Encoder, Family, Gaussian2D,
                          MapSpec, add_stamp, check_index, check_map_size, check_rows, finish,
                          group_rows, jit, new_stamps, one_shot, register, runtime)

#: mmdetection's ``min_overlap`` (hard-coded in ``get_targets``).
MIN_OVERLAP = 0.3


class MmdetCenterNetTargets(NamedTuple):
    """mmdetection's ``CenterNetHead.get_targets`` for ``B`` images, all float32."""

    center_heatmap_target: NDArray[np.float32]  #: (B, C, H, W)
    wh_target: NDArray[np.float32]  #: (B, 2, H, W)
    offset_target: NDArray[np.float32]  #: (B, 2, H, W)
    wh_offset_target_weight: NDArray[np.float32]  #: (B, 2, H, W)

    @property
    def avg_factor(self) -> int:
        """``max(1, (center_heatmap_target == 1).sum())``, mmdetection's ``avg_factor``."""
        return max(1, int(np.count_nonzero(self.center_heatmap_target == 1)))


@dataclass(frozen=True)
class MmdetSpec(MapSpec):
    """``MapSpec`` of the mmdetection heads: their heatmaps are ``kinds.Gaussian2D`` in
    float32."""

    @property
    def gaussian(self):
        return Gaussian2D("float32")


def make_mmdet_spec(values: dict, **flags) -> MmdetSpec:
    """The spec of an mmdetection head's options (sizes, classes; ``flags``: the head's own)."""
    return MmdetSpec(
        num_classes=check_index("num_classes", values["num_classes"], minimum=1,
                                maximum=MAX_GRID_COORD),
        input_size=check_map_size("input_size", values["input_size"]),
        output_size=check_map_size("output_size", values["output_size"]),
        dtype=np.dtype(np.float32), gaussian_iou=MIN_OVERLAP, gaussian_rad=-1, delte=6.0, k=1.0,
        radius_formula=0, min_radius=0, **flags)


@jit
def _f32(value):
    return np.float32(value)


@jit
def mmdet_radius_float32(height, width):
    """mmdetection's ``gaussian_radius((height, width), min_overlap=0.3)`` on float32 tensors:
    every operation on a tensor is float32 (a Python float operand rounded to float32 first,
    as torch does), ``math.sqrt`` takes the float32 value exactly and returns a float64."""
    h, w = _f32(height), _f32(width)
    b1 = _f32(h + w)
    c1 = _f32(_f32(_f32(w * h) * _f32(1 - MIN_OVERLAP)) / _f32(1 + MIN_OVERLAP))
    sq1 = math.sqrt(np.float64(_f32(_f32(b1 * b1) - _f32(4 * c1))))
    r1 = _f32(_f32(b1 - _f32(sq1)) / _f32(2))
    b2 = _f32(2 * _f32(h + w))
    c2 = _f32(_f32(_f32(1 - MIN_OVERLAP) * w) * h)
    sq2 = math.sqrt(np.float64(_f32(_f32(b2 * b2) - _f32(16 * c2))))
    r2 = _f32(_f32(b2 - _f32(sq2)) / _f32(8))
    a3 = 4 * MIN_OVERLAP
    b3 = _f32(_f32(-2 * MIN_OVERLAP) * _f32(h + w))
    c3 = _f32(_f32(_f32(MIN_OVERLAP - 1) * w) * h)
    sq3 = math.sqrt(np.float64(_f32(_f32(b3 * b3) - _f32(_f32(4 * a3) * c3))))
    r3 = _f32(_f32(b3 + _f32(sq3)) / _f32(2 * a3))
    return min(r1, r2, r3)


@jit
def _centernet_pass(rows, batch_size, num_classes, width_ratio, height_ratio, out_h, out_w,
                    starts, points, info, values):
    """Check the rows, then, image by image in input order, stamp every box's centre and give
    it its cell values (``encode_mmdet_centernet``)."""
    if not check_rows(rows, batch_size, num_classes, width_ratio, height_ratio, info):
        return
    first, order = group_rows(rows, batch_size, np.empty(0, np.bool_))
    ratio_x, ratio_y = _f32(width_ratio), _f32(height_ratio)
    n = 0
    for b in range(batch_size):
        starts[b] = n
        for t in range(first[b], first[b + 1]):
            i = order[t]
            x1, y1, x2, y2 = _f32(rows[i, 2]), _f32(rows[i, 3]), _f32(rows[i, 4]), _f32(rows[i, 5])
            cx = _f32(_f32(_f32(x1 + x2) * ratio_x) / _f32(2))
            cy = _f32(_f32(_f32(y1 + y2) * ratio_y) / _f32(2))
            x, y = int(cx), int(cy)  # truncation, as torch's .int()
            w = _f32(_f32(x2 - x1) * ratio_x)
            h = _f32(_f32(y2 - y1) * ratio_y)
            radius = max(0, int(mmdet_radius_float32(h, w)))
            values[n, 0] = w
            values[n, 1] = h
            values[n, 2] = cx - x  # exact: cx and its truncation are within 1 of each other
            values[n, 3] = cy - y
            values[n, 4] = 1.0
            values[n, 5] = 1.0
            n = add_stamp(points, n, info, out_h, out_w, 0, int(rows[i, 1]), x, y, radius)
    starts[batch_size] = n
    info[COUNT] = n


def _run_pass(spec, rows, batch_size, slots, labels):
    starts, points, info = new_stamps(batch_size, len(rows))
    values = np.empty((len(rows), 6), np.float32)
    runtime.call(_centernet_pass, _centernet_pass, rows, batch_size, spec.num_classes,
                 *spec.ratios, *spec.output_size, starts, points, info, values)
    stamps = finish(rows, starts, points, info, batch_size=batch_size,
                    num_classes=spec.num_classes, labels=labels)
    return dataclasses.replace(stamps, cell_values=values[:len(stamps.points)])


MMDET_CENTERNET = register(Family(
    name="mmdet_centernet", result=MmdetCenterNetTargets, maps=1, run_pass=_run_pass,
    options=dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED),
    cells=(CellField("wh_target", 0, 0, 2), CellField("offset_target", 0, 2, 2),
           CellField("wh_offset_target_weight", 0, 4, 2)),
    make_spec=make_mmdet_spec, spec_type=MmdetSpec, stamp_arrays=lambda spec: ("cell_values",),
))


@one_shot(MMDET_CENTERNET)
def encode_mmdet_centernet() -> MmdetCenterNetTargets:
    """Encode boxes as mmdetection 3.3.0's ``CenterNetHead.get_targets``, bit for bit.

    With ``width_ratio = out_w / in_w`` and ``height_ratio = out_h / in_h`` (float64, rounded
    to float32 where they meet a float32 value, as torch does) and every box rounded to
    float32, boxes of each image in input order (all of them: none is clipped or skipped):

    1. ``ct = (x1 + x2) * width_ratio / 2`` (likewise ``y``), float32; ``ct_int = int(ct)``
       (truncation towards zero);
    2. ``w = (x2 - x1) * width_ratio``, ``h = (y2 - y1) * height_ratio`` (float32, not
       rounded up), ``radius = max(0, int(gaussian_radius((h, w), 0.3)))`` with CornerNet's
       formula evaluated on float32 tensors as mmdetection does (``mmdet_radius_float32``);
    3. stamp mmdetection's ``gaussian2D`` of that radius (sigma ``(2 radius + 1) / 6``,
       computed in float32, values below ``eps * max`` of float32 cut) at ``ct_int`` into
       ``center_heatmap_target[b, category]`` (max-merged, visible cells only);
    4. at the cell ``ct_int`` (if on the map): ``wh_target = (w, h)``, ``offset_target = ct -
       ct_int``, ``wh_offset_target_weight = (1, 1)``; a later box of the image at the same
       cell overwrites them.

    ``avg_factor`` (a property of the result) is ``max(1, (center_heatmap_target == 1).sum())``.

    Parameters
    ----------
    detections, batch_size, num_classes, input_size, output_size, image_ids, sparse, num_threads
        As for ``encode_corners``.
    out : MmdetCenterNetTargets or tuple of arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.

    Returns
    -------
    MmdetCenterNetTargets
        ``center_heatmap_target`` float32 ``(B, C, out_h, out_w)``; ``wh_target``,
        ``offset_target``, ``wh_offset_target_weight`` float32 ``(B, 2, out_h, out_w)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (and the lowest offending row).

    Notes
    -----
    Where mmdetection fails, fastheat decides: a centre cell off the map is an ``IndexError``
    in mmdetection (or, left or above the map, a write that wraps around to the other side);
    fastheat writes no cell values for it and stamps the visible part of its Gaussian.
    ``exp`` is NumPy's float64 one rounded to float32, where torch's float32 ``exp`` is
    sometimes one unit in the last place away (``kinds``).
    """


class MmdetCenterNetEncoder(Encoder):
    """``encode_mmdet_centernet`` into reused buffers (heatmap and dense fields, cleared only
    where the previous call wrote): see ``CornerEncoder``."""

    family = MMDET_CENTERNET
