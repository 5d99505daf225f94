"""The CenterNet family: CenterNet's ("Objects as Points") ctdet training targets
(``encode_centernet``, ``CenterNetEncoder``).

One compiled pass turns detections into one stamp per box (its centre, into the one heatmap)
and CenterNet's slot arrays.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine import runtime
from ._engine.family import SLOTS, Encoder, Family, encode, register
from ._engine.jit import jit
from ._engine.passes import COUNT, add_stamp, check_rows, finish, group_rows, new_stamps, slots_fit
from ._engine.radius import gaussian_radius_scalar
from ._engine.spec import REQUIRED


class CenterNetTargets(NamedTuple):
    """CenterNet's ctdet training targets for ``B`` images with ``M = max_objs`` slots."""

    hm: NDArray[np.float32]  #: (B, C, H, W)
    wh: NDArray[np.float32]  #: (B, M, 2)
    reg: NDArray[np.float32]  #: (B, M, 2)
    ind: NDArray[np.int64]  #: (B, M)
    reg_mask: NDArray[np.uint8]  #: (B, M)


@jit
def _scale_clip(value, ratio, high):
    """``np.clip(float32(value * ratio), 0, high)``: scaled in float64, clipped in float32."""
    return min(max(np.float32(value * ratio), np.float32(0.0)), high)


@jit
def _center_pass(rows, batch_size, num_classes, width_ratio, height_ratio, min_overlap,
                 min_radius, formula, two, max_slots, on_overflow, out_h, out_w,
                 starts, points, info, wh, reg, ind, reg_mask):
    """Check the rows, then for each of the first ``max_slots`` boxes of every image (slot
    ``t``: its ``t``-th box in input order) compute CenterNet's targets and stamp its centre
    (``encode_centernet``, steps 1-5). A box of zero float32 width or height keeps an empty
    slot and stamps nothing."""
    if not check_rows(rows, batch_size, num_classes, width_ratio, height_ratio, info):
        return
    first, order = group_rows(rows, batch_size, np.empty(0, np.bool_))
    if not slots_fit(first, max_slots, on_overflow, info):
        return
    wh[:] = 0.0
    reg[:] = 0.0
    ind[:] = 0
    reg_mask[:] = 0
    max_x = np.float32(out_w - 1)
    max_y = np.float32(out_h - 1)
    half = np.float32(2.0)
    n = 0
    for b in range(batch_size):
        starts[b] = n
        for t in range(min(first[b + 1] - first[b], max_slots)):
            i = order[first[b] + t]
            x1 = _scale_clip(rows[i, 2], width_ratio, max_x)
            y1 = _scale_clip(rows[i, 3], height_ratio, max_y)
            x2 = _scale_clip(rows[i, 4], width_ratio, max_x)
            y2 = _scale_clip(rows[i, 5], height_ratio, max_y)
            w = np.float32(x2 - x1)
            h = np.float32(y2 - y1)
            if not (h > 0 and w > 0):
                continue
            radius = int(gaussian_radius_scalar(float(math.ceil(h)), float(math.ceil(w)),
                                                min_overlap, formula, two))
            radius = max(min_radius, max(0, radius))
            cx = np.float32(np.float32(x1 + x2) / half)
            cy = np.float32(np.float32(y1 + y2) / half)
            x, y = int(cx), int(cy)
            n = add_stamp(points, n, info, out_h, out_w, 0, int(rows[i, 1]), x, y, radius)
            wh[b, t, 0] = w
            wh[b, t, 1] = h
            reg[b, t, 0] = cx - x
            reg[b, t, 1] = cy - y
            ind[b, t] = y * out_w + x
            reg_mask[b, t] = 1
    starts[batch_size] = n
    info[COUNT] = n


def _run_center_pass(spec, rows, batch_size, slots, labels):
    starts, points, info = new_stamps(batch_size, len(rows))
    runtime.call(_center_pass, _center_pass, rows, batch_size, spec.num_classes, *spec.ratios,
                 spec.gaussian_iou, spec.min_radius, spec.radius_formula, 2.0, spec.max_slots,
                 spec.on_overflow, *spec.output_size, starts, points, info, *slots)
    return finish(rows, starts, points, info, batch_size=batch_size, num_classes=spec.num_classes,
                  slots_name="max_objs", max_slots=spec.max_slots, on_overflow=spec.on_overflow,
                  labels=labels)


CENTERNET = register(Family(
    name="centernet", result=CenterNetTargets, maps=1, run_pass=_run_center_pass,
    options=dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                 gaussian_iou=0.7, radius_formula="centernet", max_objs=128, on_overflow="warn",
                 delte=6, k=1.0, min_radius=0),
    slots=(((SLOTS, 2), np.float32), ((SLOTS, 2), np.float32), ((SLOTS,), np.int64),
           ((SLOTS,), np.uint8)),
    slots_option="max_objs",
))


