"""The TTFNet family: ``TTFHead.target_generator`` of TTFNet (ZJULearning/ttfnet;
``encode_ttfnet``, ``TTFNetEncoder``).

One compiled pass checks the rows, orders each image's boxes by descending processed area
(stable) and turns every box into one stamp of its elliptical Gaussian (``kinds.
EllipticalGaussian``: radii ``alpha`` times the half feature-box sides, the point's clip
rectangle), with a regression region (the box of its ``beta`` ellipse, or TTFNet's
``calc_region`` rectangle) and the values ``box_target`` and ``reg_weight`` take there (region
fields, ``cells.RegionField``: rendered in point order, later, smaller, boxes overwriting
earlier ones; reused and cleared like the heatmap). The sum of each region's weights, which
``reg_weight`` divides by, comes from the same pair tables (``EllipticalGaussian.window_sums``:
each kernel's total, kept with it, for a region the map does not clip).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CELLS, COUNT, MAX_GRID_COORD, MAX_RADIUS, RENDERING, REQUIRED, X_HI, X_LO,
                          Y_HI, Y_LO, EllipticalGaussian, Encoder, Family, MapSpec, RegionField,
                          asymmetric_rectangle, check_flag, check_index, check_map_size, check_real,
                          check_rows, ellipse_clip, finish, group_rows, jit, new_stamps, one_shot,
                          region_windows, register, runtime)

#: ``wh_area_process``: TTFNet's names, and the code the pass takes.
AREA_PROCESSES = {"log": 0, "sqrt": 1, "norm": 2, None: 3}
LOG, SQRT, NORM, AREA = 0, 1, 2, 3
KIND = EllipticalGaussian("float64")


class TTFNetTargets(NamedTuple):
    """TTFNet's training targets for ``B`` images, all float32 (``P = 1`` with
    ``wh_agnostic=True``, else ``C``)."""

    heatmap: NDArray[np.float32]  #: (B, C, H, W)
    box_target: NDArray[np.float32]  #: (B, 4P, H, W)
    reg_weight: NDArray[np.float32]  #: (B, P, H, W)


@dataclass(frozen=True)
class TTFNetSpec(MapSpec):
    """``MapSpec`` with TTFNet's options; its heatmap is the elliptical Gaussian
    (``kinds.EllipticalGaussian``, float64 rounded to float32)."""

    alpha: float = 0.54
    beta: float = 0.54
    wh_area_process: str | None = "log"
    wh_gaussian: bool = True
    wh_agnostic: bool = True

    @property
    def gaussian(self):
        return KIND

    @property
    def class_specific(self) -> bool:
        """One regression plane per class (``box_target``'s ``4C`` channels)."""
        return not self.wh_agnostic

    @property
    def region_gaussian(self):
        """The weights of the regression regions (``cells.RegionField``): the beta ellipse,
        or, without ``wh_gaussian``, none (``calc_region``'s rectangle, every weight 1)."""
        return KIND if self.wh_gaussian else None

    @property
    def down_ratios(self) -> tuple[float, float]:
        """``(x, y)``: TTFNet's ``down_ratio``, input over output size per axis."""
        return (self.input_size[1] / self.output_size[1], self.input_size[0] / self.output_size[0])


def _check_fraction(name, value) -> float:
    value = check_real(name, value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value}")
    return value


def _make_spec(values: dict) -> TTFNetSpec:
    process = values["wh_area_process"]
    if process is not None and (not isinstance(process, str) or process not in AREA_PROCESSES):
        raise ValueError(f"wh_area_process must be one of {list(AREA_PROCESSES)}, got {process!r}")
    return TTFNetSpec(
        num_classes=check_index("num_classes", values["num_classes"], minimum=1,
                                maximum=MAX_GRID_COORD),
        input_size=check_map_size("input_size", values["input_size"]),
        output_size=check_map_size("output_size", values["output_size"]),
        dtype=np.dtype(np.float32), gaussian_iou=0.5, gaussian_rad=-1, delte=6.0, k=1.0,
        radius_formula=0, min_radius=0,
        alpha=_check_fraction("alpha", values["alpha"]),
        beta=_check_fraction("beta", values["beta"]),
        wh_area_process=process,
        wh_gaussian=check_flag("wh_gaussian", values["wh_gaussian"]),
        wh_agnostic=check_flag("wh_agnostic", values["wh_agnostic"]))


@jit
def _f32(value):
    return np.float32(value)


@jit
def _processed_area(x1, y1, x2, y2, process):
    area = _f32(_f32(_f32(y2 - y1) + _f32(1)) * _f32(_f32(x2 - x1) + _f32(1)))
    if process == LOG:
        return _f32(math.log(np.float64(area)))
    if process == SQRT:  # (float32(sqrt(float64)) is correctly rounded; torch's is not)
        return _f32(math.sqrt(np.float64(area)))
    return area


@jit
def _radius(side, factor):
    """``int(side / 2 * factor)`` in float32 (truncation)."""
    return int(_f32(_f32(side / _f32(2)) * factor))


@jit
def _rounded_cell(value, ratio):
    """``int(round(float32(value) / ratio))``, rounding half to even (torch.round)."""
    return round(_f32(_f32(round(value)) / ratio))


@jit
def _region_end(low, high, low_share, high_share, ratio, size):
    """One end of TTFNet's ``calc_region``: the cell of ``low_share * low + high_share * high``
    (float32, rounded to input pixels, then to cells), at most ``size - 1``."""
    pixel = _f32(_f32(low_share * low) + _f32(high_share * high))
    return min(_rounded_cell(pixel, ratio), size - 1)


@jit
def _ttfnet_pass(rows, batch_size, num_classes, width_ratio, height_ratio, down_x, down_y, alpha,
                 beta, process, wh_gaussian, out_h, out_w, starts, points, clips, regions, info,
                 values):
    """Check the rows; then per image, boxes in descending processed area (stable), one stamp
    each: its alpha ellipse (``points``, ``clips``); its regression region (``regions``: the
    beta ellipse's box, or without ``wh_gaussian`` TTFNet's ``calc_region`` rectangle); its
    values: the box (float32), its processed area (1 for ``"norm"``), and in column 5 (filled
    later, ``_run_pass``) the sum of its weights."""
    if not check_rows(rows, batch_size, num_classes, width_ratio, height_ratio, info):
        return
    first, order = group_rows(rows, batch_size, np.empty(0, np.bool_))
    ratio_x, ratio_y = _f32(down_x), _f32(down_y)
    r = (1 - beta) / 2  # calc_region's ratio, of the config's Python float beta
    keep, move = _f32(1 - r), _f32(r)  # (each rounded to float32 where it meets a box)
    alpha, beta = _f32(alpha), _f32(beta)
    n = 0
    for b in range(batch_size):
        starts[b] = n
        count = first[b + 1] - first[b]
        keys = np.empty(count, np.float32)
        for t in range(count):
            i = order[first[b] + t]
            keys[t] = -_processed_area(_f32(rows[i, 2]), _f32(rows[i, 3]), _f32(rows[i, 4]),
                                       _f32(rows[i, 5]), process)
        for t in np.argsort(keys, kind="mergesort"):
            i = order[first[b] + t]
            x1, y1, x2, y2 = _f32(rows[i, 2]), _f32(rows[i, 3]), _f32(rows[i, 4]), _f32(rows[i, 5])
            feat_x1 = min(max(_f32(x1 / ratio_x), _f32(0)), _f32(out_w - 1))
            feat_x2 = min(max(_f32(x2 / ratio_x), _f32(0)), _f32(out_w - 1))
            feat_y1 = min(max(_f32(y1 / ratio_y), _f32(0)), _f32(out_h - 1))
            feat_y2 = min(max(_f32(y2 / ratio_y), _f32(0)), _f32(out_h - 1))
            feat_h, feat_w = _f32(feat_y2 - feat_y1), _f32(feat_x2 - feat_x1)
            x = int(_f32(_f32(_f32(x1 + x2) / _f32(2)) / ratio_x))
            y = int(_f32(_f32(_f32(y1 + y2) / _f32(2)) / ratio_y))
            rx, ry = _radius(feat_w, alpha), _radius(feat_h, alpha)
            beta_rx, beta_ry = _radius(feat_w, beta), _radius(feat_h, beta)
            category = int(rows[i, 1])
            points[n, 0], points[n, 1], points[n, 2], points[n, 3] = 0, category, x, y
            points[n, 4] = max(rx, ry)
            lo_x, hi_x, lo_y, hi_y = ellipse_clip(x, y, rx, ry)
            clips[n, X_LO], clips[n, X_HI], clips[n, Y_LO], clips[n, Y_HI] = lo_x, hi_x, lo_y, hi_y
            info[MAX_RADIUS] = max(info[MAX_RADIUS], points[n, 4])
            columns = min(x + rx + 1, out_w) - max(x - rx, 0)
            lines = min(y + ry + 1, out_h) - max(y - ry, 0)
            info[CELLS] += max(columns, 0) * max(lines, 0)
            values[n, 0], values[n, 1], values[n, 2], values[n, 3] = x1, y1, x2, y2
            values[n, 4] = _f32(1) if process == NORM else -keys[t]
            if wh_gaussian:
                lo_x, hi_x, lo_y, hi_y = ellipse_clip(x, y, beta_rx, beta_ry)
            else:  # calc_region's cells, both ends included
                lo_x = _region_end(x1, x2, keep, move, ratio_x, out_w)
                hi_x = _region_end(x1, x2, move, keep, ratio_x, out_w) + 1
                lo_y = _region_end(y1, y2, keep, move, ratio_y, out_h)
                hi_y = _region_end(y1, y2, move, keep, ratio_y, out_h) + 1
            regions[n, X_LO], regions[n, X_HI] = lo_x, hi_x
            regions[n, Y_LO], regions[n, Y_HI] = lo_y, hi_y
            n += 1
    starts[batch_size] = n
    info[COUNT] = n


def _run_pass(spec: TTFNetSpec, rows, batch_size, slots, labels):
    starts, points, info = new_stamps(batch_size, len(rows))
    n = len(rows)
    clips, regions = np.empty((n, 4), np.int64), np.empty((n, 4), np.int64)
    values = np.empty((n, 6), np.float32)
    runtime.call(_ttfnet_pass, _ttfnet_pass, rows, batch_size, spec.num_classes, *spec.ratios,
                 *spec.down_ratios, spec.alpha, spec.beta, AREA_PROCESSES[spec.wh_area_process],
                 spec.wh_gaussian, *spec.output_size, starts, points, clips, regions, info, values)
    stamps = finish(rows, starts, points, info, batch_size=batch_size,
                    num_classes=spec.num_classes, labels=labels)
    count = len(stamps.points)
    stamps = dataclasses.replace(stamps, clips=clips[:count], regions=regions[:count],
                                 cell_values=values[:count])
    windows, _ = runtime.call(region_windows, region_windows, stamps.regions, *spec.output_size)
    if spec.wh_gaussian:  # the sum of the region's weights, float64 rounded to float32
        totals = KIND.window_sums(dataclasses.replace(stamps, clips=stamps.regions), windows)
    else:  # its count of cells
        totals = (windows[:, 1] - windows[:, 0]) * (windows[:, 3] - windows[:, 2])
    stamps.cell_values[:, 5] = totals
    return stamps


def _check_stamps(spec: TTFNetSpec, stamps) -> str | None:
    """Sparse targets' invariant the kernels' windows rely on (``Family.check_stamps``): clips
    (and, with ``wh_gaussian``, regions) are ellipses' boxes around their points' cells."""
    for field in ("clips", "regions") if spec.wh_gaussian else ("clips",):
        rectangles = getattr(stamps, field)
        j = asymmetric_rectangle(stamps.points, rectangles)
        if j >= 0:
            return (f"stamps.{field}[{j}] = {rectangles[j].tolist()} is not the box of an "
                    f"ellipse around the point's cell {stamps.points[j, :4].tolist()[2:]}")
    return None


TTFNET = register(Family(
    name="ttfnet", result=TTFNetTargets, maps=1, run_pass=_run_pass,
    options=dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED, alpha=0.54,
                 beta=0.54, wh_area_process="log", wh_gaussian=True, wh_agnostic=True),
    regions=(RegionField("box_target", 0, 0, 4, "class_specific", -1.0),
             RegionField("reg_weight", 0, 4, 1, "class_specific", 0.0, weighted=True)),
    make_spec=_make_spec, rendering=(*RENDERING, "wh_agnostic", "wh_gaussian"),
    warmup_options=({}, {"beta": 0.3, "wh_gaussian": False, "wh_agnostic": False}),
    spec_type=TTFNetSpec, stamp_arrays=lambda spec: ("clips", "cell_values", "regions"),
    check_stamps=_check_stamps,
))


