"""The CenterNet family: CenterNet's ("Objects as Points") ctdet training targets
(``encode_centernet``, ``CenterNetEncoder``).

One compiled pass turns detections into one stamp per box (its centre, into the one heatmap)
and CenterNet's slot arrays; with ``dense_wh=True`` a second compiled pass, in box order as
CenterNet's loop, writes the dense size maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CHANNEL_PAIRS, COUNT, HEIGHT, MAX_GRID_COORD, RADIUS, RENDERING, REQUIRED,
                          SLOTS, WIDTH, X, Y, Encoder, Family, MapSpec, MsraGaussian, add_stamp,
                          check_flag, check_rows, finish, gaussian_radius_scalar, group_rows, jit,
                          map_spec, new_stamps, one_shot, register, runtime, slots_fit, stamp,
                          stamp_values, table_of, table_offset, visible_window, window, with_fields)

GAUSSIANS = ("umich", "msra")


class CenterNetTargets(NamedTuple):
    """CenterNet's ctdet training targets for ``B`` images with ``M = max_objs`` slots.

    ``dense_wh=True`` appends the fields ``dense_wh`` and ``dense_wh_mask`` (float32
    ``(B, 2, H, W)``), ``cat_spec_wh=True`` the fields ``cat_spec_wh`` (float32) and
    ``cat_spec_mask`` (uint8), ``(B, M, 2C)``, in that order; a result without them gives
    ``None`` for them. (A result holds only the fields its options fill, so that unpacking it,
    pickling it and torch's default collate work as for the default five.)
    """

    hm: NDArray[np.float32]  #: (B, C, H, W)
    wh: NDArray[np.float32]  #: (B, M, 2)
    reg: NDArray[np.float32]  #: (B, M, 2)
    ind: NDArray[np.int64]  #: (B, M)
    reg_mask: NDArray[np.uint8]  #: (B, M)

    dense_wh = property(lambda self: None, doc="(B, 2, H, W) with ``dense_wh=True``, else None")
    dense_wh_mask = property(lambda self: None,
                             doc="(B, 2, H, W) with ``dense_wh=True``, else None")
    cat_spec_wh = property(lambda self: None,
                           doc="(B, M, 2C) with ``cat_spec_wh=True``, else None")
    cat_spec_mask = property(lambda self: None,
                             doc="(B, M, 2C) with ``cat_spec_wh=True``, else None")


DENSE_WH, CAT_SPEC_WH = ("dense_wh", "dense_wh_mask"), ("cat_spec_wh", "cat_spec_mask")
CenterNetDenseTargets = with_fields(CenterNetTargets, "CenterNetDenseTargets", DENSE_WH,
                                    "``CenterNetTargets`` with ``dense_wh=True``.")
CenterNetCatSpecTargets = with_fields(CenterNetTargets, "CenterNetCatSpecTargets", CAT_SPEC_WH,
                                      "``CenterNetTargets`` with ``cat_spec_wh=True``.")
CenterNetAllTargets = with_fields(CenterNetTargets, "CenterNetAllTargets", DENSE_WH + CAT_SPEC_WH,
                                  "``CenterNetTargets`` with ``dense_wh=True`` and "
                                  "``cat_spec_wh=True``.")


@dataclass(frozen=True)
class CenterNetSpec(MapSpec):
    """``MapSpec`` with CenterNet's own options: ``msra_sigma`` is the sigma of
    ``gaussian="msra"`` (its ``gaussian_rad``; 0 for ``"umich"``), ``dense_wh`` and
    ``cat_spec_wh`` add their fields."""

    msra_sigma: int = 0
    dense_wh: bool = False
    cat_spec_wh: bool = False

    def differences(self, other: MapSpec, fields=None) -> list[str]:
        """``MapSpec.differences``, ``msra_sigma`` named by the option users set
        (``gaussian``, with ``gaussian_rad``)."""
        names = super().differences(other, fields)
        return list(dict.fromkeys("gaussian" if name == "msra_sigma" else name for name in names))

    @property
    def gaussian(self):
        """What the heatmap is stamped with (``tables``): the MSRA Gaussian of
        ``msra_sigma``, or CornerNet's ``gaussian2D`` (``(delte, k)``)."""
        return MsraGaussian(float(self.msra_sigma)) if self.msra_sigma else (self.delte, self.k)


def _make_spec(values: dict) -> CenterNetSpec:
    spec = map_spec(values, "max_objs")
    gaussian = values["gaussian"]
    if not isinstance(gaussian, str) or gaussian not in GAUSSIANS:
        raise ValueError(f"gaussian must be one of {list(GAUSSIANS)}, got {gaussian!r}")
    msra_sigma = 0
    if gaussian == "msra":
        msra_sigma = spec.gaussian_rad
        if not 1 <= msra_sigma < MAX_GRID_COORD // 3:
            raise ValueError(f"gaussian='msra' needs gaussian_rad, its sigma (CenterNet's "
                             f"hm_gauss), in [1, {MAX_GRID_COORD // 3}), got {msra_sigma}")
        defaults = CENTERNET.options
        ignored = [name for name in ("gaussian_iou", "radius_formula", "min_radius", "delte", "k")
                   if values[name] != defaults[name]]
        if ignored:
            raise ValueError(f"{', '.join(ignored)} shape gaussian='umich' only (gaussian='msra' "
                             f"stamps every box with sigma gaussian_rad): leave "
                             f"{'it' if len(ignored) == 1 else 'them'} at the default")
    return CenterNetSpec(**{field.name: getattr(spec, field.name) for field in fields(MapSpec)},
                         msra_sigma=msra_sigma,
                         dense_wh=check_flag("dense_wh", values["dense_wh"]),
                         cat_spec_wh=check_flag("cat_spec_wh", values["cat_spec_wh"]))


@jit
def _scale_clip(value, ratio, high):
    """``np.clip(float32(value * ratio), 0, high)``: scaled in float64, clipped in float32."""
    return min(max(np.float32(value * ratio), np.float32(0.0)), high)


@jit
def _center_pass(rows, batch_size, num_classes, width_ratio, height_ratio, min_overlap,
                 fixed_radius, min_radius, msra_sigma, formula, two, max_slots, on_overflow,
                 out_h, out_w, starts, points, info, sizes, wh, reg, ind, reg_mask, cat_spec_wh,
                 cat_spec_mask):
    """Check the rows, then for each of the first ``max_slots`` boxes of every image (slot
    ``t``: its ``t``-th box in input order) compute CenterNet's targets and stamp its centre
    (``encode_centernet``, steps 1-5). A box of zero float32 width or height keeps an empty
    slot and stamps nothing. ``sizes`` (stamp by stamp, its box's ``(w, h)``) and the
    ``cat_spec`` arrays are filled only if not empty."""
    if not check_rows(rows, batch_size, num_classes, width_ratio, height_ratio, info):
        return
    first, order = group_rows(rows, batch_size, np.empty(0, np.bool_))
    if not slots_fit(first, max_slots, on_overflow, info):
        return
    wh[:] = 0.0
    reg[:] = 0.0
    ind[:] = 0
    reg_mask[:] = 0
    cat_spec_wh[:] = 0.0
    cat_spec_mask[:] = 0
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
            if msra_sigma > 0:
                radius = 3 * msra_sigma  # draw_msra_gaussian's window
            elif fixed_radius >= 0:
                radius = max(min_radius, fixed_radius)
            else:
                radius = int(gaussian_radius_scalar(float(math.ceil(h)), float(math.ceil(w)),
                                                    min_overlap, formula, two))
                radius = max(min_radius, max(0, radius))
            cx = np.float32(np.float32(x1 + x2) / half)
            cy = np.float32(np.float32(y1 + y2) / half)
            x, y = int(cx), int(cy)
            category = int(rows[i, 1])
            if sizes.shape[0] > 0:
                sizes[n, 0] = w
                sizes[n, 1] = h
            n = add_stamp(points, n, info, out_h, out_w, 0, category, x, y, radius)
            wh[b, t, 0] = w
            wh[b, t, 1] = h
            reg[b, t, 0] = cx - x
            reg[b, t, 1] = cy - y
            ind[b, t] = y * out_w + x
            reg_mask[b, t] = 1
            if cat_spec_wh.shape[0] > 0:
                cat_spec_wh[b, t, 2 * category] = w
                cat_spec_wh[b, t, 2 * category + 1] = h
                cat_spec_mask[b, t, 2 * category] = 1
                cat_spec_mask[b, t, 2 * category + 1] = 1
    starts[batch_size] = n
    info[COUNT] = n


@jit
def _row_of(table, covered, beyond, first, radius, x, y, yy, x0, x1, y0):
    """``(values, start)``: the Gaussian of ``radius`` at ``(x, y)`` has, in row ``yy`` of its
    visible window ``[y0, ..) x [x0, x1)``, the value ``values[start + xx]`` at column ``xx``:
    from ``table`` if it covers the radius (``tables``), else from ``beyond``, where the
    point's window starts at ``first``, row after row."""
    if radius <= covered:
        return table, table_offset(radius) + abs(yy - y) * (2 * radius + 1) + radius - x
    return beyond, first + (yy - y0) * (x1 - x0) - x0


@jit
def _dense_wh_pass(starts, points, sizes, height, width, msra_sigma, table, covered, beyond,
                   beyond_starts, compare, compare_covered, compare_beyond, compare_starts,
                   dense_wh, dense_wh_mask):
    """CenterNet's ``draw_dense_reg`` for every stamped box, image by image in box order, into
    the flat ``(B, 2, H, W)`` ``dense_wh`` and ``dense_wh_mask``.

    ``dense_wh_mask[b, 0]`` holds the running ``hm.max(axis=0)``: each box's stamp (``table``)
    is merged into it first, then every cell of the box's ``compare`` Gaussian (the umich
    Gaussian of its radius, or of ``msra_sigma``, in float64) at least that maximum gets the
    box's ``(w, h)`` in ``dense_wh``. At the end ``dense_wh_mask[b, 1]`` is a copy of it.
    Points whose radius a table does not cover read their window's values from ``beyond`` at
    ``beyond_starts[j]`` (and ``compare_beyond``)."""
    plane = height * width
    for b in range(starts.size - 1):
        base = 2 * b * plane
        dense_wh_mask[base:base + plane] = 0.0
        dense_wh[base:base + 2 * plane] = 0.0
        for j in range(starts[b], starts[b + 1]):
            x, y, radius = points[j, X], points[j, Y], points[j, RADIUS]
            if radius <= covered:
                stamp(dense_wh_mask, base, height, width, x, y, radius, table)
            else:
                y0, y1 = window(y, radius, height)
                x0, x1 = window(x, radius, width)
                stamp_values(dense_wh_mask, base, width, beyond, beyond_starts[j], y0, y1, x0, x1)
            radius = msra_sigma if msra_sigma > 0 else radius
            y0, y1 = window(y, radius, height)
            x0, x1 = window(x, radius, width)
            w, h = sizes[j, 0], sizes[j, 1]
            for yy in range(y0, y1):
                values, start = _row_of(compare, compare_covered, compare_beyond,
                                        compare_starts[j], radius, x, y, yy, x0, x1, y0)
                row = base + yy * width
                for xx in range(x0, x1):
                    if values[start + xx] >= dense_wh_mask[row + xx]:
                        dense_wh[row + xx] = w
                        dense_wh[row + plane + xx] = h
        dense_wh_mask[base + plane:base + 2 * plane] = dense_wh_mask[base:base + plane]


def _window_values(points, radii, indices, gaussian, dtype, height: int, width: int):
    """``(values, first)``: the values of the visible windows of the points ``indices``, each
    of radius ``radii[j]`` (``tables.visible_window``), row after row, point ``j``'s from
    ``first[j]``."""
    first = np.zeros(len(points), np.int64)
    parts = [np.zeros(0, dtype)]
    count = 0
    for j in indices.tolist():
        values = visible_window(gaussian, int(points[j, X]), int(points[j, Y]), int(radii[j]),
                                height, width)[4]
        parts.append(values.astype(dtype).ravel())  # (a centre on the map: never empty)
        first[j] = count
        count += parts[-1].size
    return np.concatenate(parts), first


def _dense_wh(spec: CenterNetSpec, stamps, sizes, dense_wh, dense_wh_mask) -> None:
    """Fill the dense fields (``_dense_wh_pass``): one call for the batch when the Gaussian
    tables cover every radius, else one call per image with its points' windows beyond them
    (bounded memory: one image's windows at a time)."""
    height, width = spec.output_size
    points, starts = stamps.points, stamps.starts
    radii = points[:, RADIUS]
    compare_radii = np.full(len(points), spec.msra_sigma) if spec.msra_sigma else radii
    table, covered = table_of(spec.gaussian, spec.dtype, stamps.max_radius, max(height, width))
    compare, compare_covered = table_of((spec.delte, spec.k), np.dtype(np.float64),
                                        int(compare_radii.max(initial=0)), max(height, width))
    if radii.max(initial=0) <= covered and compare_radii.max(initial=0) <= compare_covered:
        chunks = [(0, stamps.images)]
    else:
        chunks = [(b, b + 1) for b in range(stamps.images)]
    dense_wh, dense_wh_mask = dense_wh.reshape(-1), dense_wh_mask.reshape(-1)
    size = 2 * height * width
    for first, last in chunks:
        mine = np.arange(starts[first], starts[last])
        runtime.call(_dense_wh_pass, _dense_wh_pass, starts[first:last + 1], points, sizes,
                     height, width, spec.msra_sigma, table, covered,
                     *_window_values(points, radii, mine[radii[mine] > covered], spec.gaussian,
                                     spec.dtype, height, width),
                     compare, compare_covered,
                     *_window_values(points, compare_radii,
                                     mine[compare_radii[mine] > compare_covered],
                                     (spec.delte, spec.k), np.dtype(np.float64), height, width),
                     dense_wh[first * size:last * size], dense_wh_mask[first * size:last * size])


_NO_CAT_SPEC = (np.zeros((0, 0, 0), np.float32), np.zeros((0, 0, 0), np.uint8))


def _run_center_pass(spec, rows, batch_size, slots, labels):
    starts, points, info = new_stamps(batch_size, len(rows))
    sizes = np.empty((len(rows) if spec.dense_wh else 0, 2), np.float32)
    slot = dict(zip(CENTERNET.layout(spec).result._fields[1:], slots))  # by field name
    always = [slot[name] for name in CenterNetTargets._fields[1:]]
    cat_spec = [slot[name] for name in CAT_SPEC_WH] if spec.cat_spec_wh else _NO_CAT_SPEC
    runtime.call(_center_pass, _center_pass, rows, batch_size, spec.num_classes, *spec.ratios,
                 spec.gaussian_iou, spec.gaussian_rad, spec.min_radius, spec.msra_sigma,
                 spec.radius_formula, 2.0, spec.max_slots, spec.on_overflow, *spec.output_size,
                 starts, points, info, sizes, *always, *cat_spec)
    stamps = finish(rows, starts, points, info, batch_size=batch_size,
                    num_classes=spec.num_classes, slots_name="max_objs",
                    max_slots=spec.max_slots, on_overflow=spec.on_overflow, labels=labels)
    if spec.dense_wh:
        _dense_wh(spec, stamps, sizes, *(slot[name] for name in DENSE_WH))
    return stamps


CENTERNET = register(Family(
    name="centernet", result=CenterNetTargets, maps=1, run_pass=_run_center_pass,
    options=dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                 gaussian_iou=0.7, radius_formula="centernet", max_objs=128, on_overflow="warn",
                 gaussian="umich", gaussian_rad=-1, dense_wh=False, cat_spec_wh=False,
                 delte=6, k=1.0, min_radius=0),
    slots=(((SLOTS, 2), np.float32), ((SLOTS, 2), np.float32), ((SLOTS,), np.int64),
           ((SLOTS,), np.uint8), ((2, HEIGHT, WIDTH), np.float32, "dense_wh", "dense_wh"),
           ((2, HEIGHT, WIDTH), np.float32, "dense_wh_mask", "dense_wh"),
           ((SLOTS, CHANNEL_PAIRS), np.float32, "cat_spec_wh", "cat_spec_wh"),
           ((SLOTS, CHANNEL_PAIRS), np.uint8, "cat_spec_mask", "cat_spec_wh")),
    variants={DENSE_WH: CenterNetDenseTargets, CAT_SPEC_WH: CenterNetCatSpecTargets,
              DENSE_WH + CAT_SPEC_WH: CenterNetAllTargets},
    slots_option="max_objs", make_spec=_make_spec, spec_type=CenterNetSpec,
    rendering=(*RENDERING, "msra_sigma"),
    warmup_options=({}, {"dense_wh": True}),
))