def encode_centernet(detections, *, batch_size, out=None, sparse=False, image_ids=None, num_threads=None,
                **options) -> CenterNetTargets:
    """Encode boxes as CenterNet's ("Objects as Points") ctdet training targets.

    As CenterNet's ``ctdet`` dataset, with plain scaling in place of its affine warp. The box
    in slot ``t`` of image ``b`` is that image's ``t``-th row of ``detections`` (input order):

    1. scale it to the output map in float64 (``x * (out_w / in_w)``, ``y * (out_h / in_h)``,
       the ratios of ``encode_corners``), round to a float32 ``bbox`` and clip in float32:
       ``x`` to ``[0, out_w - 1]``, ``y`` to ``[0, out_h - 1]``;
    2. ``w = x2 - x1``, ``h = y2 - y1`` (float32). Only if ``h > 0 and w > 0``:
    3. ``radius = max(min_radius, max(0, int(R((ceil(h), ceil(w)), gaussian_iou))))``;
    4. ``ct = float32((x1 + x2) / 2, (y1 + y2) / 2)``, ``ct_int = int(ct)`` (truncation);
    5. stamp the Gaussian of ``radius`` at ``ct_int`` into ``hm[b, category]`` (as
       ``draw_gaussian``, with ``k`` and ``delte``), and set ``wh[b, t] = (w, h)``,
       ``ind[b, t] = ct_int_y * out_w + ct_int_x``, ``reg[b, t] = ct - ct_int`` and
       ``reg_mask[b, t] = 1``.

    A box failing step 2 (zero-size, or wholly off the map) still takes its slot, which stays
    0, and stamps nothing.

    Parameters
    ----------
    detections, batch_size, num_classes, input_size, output_size, delte, k, min_radius, \
image_ids, sparse, num_threads
        As for ``encode_corners``.
    gaussian_iou : float, default 0.7
        ``min_overlap`` of the radius formula (CenterNet's default), in (0, 1).
    radius_formula : {"cornernet", "centernet"}, default "centernet"
        ``R``: the formula CenterNet shipped (default) or CornerNet's; see Notes.
    max_objs : int, default 128
        Slots per image ``M``, ``>= 1``.
    on_overflow : {"warn", "error", "truncate"}, default "warn"
        An image with more than ``max_objs`` boxes keeps only its first ``max_objs`` boxes
        (CenterNet's behaviour); ``"warn"`` also says so, once per process, with the count of
        dropped boxes; ``"error"`` raises a ``ValueError`` naming the image instead.
    out : CenterNetTargets or tuple of 5 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.

    Returns
    -------
    CenterNetTargets
        ``hm``: float32 ``(B, C, out_h, out_w)``; ``wh``, ``reg``: float32 ``(B, M, 2)``;
        ``ind``: int64 ``(B, M)``; ``reg_mask``: uint8 ``(B, M)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (and the lowest offending row, or the overflowing
        image); as ``encode_corners`` when the outputs (maps and slots) exceed the physical
        memory.

    Notes
    -----
    Both formulas solve the same three quadratics for the radius that keeps IoU >=
    ``gaussian_iou``; CornerNet takes ``(b - sq) / (2a)`` for the first two roots
    and ``(b + sq) / (2a)`` for the third, CenterNet takes ``(b + sq) / 2`` for all three,
    which gives radii about 3x (IoU 0.7) to 2x (IoU 0.3) larger. ``gaussian_radius(h, w)``,
    box ``h x w`` in output pixels, truncated radius in brackets:

    ======== =========== =========== =========== ===========
    h x w    cornernet   centernet   cornernet   centernet
             IoU 0.7     IoU 0.7     IoU 0.3     IoU 0.3
    ======== =========== =========== =========== ===========
    4 x 4    0.33 (0)    1.09 (1)    0.90 (0)    1.98 (1)
    16 x 16  1.31 (1)    4.37 (4)    3.62 (3)    7.93 (7)
    64 x 64  5.23 (5)    17.49 (17)  14.47 (14)  31.71 (31)
    128 x 32 4.04 (4)    14.43 (14)  10.28 (10)  27.79 (27)
    ======== =========== =========== =========== ===========

    Float32 semantics: ``x1 + x2`` is a float32 sum and the halving is exact, so ``ct`` is the
    same whether the division is carried out in float32 or in float64 (NumPy 1.x promotes
    ``float32 / 2`` to float64 for scalars); likewise ``reg = ct - ct_int`` is exact.
    """
    return encode(CENTERNET, detections, batch_size, options, out, num_threads, sparse, image_ids)


class CenterNetEncoder(Encoder):
    """``encode_centernet`` into a reused heatmap buffer: see ``CornerEncoder``.

    ``encoder(detections, batch_size, copy=False)`` returns ``CenterNetTargets`` bit-identical
    to ``encode_centernet`` with the same options; ``hm`` is a read-only view valid until the
    next call (a fresh array with ``copy=True``), the slot arrays are fresh every call.
    """

    family = CENTERNET


encode_centernet.__signature__ = CENTERNET.signature()