@one_shot(TTFNET)
def encode_ttfnet() -> TTFNetTargets:
    """Encode boxes as TTFNet's training targets (``TTFHead.target_generator``), bit for bit
    up to the conventions in Notes.

    With the down ratios ``in_w / out_w`` and ``in_h / out_h`` (TTFNet's ``down_ratio``, per
    axis, rounded to float32 where they meet a float32 value as torch does) and every box
    rounded to float32, per image:

    1. ``area = (x2 - x1 + 1) * (y2 - y1 + 1)`` (float32), processed by ``wh_area_process``
       (``log``, ``sqrt``, or left as is for ``"norm"`` and None); boxes are taken in
       descending processed area, ties in input order; with ``"norm"`` every area is then 1;
    2. the feature box ``box / down_ratio``, x clamped to ``[0, out_w - 1]``, y to ``[0, out_h
       - 1]``; ``feat_h``, ``feat_w`` its sides; the centre ``int((x1 + x2) / 2 / down_ratio)``
       (likewise ``y``) from the unclamped box;
    3. radii ``int(feat_h / 2 * alpha)`` and ``int(feat_w / 2 * alpha)``: stamp TTFNet's
       elliptical Gaussian of these radii (sigmas ``(2 r + 1) / 6``, float64, cut below
       ``eps * max``, rounded to float32) at the centre into ``heatmap[b, category]``
       (max-merged, visible cells only);
    4. with ``wh_gaussian``: the cells where the Gaussian of the ``beta`` radii (the same one
       if ``alpha == beta``) is > 0 get ``box_target[b, 4p:4p + 4] = box`` (the input-pixel
       box) and ``reg_weight[b, p] = g * area / sum(g)``; without: the cells of TTFNet's
       ``calc_region`` rectangle (ratio ``(1 - beta) / 2``, rounded to cells, clamped to the
       map) get the box and ``area / cells``. ``p`` is 0 with ``wh_agnostic``, else the
       category. Later (smaller) boxes overwrite earlier ones. ``box_target`` is -1 and
       ``reg_weight`` 0 elsewhere.

    Parameters
    ----------
    detections, batch_size, num_classes, input_size, output_size, image_ids, sparse, num_threads
        As for ``encode_corners`` (``num_classes`` is TTFNet's ``num_fg``; categories 0-based,
        TTFNet's labels minus one).
    alpha, beta : float, default 0.54
        The heatmap's and the regression region's Gaussian size, in (0, 1].
    wh_area_process : {"log", "sqrt", "norm", None}, default "log"
        How a box's area weighs its regression (``"norm"``: not at all).
    wh_gaussian : bool, default True
        Regression region and weights from the beta Gaussian (else ``calc_region``).
    wh_agnostic : bool, default True
        One regression plane (``P = 1``) or one per class (``P = C``).
    out : TTFNetTargets or tuple of arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.

    Returns
    -------
    TTFNetTargets
        ``heatmap`` float32 ``(B, C, out_h, out_w)``, ``box_target`` ``(B, 4P, out_h, out_w)``,
        ``reg_weight`` ``(B, P, out_h, out_w)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (and the lowest offending row).

    Notes
    -----
    Conventions where TTFNet uses torch's float32 ``log``, ``sqrt`` and ``sum``, which are not
    correctly rounded (and differ between CPU and GPU): the log and the square root are
    ``float32(f(float64(area)))`` and ``sum(g)`` is summed in float64 and rounded to float32;
    ``reg_weight`` is then within a few units in the last place of torch's. ``torch.topk`` leaves ties unordered: fastheat takes
    them in input order. TTFNet's ``calc_region`` rectangle is not clamped below: one starting
    (or ending) left of or above the map would wrap around in TTFNet's slice; fastheat starts
    it at 0 (and leaves it empty if it ends there).
    """


class TTFNetEncoder(Encoder):
    """``encode_ttfnet`` into reused buffers (the heatmap cleared where the previous call
    stamped, ``box_target`` and ``reg_weight`` where it wrote): see ``CornerEncoder``."""

    family = TTFNET
