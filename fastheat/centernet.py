"""Full training targets: CornerNet (``encode_cornernet``) and CenterNet (``encode_centernet``)."""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _kernels, _target_kernels
from ._numba import first_use
from ._threads import check_num_threads
from ._validate import check_batch_size, check_detections, check_index
from .corners import CornerOptions, PreparedBoxes, stamp_corners
from .gaussian import RadiusFormula

OnOverflow = Literal["error", "truncate"]
ON_OVERFLOW = ("error", "truncate")
SLOT_BYTES = 2 * 8 + 8 + 1  # per slot of _slot_arrays: two float32 pairs, an int64, a uint8


class CornerNetTargets(NamedTuple):
    """CornerNet's training targets for a batch of ``B`` images with ``T = max_tag_len`` slots."""

    tl_heatmaps: NDArray[np.float32]  #: (B, C, H, W)
    br_heatmaps: NDArray[np.float32]  #: (B, C, H, W)
    tl_regrs: NDArray[np.float32]  #: (B, T, 2)
    br_regrs: NDArray[np.float32]  #: (B, T, 2)
    tl_tags: NDArray[np.int64]  #: (B, T)
    br_tags: NDArray[np.int64]  #: (B, T)
    tag_masks: NDArray[np.uint8]  #: (B, T)
    tag_lens: NDArray[np.int32]  #: (B,)


class CenterNetTargets(NamedTuple):
    """CenterNet's ctdet training targets for ``B`` images with ``M = max_objs`` slots."""

    hm: NDArray[np.float32]  #: (B, C, H, W)
    wh: NDArray[np.float32]  #: (B, M, 2)
    reg: NDArray[np.float32]  #: (B, M, 2)
    ind: NDArray[np.int64]  #: (B, M)
    reg_mask: NDArray[np.uint8]  #: (B, M)


def check_on_overflow(on_overflow) -> str:
    """``"error"`` or ``"truncate"``."""
    if not isinstance(on_overflow, str) or on_overflow not in ON_OVERFLOW:
        raise ValueError(f"on_overflow must be one of {list(ON_OVERFLOW)}, got {on_overflow!r}")
    return on_overflow