@one_shot(CENTERNET)
def encode_centernet() -> CenterNetTargets:
    """Encode boxes as CenterNet's ("Objects as Points") ctdet training targets.

    As CenterNet's ``ctdet`` dataset, with plain scaling in place of its affine warp. The box
    in slot ``t`` of image ``b`` is that image's ``t``-th row of ``detections`` (input order):

    1. scale it to the output map in float64 (``x * (out_w / in_w)``, ``y * (out_h / in_h)``,
       the ratios of ``encode_corners``), round to a float32 ``bbox`` and clip in float32:
       ``x`` to ``[0, out_w - 1]``, ``y`` to ``[0, out_h - 1]``;
    2. ``w = x2 - x1``, ``h = y2 - y1`` (float32). Only if ``h > 0 and w > 0``:
    3. ``radius = max(min_radius, max(0, int(R((ceil(h), ceil(w)), gaussian_iou))))``, or
       ``max(min_radius, gaussian_rad)`` if ``gaussian_rad >= 0``, or with ``gaussian="msra"``
       ``gaussian_rad`` (its sigma; it stamps the cells within ``3 * gaussian_rad``);
    4. ``ct = float32((x1 + x2) / 2, (y1 + y2) / 2)``, ``ct_int = int(ct)`` (truncation);
    5. stamp the Gaussian of ``radius`` at ``ct_int`` into ``hm[b, category]`` (as
       ``draw_gaussian``, with ``k`` and ``delte``; with ``gaussian="msra"``, CenterNet's
       ``draw_msra_gaussian`` of sigma ``gaussian_rad``), and set ``wh[b, t] = (w, h)``,
       ``ind[b, t] = ct_int_y * out_w + ct_int_x``, ``reg[b, t] = ct - ct_int`` and
       ``reg_mask[b, t] = 1`` (and with ``cat_spec_wh=True``, ``cat_spec_wh[b, t, 2c:2c + 2]
       = (w, h)`` and ``cat_spec_mask[b, t, 2c:2c + 2] = 1`` for its category ``c``);
    6. with ``dense_wh=True``, as CenterNet's ``draw_dense_reg``: every cell within
       ``radius`` (``gaussian_rad`` with ``"msra"``) of ``ct_int`` where the umich Gaussian
       of that radius (float64, ``delte``, ``k``) is at least ``hm[b].max(axis=0)`` as it
       stands after step 5 gets ``dense_wh[b, :, y, x] = (w, h)``; finally
       ``dense_wh_mask[b, 0] = dense_wh_mask[b, 1] = hm[b].max(axis=0)``.

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
    gaussian : {"umich", "msra"}, default "umich"
        The heatmap's Gaussian: CornerNet's ``gaussian2D`` of each box's radius (CenterNet's
        ``draw_umich_gaussian``), or CenterNet's ``draw_msra_gaussian`` (its ``mse_loss``) of
        sigma ``gaussian_rad`` for every box, cut at ``3 * gaussian_rad`` around the centre.
        ``gaussian_iou``, ``radius_formula``, ``min_radius``, ``delte`` and ``k`` shape the
        umich Gaussian only (leave them at their defaults with ``"msra"``).
    gaussian_rad : int, default -1
        With ``"umich"``: -1 computes each box's radius, ``>= 0`` fixes it (floored at
        ``min_radius``). With ``"msra"``: the sigma, CenterNet's ``hm_gauss``, ``>= 1``
        (required: CenterNet declares no default).
    dense_wh, cat_spec_wh : bool, default False
        Add the fields ``dense_wh`` and ``dense_wh_mask`` (step 6), or ``cat_spec_wh`` and
        ``cat_spec_mask`` (step 5), to the result, in that order.
    on_overflow : {"warn", "error", "truncate"}, default "warn"
        An image with more than ``max_objs`` boxes keeps only its first ``max_objs`` boxes
        (CenterNet's behaviour); ``"warn"`` also says so, once per process, with the count of
        dropped boxes; ``"error"`` raises a ``ValueError`` naming the image instead.
    out : CenterNetTargets or tuple of arrays, optional
        Arrays of the result's fields (5, or more with ``dense_wh`` or ``cat_spec_wh``), of its
        shapes and dtypes, overwritten entirely and returned.

    Returns
    -------
    CenterNetTargets
        ``hm``: float32 ``(B, C, out_h, out_w)``; ``wh``, ``reg``: float32 ``(B, M, 2)``;
        ``ind``: int64 ``(B, M)``; ``reg_mask``: uint8 ``(B, M)``; then, if asked for,
        ``dense_wh``, ``dense_wh_mask``: float32 ``(B, 2, out_h, out_w)``; ``cat_spec_wh``:
        float32, ``cat_spec_mask``: uint8, ``(B, M, 2C)``. Fields not asked for are not in
        the tuple; their attributes are ``None``.

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


class CenterNetEncoder(Encoder):
    """``encode_centernet`` into a reused heatmap buffer: see ``CornerEncoder``.

    ``encoder(detections, batch_size, copy=False)`` returns ``CenterNetTargets`` bit-identical
    to ``encode_centernet`` with the same options; ``hm`` is a read-only view valid until the
    next call (a fresh array with ``copy=True``), the slot arrays are fresh every call.
    """

    family = CENTERNET
