"""The CornerNet family: corner heatmaps (``encode_corners``, ``CornerEncoder``) and CornerNet's
full training targets (``encode_cornernet``, ``CornerNetEncoder``).

One compiled pass turns detections into two stamps per box (top-left corner into map 0,
bottom-right into map 1) and, for the full targets, CornerNet's slot arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (COUNT, REQUIRED, SLOTS, Encoder, Family, add_stamp, check_rows, finish,
                          gaussian_radius_scalar, group_rows, jit, new_stamps, one_shot, register,
                          runtime, slots_fit)


class CornerHeatmaps(NamedTuple):
    """Top-left and bottom-right corner heatmaps, each ``(batch, classes, out_h, out_w)``."""

    tl_heatmaps: NDArray[np.floating]
    br_heatmaps: NDArray[np.floating]


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


@jit
def _clip_boxes(rows, in_h, in_w):
    """CornerNet's ``_clip_detections``: ``(clipped rows, keep)``, x clipped to
    ``[0, in_w - 1]``, y to ``[0, in_h - 1]``, keep where both sides stay > 0."""
    rows = rows.copy()
    keep = np.empty(rows.shape[0], np.bool_)
    for i in range(rows.shape[0]):
        for column in (2, 4):
            rows[i, column] = min(max(rows[i, column], 0.0), in_w - 1.0)
        for column in (3, 5):
            rows[i, column] = min(max(rows[i, column], 0.0), in_h - 1.0)
        keep[i] = rows[i, 4] - rows[i, 2] > 0 and rows[i, 5] - rows[i, 3] > 0
    return rows, keep


@jit
def _corner_pass(rows, batch_size, num_classes, width_ratio, height_ratio, min_overlap,
                 fixed_radius, min_radius, formula, two, max_slots, on_overflow, clip, in_h,
                 in_w, out_h, out_w, starts, points, info, tl_regrs, br_regrs, tl_tags, br_tags,
                 tag_masks, tag_lens):
    """Check the rows, clip them if ``clip``, then stamp both corners of every box (of the
    first ``max_slots`` boxes of each image, if ``max_slots > 0``) and fill the slot arrays,
    as CornerNet does.

    For box ``i`` (float64, as the reference): ``xtl = int(x1 * width_ratio)`` (truncation),
    likewise ``ytl``, ``xbr``, ``ybr``; radius from ``ceil`` of the scaled box size (or
    ``fixed_radius >= 0``), floored at ``min_radius``. Slot ``t`` of image ``b`` is its
    ``t``-th box in input order: ``tl_regrs[b, t] = (x1 * width_ratio - xtl, ...)`` rounded to
    float32, ``tl_tags[b, t] = ytl * out_w + xtl``, ``tag_masks[b, t] = 1``; a box with a
    corner off the map keeps a slot of zeros (``tag_masks`` 0): its tags would point outside
    the map or at another cell.
    """
    if not check_rows(rows, batch_size, num_classes, width_ratio, height_ratio, info):
        return
    keep = np.empty(0, np.bool_)
    if clip:
        rows, keep = _clip_boxes(rows, in_h, in_w)
    first, order = group_rows(rows, batch_size, keep)
    if not slots_fit(first, max_slots, on_overflow, info):
        return
    slotted = max_slots > 0
    if slotted:
        tl_regrs[:] = 0.0
        br_regrs[:] = 0.0
        tl_tags[:] = 0
        br_tags[:] = 0
        tag_masks[:] = 0
    n = 0
    for b in range(batch_size):
        starts[b] = n
        count = first[b + 1] - first[b]
        if slotted:
            count = min(count, max_slots)
            tag_lens[b] = count
        for t in range(count):
            i = order[first[b] + t]
            x1, y1, x2, y2 = rows[i, 2], rows[i, 3], rows[i, 4], rows[i, 5]
            xtl, ytl = int(x1 * width_ratio), int(y1 * height_ratio)
            xbr, ybr = int(x2 * width_ratio), int(y2 * height_ratio)
            if fixed_radius < 0:
                width = np.ceil((x2 - x1) * width_ratio)
                height = np.ceil((y2 - y1) * height_ratio)
                radius = int(gaussian_radius_scalar(height, width, min_overlap, formula, two))
            else:
                radius = fixed_radius
            radius = max(min_radius, radius)
            category = int(rows[i, 1])
            n = add_stamp(points, n, info, out_h, out_w, 0, category, xtl, ytl, radius)
            n = add_stamp(points, n, info, out_h, out_w, 1, category, xbr, ybr, radius)
            on_map = (0 <= xtl < out_w and 0 <= ytl < out_h and 0 <= xbr < out_w
                      and 0 <= ybr < out_h)
            if slotted and on_map:
                tl_regrs[b, t, 0] = x1 * width_ratio - xtl
                tl_regrs[b, t, 1] = y1 * height_ratio - ytl
                br_regrs[b, t, 0] = x2 * width_ratio - xbr
                br_regrs[b, t, 1] = y2 * height_ratio - ybr
                tl_tags[b, t] = ytl * out_w + xtl
                br_tags[b, t] = ybr * out_w + xbr
                tag_masks[b, t] = 1
    starts[batch_size] = n
    info[COUNT] = n


_NO_SLOTS = (np.zeros((0, 0, 2), np.float32), np.zeros((0, 0, 2), np.float32),
             np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64), np.zeros((0, 0), np.uint8),
             np.zeros(0, np.int32))


def _run_corner_pass(spec, rows, batch_size, slots, labels):
    starts, points, info = new_stamps(batch_size, 2 * len(rows))
    runtime.call(_corner_pass, _corner_pass, rows, batch_size, spec.num_classes, *spec.ratios,
                 spec.gaussian_iou, spec.gaussian_rad, spec.min_radius, spec.radius_formula, 2.0,
                 spec.max_slots, spec.on_overflow, spec.clip, *spec.input_size, *spec.output_size,
                 starts, points, info, *(slots or _NO_SLOTS))
    return finish(rows, starts, points, info, batch_size=batch_size, num_classes=spec.num_classes,
                  slots_name="max_tag_len", max_slots=spec.max_slots, on_overflow=spec.on_overflow,
                  labels=labels)


_OPTIONS = dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED, gaussian_iou=0.3,
                gaussian_rad=-1, delte=6, k=1.0, clip=False)
_RADIUS = dict(radius_formula="cornernet", min_radius=0)

CORNERS = register(Family(
    name="corners", result=CornerHeatmaps, maps=2, run_pass=_run_corner_pass,
    options={**_OPTIONS, "dtype": np.float32, **_RADIUS},
))
CORNERNET = register(Family(
    name="cornernet", result=CornerNetTargets, maps=2, run_pass=_run_corner_pass,
    options={**_OPTIONS, "max_tag_len": 128, "on_overflow": "warn", **_RADIUS},
    slots=(((SLOTS, 2), np.float32), ((SLOTS, 2), np.float32), ((SLOTS,), np.int64),
           ((SLOTS,), np.int64), ((SLOTS,), np.uint8), ((), np.int32)),
    slots_option="max_tag_len",
))


@one_shot(CORNERS)
def encode_corners() -> CornerHeatmaps:
    """Encode boxes as CornerNet top-left and bottom-right corner heatmaps.

    For every box, as in CornerNet: scale the corners by ``output / input`` size, truncate them
    to grid cells, compute the radius from the scaled box size, and max-merge an unnormalized
    2-D Gaussian into ``[batch_index, category]`` of each map. With default options the result
    is bit-identical to the reference (docs/references.md, CornerNet).

    Parameters
    ----------
    detections : array_like, shape (N, 6), or (N, 5) with ``batch_size=None``
        Rows ``(batch_index, category, x1, y1, x2, y2)`` in input pixels, any order, any real
        dtype (all box arithmetic is float64); a torch tensor is detached and moved to the CPU.
        ``batch_index`` and ``category`` are whole numbers; ``x2 >= x1`` and ``y2 >= y1``
        (zero-size boxes are valid). Boxes may lie partly or wholly outside the image: the
        visible part of each Gaussian is stamped. An empty array (or ``[]``) means no boxes.
    batch_size : int or None
        Number of images ``B``, ``>= 1``. ``None``: one image, rows ``(category, x1, y1, x2,
        y2)``, and every field of the result without the batch axis (the batch of one's
        ``[0]``).
    num_classes : int
        Number of categories ``C``, ``>= 1``.
    input_size, output_size : (int, int) or int
        ``(height, width)`` of the network input and of the heatmaps (one int: a square), each
        side in ``[1, 2**31)``. The ratios are ``out_w / in_w`` and ``out_h / in_h``.
    gaussian_iou : float, default 0.3
        ``min_overlap`` of the radius formula, in (0, 1).
    gaussian_rad : int, default -1
        ``-1`` computes each box's radius from its size; ``>= 0`` fixes it.
    delte : float, default 6
        ``sigma = (2 * radius + 1) / delte``, in ``(0, 1e150]``.
    k : float, default 1.0
        Peak value of each Gaussian.
    clip : bool, default False
        First clip every box into the input image (x to ``[0, in_w - 1]``, y to
        ``[0, in_h - 1]``) and drop the boxes left with no width or height: CornerNet's
        ``_clip_detections``, which CornerNet and CornerNet-Lite apply before their loop.
    dtype : float32 or float64, default float32
        Heatmap dtype.
    radius_formula : {"cornernet", "centernet"}, default "cornernet"
        See ``gaussian_radius``.
    min_radius : int, default 0
        Floor on every radius (CenterPoint-style); 0 keeps the reference's ``max(0, radius)``.
    out : (ndarray, ndarray), optional
        ``(tl, br)`` C-contiguous writeable arrays of shape ``(B, C, out_h, out_w)`` and dtype
        ``dtype``, overwritten entirely and returned.
    image_ids : sequence, optional
        One name per image (dataset indices, file names; one value with ``batch_size=None``),
        used by error messages.
    sparse : bool, default False
        Return ``SparseTargets`` instead: the points to stamp and the slot arrays, without the
        dense maps (tens of KB instead of hundreds of MB), for a DataLoader worker to return
        and the training process to render (``to_dense``, an encoder's ``render``,
        ``fastheat.torch.to_dense``), bit-identically (README, "Using fastheat in a DataLoader").
    num_threads : int, optional
        Threads for this call. Default: one, or more where the work pays for them and cores
        are idle (README, "Threads, fork and load"); at most ``fastheat.default_num_threads()``.

    Returns
    -------
    CornerHeatmaps or SparseTargets
        Named tuple ``(tl_heatmaps, br_heatmaps)``, each ``(B, C, out_h, out_w)``; with
        ``sparse=True``, ``SparseTargets`` whose ``to_dense()`` is that tuple.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for detections, the lowest offending row and its
        first problem); ``out`` is then left untouched. Also a ``ValueError`` naming
        ``batch_size`` when the new outputs would exceed the machine's physical memory.
    """


@one_shot(CORNERNET)
def encode_cornernet() -> CornerNetTargets:
    """Encode boxes as CornerNet's full training targets: heatmaps, offsets, tags and masks.

    The heatmaps are those of ``encode_corners`` with the same options (float32). The box in
    slot ``t`` of image ``b`` is that image's ``t``-th row of ``detections`` (input order);
    with ``fxtl = x1 * out_w / in_w`` (float64, as in the reference) and ``xtl = int(fxtl)``:

    * ``tl_regrs[b, t] = (fxtl - xtl, fytl - ytl)``, ``br_regrs[b, t]`` likewise (float32);
    * ``tl_tags[b, t] = ytl * out_w + xtl``, ``br_tags[b, t] = ybr * out_w + xbr``;
    * ``tag_masks[b, t] = 1``; ``tag_lens[b]`` is the number of boxes of image ``b``.

    Slots past an image's boxes are 0, and so is the slot of a box with a corner off the map
    (``tag_masks`` 0 included); see Notes.

    Parameters
    ----------
    detections, batch_size, num_classes, input_size, output_size, gaussian_iou, gaussian_rad, \