def slotted_detections(detections, batch_size: int, options: CornerOptions, slots_name: str,
                       max_slots: int, on_overflow: str):
    """``check_detections``, then at most ``max_slots`` boxes per image.

    An image with more boxes is a ``ValueError`` naming it (``on_overflow="error"``), or keeps
    only its first ``max_slots`` boxes in input order (``"truncate"``).
    """
    image_index, categories, boxes = check_detections(detections, batch_size, options.num_classes,
                                                      *options.ratios)
    counts = np.bincount(image_index, minlength=batch_size)
    over = np.flatnonzero(counts > max_slots)
    if over.size == 0:
        return image_index, categories, boxes
    if on_overflow == "error":
        b = int(over[0])
        raise ValueError(f"image {b} has {counts[b]} boxes, more than {slots_name}={max_slots} "
                         f"(on_overflow='truncate' keeps its first {max_slots})")
    order = np.argsort(image_index, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < max_slots
    return image_index[keep], categories[keep], boxes[keep]


def _check_call(detections, batch_size, options, maps, slots_name, max_slots, slot_bytes,
                on_overflow, num_threads):
    """Validated ``(batch_size, max_slots, num_threads, (image_index, categories, boxes))``.

    The outputs, ``maps`` heatmaps and ``max_slots`` slots of ``slot_bytes`` per image, must
    fit in memory (``check_batch_size``).
    """
    max_slots = check_index(slots_name, max_slots, minimum=1)
    batch_size = check_batch_size(batch_size, maps * options.image_bytes + max_slots * slot_bytes,
                                  f" and {slots_name}={max_slots}")
    on_overflow = check_on_overflow(on_overflow)
    threads = check_num_threads(num_threads)
    rows = slotted_detections(detections, batch_size, options, slots_name, max_slots, on_overflow)
    return batch_size, max_slots, threads, rows


def _fresh_maps(count: int, boxes: PreparedBoxes, options: CornerOptions, batch_size: int,
                threads: int) -> tuple[NDArray[np.float32], ...]:
    """``count`` new float32 maps with ``boxes`` stamped, made as ``encode_corners`` makes them."""
    maps = options.zeros(batch_size, count)
    stamp_corners(maps, boxes, options, threads, _kernels.TOUCH_PAGES)
    return maps


def _slot_arrays(batch_size: int, max_slots: int) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Zeroed float32 ``(B, T, 2)`` x 2, int64 ``(B, T)`` and uint8 ``(B, T)`` slot outputs."""
    return (np.zeros((batch_size, max_slots, 2), np.float32),
            np.zeros((batch_size, max_slots, 2), np.float32),
            np.zeros((batch_size, max_slots), np.int64),
            np.zeros((batch_size, max_slots), np.uint8))


def encode_cornernet(
    detections: ArrayLike,
    *,
    batch_size: int,
    num_classes: int,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    gaussian_iou: float = 0.3,
    gaussian_rad: int = -1,
    max_tag_len: int = 128,
    on_overflow: OnOverflow = "error",
    delte: float = 6,
    k: float = 1.0,
    radius_formula: RadiusFormula = "cornernet",
    min_radius: int = 0,
    num_threads: int | None = None,
) -> CornerNetTargets:
    """Encode boxes as CornerNet's full training targets: heatmaps, offsets, tags and masks.

    The heatmaps are those of ``encode_corners`` with the same options (float32). The box in
    slot ``t`` of image ``b`` is that image's ``t``-th row of ``detections`` (input order);
    with ``fxtl = x1 * out_w / in_w`` (float64, as in the seed) and ``xtl = int(fxtl)``:

    * ``tl_regrs[b, t] = (fxtl - xtl, fytl - ytl)``, ``br_regrs[b, t]`` likewise (float32);
    * ``tl_tags[b, t] = ytl * out_w + xtl``, ``br_tags[b, t] = ybr * out_w + xbr``;
    * ``tag_masks[b, t] = 1`` for ``t < tag_lens[b]``, the number of boxes of image ``b``.

    Slots past an image's boxes are 0.

    Parameters
    ----------
    detections, batch_size, num_classes, input_size, output_size, gaussian_iou, gaussian_rad, \
delte, k, radius_formula, min_radius, num_threads
        As for ``encode_corners``.
    max_tag_len : int, default 128
        Slots per image ``T``, ``>= 1``.
    on_overflow : {"error", "truncate"}, default "error"
        An image with more than ``max_tag_len`` boxes raises a ``ValueError`` naming it
        (CornerNet itself fails there with an ``IndexError``), or, with ``"truncate"``, keeps
        only its first ``max_tag_len`` boxes: in the slots *and* in the heatmaps.

    Returns
    -------
    CornerNetTargets
        ``tl_heatmaps``, ``br_heatmaps``: float32 ``(B, C, out_h, out_w)``;
        ``tl_regrs``, ``br_regrs``: float32 ``(B, T, 2)``; ``tl_tags``, ``br_tags``: int64
        ``(B, T)``; ``tag_masks``: uint8 ``(B, T)``; ``tag_lens``: int32 ``(B,)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (and the lowest offending row, or the overflowing
        image); as ``encode_corners`` when the outputs (maps and slots) exceed the physical
        memory.

    Notes
    -----
    Tags follow the formula even for corners off the map, as CornerNet's do: a corner left
    of the map (``xtl < 0``) or right of it (``xtl >= out_w``) gives a tag that points into
    another row (or outside the map, for negative values or values ``>= out_h * out_w``);
    its ``tag_masks`` entry is still 1.
    """
    options = CornerOptions.check(num_classes, input_size, output_size, gaussian_iou,
                                  gaussian_rad, delte, k, np.float32, radius_formula, min_radius)
    batch_size, max_tag_len, threads, rows = _check_call(
        detections, batch_size, options, 2, "max_tag_len", max_tag_len, SLOT_BYTES + 8,  # br_tags
        on_overflow, num_threads)
    image_index, categories, boxes = rows
    prepared = PreparedBoxes.prepare(image_index, categories, boxes, batch_size, options)
    tl_regrs, br_regrs, tl_tags, tag_masks = _slot_arrays(batch_size, max_tag_len)
    br_tags = np.zeros_like(tl_tags)
    tag_lens = np.zeros(batch_size, np.int32)
    with first_use("targets"):
        _target_kernels.fill_corner_slots(
            boxes, *options.ratios, options.output_size[1], prepared.starts, prepared.order,
            prepared.corners, tl_regrs, br_regrs, tl_tags, br_tags, tag_masks, tag_lens,
        )
    tl, br = _fresh_maps(2, prepared, options, batch_size, threads)
    return CornerNetTargets(tl, br, tl_regrs, br_regrs, tl_tags, br_tags, tag_masks, tag_lens)


def encode_centernet(
    detections: ArrayLike,
    *,
    batch_size: int,
    num_classes: int,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    gaussian_iou: float = 0.7,
    radius_formula: RadiusFormula = "centernet",
    max_objs: int = 128,
    on_overflow: OnOverflow = "error",
    delte: float = 6,
    k: float = 1.0,
    min_radius: int = 0,
    num_threads: int | None = None,
) -> CenterNetTargets:
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
num_threads
        As for ``encode_corners``.
    gaussian_iou : float, default 0.7
        ``min_overlap`` of the radius formula (CenterNet's default), in (0, 1).
    radius_formula : {"cornernet", "centernet"}, default "centernet"
        ``R``: the formula CenterNet shipped (default) or the seed's; see Notes.
    max_objs : int, default 128
        Slots per image ``M``, ``>= 1``.
    on_overflow : {"error", "truncate"}, default "error"
        An image with more than ``max_objs`` boxes raises a ``ValueError`` naming it, or, with
        ``"truncate"``, keeps only its first ``max_objs`` boxes (CenterNet's behaviour).

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
    ``gaussian_iou``; the seed (CornerNet) takes ``(b - sq) / (2a)`` for the first two roots
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
    options = CornerOptions.check(num_classes, input_size, output_size, gaussian_iou, -1,
                                  delte, k, np.float32, radius_formula, min_radius)
    batch_size, max_objs, threads, rows = _check_call(
        detections, batch_size, options, 1, "max_objs", max_objs, SLOT_BYTES, on_overflow,
        num_threads)
    image_index, categories, boxes = rows
    n = len(boxes)
    starts, order = np.empty(batch_size + 1, np.int64), np.empty(n, np.int64)
    points, radii = np.zeros((n, 2), np.int64), np.zeros(n, np.int64)  # one map: K = 1
    centers = PreparedBoxes(np.empty_like(starts), np.empty_like(order), image_index, categories,
                            points, radii)
    wh, reg, ind, reg_mask = _slot_arrays(batch_size, max_objs)
    out_h, out_w = options.output_size
    with first_use("targets"):
        _kernels.group_by_image(image_index, starts, order)
        _target_kernels.prepare_centers(
            boxes, *options.ratios, out_w, out_h, options.gaussian_iou, options.min_radius,
            options.radius_formula, 2.0, starts, order, points, radii, centers.starts,
            centers.order, wh, reg, ind, reg_mask,
        )
    (hm,) = _fresh_maps(1, centers, options, batch_size, threads)
    return CenterNetTargets(hm, wh, reg, ind, reg_mask)