delte, k, clip, radius_formula, min_radius, image_ids, sparse, num_threads
        As for ``encode_corners``.
    max_tag_len : int, default 128
        Slots per image ``T``, ``>= 1``.
    on_overflow : {"warn", "error", "truncate"}, default "warn"
        An image with more than ``max_tag_len`` boxes keeps only its first ``max_tag_len``
        boxes, in the slots *and* in the heatmaps; ``"warn"`` also says so, once per process,
        with the count of dropped boxes; ``"error"`` raises a ``ValueError`` naming the image
        instead (CornerNet itself fails there with an ``IndexError``).
    out : CornerNetTargets or tuple of 8 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.

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
        image).

    Notes
    -----
    Off-map corners (without ``clip``, e.g. after a random crop): CornerNet's formula would
    give a tag that points into another row (a corner left or right of the map) or outside
    the map (a failing gather), with its mask 1. fastheat leaves such a box's slot 0 and
    masked, and still stamps the visible part of its Gaussians. ``clip=True`` reproduces
    CornerNet's own pipeline, where no corner is off the map.
    """


class CornerEncoder(Encoder):
    """Configure once, then encode corner heatmaps batch after batch into reused buffers.

    ``encoder(detections, batch_size)`` returns the same named tuple as ``encode_corners`` with
    the same options, but the encoder owns its output buffers: each call clears only the cells
    that the previous call stamped, so a call costs in proportion to the stamped area, not to
    the size of the maps.

    .. warning::
       The returned arrays are read-only views of the encoder's buffers and are **overwritten
       by the next call**. Use them (or copy them) before calling the encoder again, or pass
       ``copy=True`` to get fresh arrays. Never write into the buffers by other means. Never
       return the views from a DataLoader dataset: the loader pickles results in a background
       thread while the worker already encodes the next item (README, "What to return").

    Parameters
    ----------
    num_classes, input_size, output_size, gaussian_iou, gaussian_rad, delte, k, dtype, \
radius_formula, min_radius, num_threads
        As for ``encode_corners``.

    Notes
    -----
    A call with a larger ``batch_size`` than any before allocates bigger buffers; a smaller one
    reuses the first ``batch_size`` images. An encoder is not shared between threads: a call
    while another thread's call on the same encoder is running raises ``RuntimeError`` (use one
    encoder per thread; different encoders run concurrently).

    An encoder inherited by a forked process (e.g. created or used in a DataLoader's parent)
    notices the new process id on its first call there and allocates its own buffers: writing
    into the parent's buffers, shared copy-on-write, would copy them page by page into small
    pages. A pickled encoder (e.g. in a dataset sent to spawned workers) carries its
    configuration only.
    """

    family = CORNERS


class CornerNetEncoder(Encoder):
    """``encode_cornernet`` into reused heatmap buffers: see ``CornerEncoder``.

    ``encoder(detections, batch_size, copy=False)`` returns ``CornerNetTargets`` bit-identical
    to ``encode_cornernet`` with the same options; the heatmaps are read-only views valid until
    the next call (fresh arrays with ``copy=True``), the slot arrays are fresh every call.
    """

    family = CORNERNET
