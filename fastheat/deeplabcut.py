"""The DeepLabCut family: score maps, weights and location-refinement targets, bit-identical to
DeepLabCut 3.0.2's heatmap target generators in keypoint mode (``encode_deeplabcut``,
``DeepLabCutEncoder``).

Two modes, each a DeepLabCut generator (docs/references.md, DeepLabCut):

* ``"gaussian"``: ``HeatmapGaussianGenerator``: each visible keypoint max-merges a Gaussian
  over the whole map, ``exp(-norm(grid - kp)**2 / (2 std**2))`` in float64 (NumPy's ``exp``,
  stored in float32), ``std = 2 * pos_dist_thresh / 3``; ``grid`` holds each cell's centre in
  input pixels, ``cell * stride + stride / 2`` truncated to int64 as DeepLabCut's ``np.mgrid``
  stores it. Its values differ per keypoint: a per-point kind (``GridGaussian``) computes
  every window's values in one compiled pass, rounded to float32 from per-axis ``exp`` where
  that rounding is certain, from NumPy's ``exp`` elsewhere (``_engine/numpy_exp.py``); a
  keypoint's window is the cells whose value is not 0 once stored in float32 (``LIVE``).
* ``"plateau"``: ``HeatmapPlateauGenerator``: 1 where the squared distance is at most
  ``pos_dist_thresh**2`` (the same per-point kind, no ``exp``).

The other fields are dense, filled after the pass from its stamps (one per drawn keypoint, in
DeepLabCut's order, including those whose Gaussian misses the map) and each heatmap's weight
(``_fill_fields``); pickled sparse targets carry only these (``Family.pack_slots``) and fill
the fields again when unpickled:

* ``weights``, one constant per image and heatmap (1, ``background_weight`` for an invisible
  keypoint with ``gradient_masking``, 0 for a missing one, the last instance that says so
  winning);
* ``locref``, ``(kp - grid) / locref_std`` (x then y) of the heatmap's last drawn keypoint
  over the whole map (gaussian) or of each drawn keypoint in turn within its plateau
  (plateau);
* ``locref_mask``, 1 within ``pos_dist_thresh`` of any drawn keypoint.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CELLS, CHANNEL, CHANNELS, CHANNEL_PAIRS, CODE, COUNT, DRAWN_PROBLEMS,
                          HEIGHT, MAX_PIXEL, MAX_RADIUS, REQUIRED, WHERE, WIDTH, Encoder, Family,
                          Labels, Stamps, add_clipped_stamp, as_real_array, axis_starts,
                          check_flag, check_image_ids, check_map_size, check_positive, check_real,
                          drawn_keypoint_problem, encode, expand_cells, jit, new_stamps, numpy_exp,
                          one_shot, register, runtime, separable_float32, with_fields,
                          with_numpy_for_uncertain)

MODES = {"gaussian": 0, "plateau": 1}
GAUSSIAN, PLATEAU = 0, 1
#: A cell whose Gaussian exponent is at most ``-LIVE`` gets 0 once its value is stored in
#: float32: ``exp(-105)`` is 2.5e-46, below half the smallest float32 (2**-150 = 7.0e-46) by a
#: factor of 2.8, far more than NumPy's ``exp`` errs. Windows stop there.
LIVE = 105.0
#: Bounds of ``stride`` and ``pos_dist_thresh`` (input pixels), and of visible keypoints'
#: coordinates (``MAX_PIXEL`` input pixels): every grid value and distance stays an exact
#: int64 / a finite float64.
MAX_STRIDE, MAX_THRESH = 2.0**20, 2.0**30


class DeepLabCutHeatmaps(NamedTuple):
    """DeepLabCut's targets for ``B`` images of ``K`` keypoints, without the location
    refinement fields (``locref=False``); ``DeepLabCutTargets`` adds them."""

    heatmaps: NDArray[np.float32]  #: (B, K, H, W)
    weights: NDArray[np.float32]  #: (B, K, H, W)

    locref = property(lambda self: None, doc="(B, 2K, H, W) with ``locref=True``, else None")
    locref_mask = property(lambda self: None,
                           doc="(B, 2K, H, W) with ``locref=True``, else None")


LOCREF = ("locref", "locref_mask")
DeepLabCutTargets = with_fields(
    DeepLabCutHeatmaps, "DeepLabCutTargets", LOCREF,
    "DeepLabCut's targets with ``locref=True`` (the default): ``heatmaps``, ``weights`` "
    "(float32 (B, K, H, W)), ``locref`` (float32 (B, 2K, H, W), x then y per keypoint) and "
    "``locref_mask`` (int64 (B, 2K, H, W)).")


# --- the heatmaps' values ------------------------------------------------------------------------


@jit
def _grid(size, stride):
    """DeepLabCut's grid along one axis: ``int64(cell * stride + stride / 2)`` (float64,
    truncated as NumPy stores it in the int64 ``np.mgrid``)."""
    centres = np.empty(size, np.int64)
    for i in range(size):
        centres[i] = np.int64(np.float64(i) * stride + stride / 2)
    return centres


@jit
def _window_values(windows, centres, value_starts, x_starts, y_starts, stride, mode,
                   two_variance, thresh_sq, slack_scale, out, uncertain_indices,
                   uncertain_exponents):
    """Every point's values over its window ``windows[j]`` (``y0, y1, x0, x1``), row after row
    into ``out[value_starts[j]:]`` (float32), ``dy``, ``dx`` being ``grid - kp`` in float64:
    plateau, 1 where ``dy*dy + dx*dx <= thresh**2``, else 0; gaussian, ``exp(-(sqrt(s) ** 2) /
    (2 std**2))`` with ``s = dy*dy + dx*dx`` (NumPy's ``norm`` of ``grid - kp``, squared)
    rounded to float32 (``separable_float32``, which notes the uncertain values for NumPy),
    from every window's ``dx`` along its columns (at ``x_starts[j]``) and ``dy`` along its rows
    (at ``y_starts[j]``: ``stamping.axis_starts``). Returns the count of uncertain values (0
    for the plateau)."""
    x_diffs, y_diffs = np.empty(x_starts[-1]), np.empty(y_starts[-1])
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        for i in range(x1 - x0):
            x_diffs[x_starts[j] + i] = \
                np.float64(np.int64(np.float64(x0 + i) * stride + stride / 2)) - centres[j, 0]
        for i in range(y1 - y0):
            y_diffs[y_starts[j] + i] = \
                np.float64(np.int64(np.float64(y0 + i) * stride + stride / 2)) - centres[j, 1]
    if mode == GAUSSIAN:
        return separable_float32(windows, value_starts, x_starts, y_starts, x_diffs, y_diffs,
                                 two_variance, True, slack_scale, out, uncertain_indices,
                                 uncertain_exponents)
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        span, first = x1 - x0, np.uint64(x_starts[j])
        for yy in range(y0, y1):
            e = y_diffs[y_starts[j] + yy - y0]
            dy2 = e * e
            row = np.uint64(value_starts[j] + (yy - y0) * span)
            for i in range(np.uint64(span)):  # unsigned: no wraparound check, vectorised
                d = x_diffs[first + i]
                out[row + i] = 1.0 if dy2 + d * d <= thresh_sq else 0.0
    return 0


@dataclass(frozen=True)
class GridGaussian:
    """DeepLabCut's Gaussian (or plateau) at each point's keypoint (``Stamps.centres``, input
    pixels) over the cell centres of a grid of ``stride``: a per-point kind (``tables``)."""

    stride: float
    mode: int
    two_variance: float
    thresh_sq: float
    per_point: ClassVar[bool] = True

    def window_values(self, stamps: Stamps, windows, value_starts) -> NDArray[np.float32]:
        """Every point's window values, rounded to float32 as DeepLabCut's ``np.maximum``
        stores its float64 values in the float32 map (``_window_values``; NumPy's ``exp`` for
        the uncertain ones, ``numpy_exp``)."""
        values = np.empty(int(value_starts[-1]), np.float32)
        if values.size:
            starts = axis_starts(windows)
            with_numpy_for_uncertain(
                lambda indices, exponents: runtime.call(
                    _window_values, _window_values, windows, stamps.centres, value_starts,
                    *starts, self.stride, self.mode, self.two_variance, self.thresh_sq,
                    numpy_exp.SLACK_SCALE, values, indices, exponents), values)
        return values


# --- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeepLabCutSpec:
    """The validated options of ``encode_deeplabcut`` (``output_size`` is ``heatmap_size``,
    ``(height, width)``), and, bound per call by the input, ``num_keypoints`` (the maps'
    channels ``K``) and ``max_slots`` (instances ``N``). ``pos_dist_thresh`` is a float, as
    DeepLabCut takes it; the rest derives from it as DeepLabCut derives it."""

    output_size: tuple[int, int]
    stride: float
    mode: str
    pos_dist_thresh: float
    locref: bool
    locref_std: float
    gradient_masking: bool
    background_weight: float
    num_keypoints: int = 0
    max_slots: int = 0
    dtype: np.dtype = np.dtype(np.float32)

    @property
    def code(self) -> int:
        return MODES[self.mode]

    @property
    def thresh_sq(self) -> float:
        return self.pos_dist_thresh**2

    @property
    def two_variance(self) -> float:
        std = 2 * self.pos_dist_thresh / 3
        return 2 * std**2

    @property
    def gaussian(self) -> GridGaussian:
        return GridGaussian(self.stride, self.code, self.two_variance, self.thresh_sq)

    def map_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return (batch_size, self.num_keypoints, *self.output_size)

    def differences(self, other: DeepLabCutSpec, fields=None) -> list[str]:
        """The names of the ``fields`` (default all) in which ``other`` differs."""
        return [name for name in fields or self.__dataclass_fields__
                if getattr(self, name) != getattr(other, name)]


def _make_spec(values: dict) -> DeepLabCutSpec:
    mode = values["mode"]
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    return DeepLabCutSpec(
        output_size=check_map_size("heatmap_size", values["heatmap_size"]),
        stride=check_positive("stride", values["stride"], maximum=MAX_STRIDE), mode=mode,
        pos_dist_thresh=check_positive("pos_dist_thresh", values["pos_dist_thresh"],
                              minimum=1e-100, maximum=MAX_THRESH),
        locref=check_flag("locref", values["locref"]),
        locref_std=check_positive("locref_std", values["locref_std"], minimum=1e-300),
        gradient_masking=check_flag("gradient_masking", values["gradient_masking"]),
        background_weight=float(np.float32(check_real("background_weight",
                                                      values["background_weight"]))))


def _unbound(spec: DeepLabCutSpec) -> DeepLabCutSpec:
    return dataclasses.replace(spec, num_keypoints=0, max_slots=0)


# --- the input and the pass ----------------------------------------------------------------------


def _as_input(spec: DeepLabCutSpec, data, image_ids):
    """``(spec bound to K and N, (keypoints float64, visible float64), B, labels)``."""
    keypoints, visible = data
    keypoints = as_real_array("keypoints", keypoints)
    if keypoints.ndim != 4 or keypoints.shape[3] != 2 or 0 in keypoints.shape[0::2]:
        raise ValueError("keypoints must be (B, N, K, 2): (x, y) of K keypoints of N instances "
                         f"per image, B >= 1 and K >= 1 (one image: keypoints[None]), got shape "
                         f"{keypoints.shape}")
    visible = as_real_array("visible", visible)
    if visible.shape != keypoints.shape[:3]:
        raise ValueError(f"visible must be (B, N, K) = {keypoints.shape[:3]} like keypoints, "
                         f"got shape {visible.shape}")
    batch_size, instances, count = keypoints.shape[:3]
    spec = dataclasses.replace(spec, num_keypoints=count, max_slots=instances)
    data = (np.ascontiguousarray(keypoints, np.float64), np.ascontiguousarray(visible, np.float64))
    return spec, data, batch_size, Labels(check_image_ids(image_ids, batch_size, False))


@jit
def _cells_within(centres, position, reach_sq):
    """``[lo, hi)``: the cells of an axis (grid ``centres``) whose squared distance to
    ``position`` along it is at most ``reach_sq`` (``centres`` increase: one run)."""
    lo, hi = 0, centres.size
    while lo < hi:
        d = np.float64(centres[lo]) - position
        if d * d <= reach_sq:
            break
        lo += 1
    while hi > lo:
        d = np.float64(centres[hi - 1]) - position
        if d * d <= reach_sq:
            break
        hi -= 1
    return lo, hi


@jit
def _disc(refine, refine_mask, base, plane, width, grid_x, grid_y, x, y, mode, thresh_sq,
          scale, plateau_locref):
    """Set ``locref_mask`` (both channels, from ``base``) to 1 where the keypoint ``(x, y)`` is
    within ``thresh`` (gaussian: ``sqrt(s) ** 2 <= thresh**2``; plateau: ``s <= thresh**2``),
    and with ``plateau_locref`` write its locref there."""
    margin = thresh_sq * (1.0 + 1e-9)  # a per-axis prefilter; each cell is tested exactly
    x0, x1 = _cells_within(grid_x, x, margin)
    y0, y1 = _cells_within(grid_y, y, margin)
    for yy in range(y0, y1):
        dy = np.float64(grid_y[yy]) - y
        for xx in range(x0, x1):
            dx = np.float64(grid_x[xx]) - x
            s = dy * dy + dx * dx
            if mode == GAUSSIAN:
                r = np.sqrt(s)
                s = r * r
            if s <= thresh_sq:
                cell = base + yy * width + xx
                refine_mask[cell] = 1
                refine_mask[cell + plane] = 1
                if plateau_locref:
                    refine[cell] = (x - grid_x[xx]) * scale
                    refine[cell + plane] = (y - grid_y[yy]) * scale


@jit
def _deeplabcut_pass(keypoints, visible, stride, mode, gradient_masking, background_weight,
                     reach_sq, out_h, out_w, starts, points, clips, centres, info,
                     channel_weights):
    """Check every keypoint, then, as DeepLabCut's generator does per image, heatmap by
    heatmap, instance by instance: each heatmap's weight in ``channel_weights`` (B, K), and a
    stamp for each drawn keypoint, clipped to its window (the cells within ``sqrt(reach_sq)``
    of it along each axis), empty when that misses the map (its locref still counts:
    ``_fill_fields``)."""
    batch_size, instances, count = visible.shape
    for b in range(batch_size):
        for n in range(instances):
            for k in range(count):
                code = drawn_keypoint_problem(keypoints, visible, b, n, k)
                if code:
                    info[CODE] = code
                    info[WHERE] = (b * instances + n) * count + k
                    return
    grid_x, grid_y = _grid(out_w, stride), _grid(out_h, stride)
    j = 0
    for b in range(batch_size):
        starts[b] = j
        for k in range(count):
            weight = np.float32(1.0)
            for n in range(instances):
                v = visible[b, n, k]
                if gradient_masking and v == 0:
                    weight = background_weight
                elif v == -1:
                    weight = np.float32(0.0)
                elif v > 0:
                    x, y = keypoints[b, n, k, 0], keypoints[b, n, k, 1]
                    x0, x1 = _cells_within(grid_x, x, reach_sq)
                    y0, y1 = _cells_within(grid_y, y, reach_sq)
                    if not (x0 < x1 and y0 < y1):
                        x0 = x1 = y0 = y1 = 0  # stamps nothing
                    centres[j, 0], centres[j, 1] = x, y
                    j = add_clipped_stamp(points, clips, j, info, out_h, out_w, 0, k, 0, 0,
                                          max(out_h, out_w), x0, x1, y0, y1)
            channel_weights[b, k] = weight
    starts[batch_size] = j
    info[COUNT] = j


@jit
def _fill_fields(starts, points, centres, channel_weights, stride, mode, thresh_sq, scale,
                 out_h, out_w, weights, refine, refine_mask):
    """Overwrite the dense fields from the stamps (every drawn keypoint, image by image,
    heatmap by heatmap, instance by instance) and ``channel_weights``: ``weights`` (B, K, H, W)
    constant per heatmap; ``refine`` and ``refine_mask`` (flat ``(B, 2K, H, W)``, size 0
    without locref): the mask set within each keypoint's disc, the locref of the heatmap's
    last keypoint over the whole map (gaussian) or of each keypoint within its disc
    (plateau)."""
    batch_size, count = channel_weights.shape
    for b in range(batch_size):
        for k in range(count):
            weights[b, k] = channel_weights[b, k]
    if refine.size == 0:
        return
    refine[:] = 0.0
    refine_mask[:] = 0
    grid_x, grid_y = _grid(out_w, stride), _grid(out_h, stride)
    plane = out_h * out_w
    last = np.empty(count, np.int64)
    for b in range(batch_size):
        last[:] = -1
        for j in range(starts[b], starts[b + 1]):
            k = points[j, CHANNEL]
            last[k] = j
            _disc(refine, refine_mask, (b * 2 * count + 2 * k) * plane, plane, out_w, grid_x,
                  grid_y, centres[j, 0], centres[j, 1], mode, thresh_sq, scale, mode == PLATEAU)
        if mode == GAUSSIAN:
            for k in range(count):
                if last[k] < 0:
                    continue
                x, y = centres[last[k], 0], centres[last[k], 1]
                base = (b * 2 * count + 2 * k) * plane
                for yy in range(out_h):
                    dy = np.float32((y - grid_y[yy]) * scale)
                    row = base + yy * out_w
                    for xx in range(out_w):
                        refine[row + xx] = (x - grid_x[xx]) * scale
                        refine[row + plane + xx] = dy


_NO_LOCREF = (np.zeros(0, np.float32), np.zeros(0, np.int64))


def _fill(spec: DeepLabCutSpec, stamps: Stamps, channel_weights, slots) -> None:
    """``_fill_fields`` into the result's slot arrays."""
    locref = tuple(slot.reshape(-1) for slot in slots[1:]) if spec.locref else _NO_LOCREF
    runtime.call(_fill_fields, _fill_fields, stamps.starts, stamps.points, stamps.centres,
                 channel_weights, spec.stride, spec.code, spec.thresh_sq,
                 1.0 / spec.locref_std, *spec.output_size, slots[0], *locref)


def _run_deeplabcut_pass(spec: DeepLabCutSpec, data, batch_size: int, slots, labels) -> Stamps:
    keypoints, visible = data
    capacity = visible.size
    starts, points, info = new_stamps(batch_size, capacity)
    clips = np.empty((capacity, 4), np.int64)
    centres = np.empty((capacity, 2), np.float64)
    channel_weights = np.empty((batch_size, spec.num_keypoints), np.float32)
    reach_sq = LIVE * spec.two_variance if spec.code == GAUSSIAN else spec.thresh_sq
    runtime.call(_deeplabcut_pass, _deeplabcut_pass, keypoints, visible, spec.stride, spec.code,
                 spec.gradient_masking, np.float32(spec.background_weight), reach_sq,
                 *spec.output_size, starts, points, clips, centres, info, channel_weights)
    code = int(info[CODE])
    if code:
        b, rest = divmod(int(info[WHERE]), visible.shape[1] * visible.shape[2])
        n, k = divmod(rest, visible.shape[2])
        where = f"[{b}, {n}, {k}]"
        if labels.image_ids is not None:
            where += f" ({labels.image(b)})"
        raise ValueError(DRAWN_PROBLEMS[code].format(
            where=where, visible=visible[b, n, k], keypoint=keypoints[b, n, k].tolist(),
            bound=f"2**{int(math.log2(MAX_PIXEL))}"))
    count = int(info[COUNT])
    stamps = Stamps(starts, points[:count], int(info[MAX_RADIUS]), int(info[CELLS]),
                    clips[:count], centres[:count])
    _fill(spec, stamps, channel_weights, slots)
    return stamps


def _pack_slots(spec: DeepLabCutSpec, stamps: Stamps, slots) -> tuple:
    """What pickled sparse targets carry of the dense fields: each heatmap's weight (the rest
    is derived from the stamps, which hold every drawn keypoint)."""
    return (np.ascontiguousarray(slots[0][:, :, 0, 0]),)


def _unpack_slots(spec: DeepLabCutSpec, stamps: Stamps, packed) -> tuple:
    """The slot arrays of checked ``stamps`` and the weights ``_pack_slots`` kept (checked
    here: they crossed a process too)."""
    shape = (stamps.images, spec.map_shape(1)[1])
    channel_weights = packed[0] if isinstance(packed, tuple) and len(packed) == 1 else None
    if not (isinstance(channel_weights, np.ndarray) and channel_weights.dtype == np.float32
            and channel_weights.shape == shape):
        raise ValueError(f"unpickled targets: the DeepLabCut weights must be one float32 array "
                         f"of shape {shape}")
    slots = DEEPLABCUT.new_slots(spec, stamps.images)
    _fill(spec, stamps, channel_weights, slots)
    return slots


def _warmup(num_threads: int) -> None:
    """Compile (or load) the pass and both modes' kernels, and on one thread the cell
    expansion of fastheat.torch's scatter path."""
    keypoints = np.array([[[[3.0, 5.0], [-40.0, 2.0]]]])
    visible = np.array([[[1.0, 1.0]]])
    for mode in MODES:
        options = dict(heatmap_size=(8, 8), stride=4, mode=mode)
        encode(DEEPLABCUT, (keypoints, visible), None, options, None, num_threads, False)
        if num_threads == 1:
            sparse = encode(DEEPLABCUT, (keypoints, visible), None, options, None, 1, True)
            expand_cells(sparse.stamps, 1, sparse.spec.map_shape(1), sparse.spec.gaussian,
                         sparse.spec.dtype)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
DEEPLABCUT = register(Family(
    name="deeplabcut", result=DeepLabCutHeatmaps, maps=1, run_pass=_run_deeplabcut_pass,
    options=dict(heatmap_size=REQUIRED, stride=REQUIRED, mode="gaussian", pos_dist_thresh=17,
                 locref=True, locref_std=7.2801, gradient_masking=False, background_weight=0.1),
    slots=(((CHANNELS, HEIGHT, WIDTH), np.float32),
           ((CHANNEL_PAIRS, HEIGHT, WIDTH), np.float32, "locref", "locref"),
           ((CHANNEL_PAIRS, HEIGHT, WIDTH), np.int64, "locref_mask", "locref")),
    variants={LOCREF: DeepLabCutTargets}, pack_slots=_pack_slots, unpack_slots=_unpack_slots,
    make_spec=_make_spec, as_input=_as_input, unbound=_unbound, warmup=_warmup,
    spec_type=DeepLabCutSpec, stamp_arrays=lambda spec: ("clips", "centres"),
    rendering=("output_size", "dtype", "stride", "mode", "pos_dist_thresh"),
    inputs=(inspect.Parameter("keypoints", _POSITIONAL),
            inspect.Parameter("visible", _POSITIONAL)),
))


@one_shot(DEEPLABCUT)
def encode_deeplabcut() -> DeepLabCutHeatmaps:
    """Encode keypoints as DeepLabCut's training targets, bit-identical to DeepLabCut 3.0.2's
    ``HeatmapGaussianGenerator`` (``mode="gaussian"``) or ``HeatmapPlateauGenerator``
    (``mode="plateau"``) in keypoint mode (docs/references.md, DeepLabCut).

    Image ``b``'s targets are the generator's on ``keypoints[b]`` and ``visible[b]``, heatmap
    by heatmap, instance by instance:

    * the grid: cell ``(i, j)`` stands for the input pixel ``(int(i * stride + stride / 2),
      int(j * stride + stride / 2))`` (float64, truncated to int64 as DeepLabCut stores it);
    * ``visible > 0``: the keypoint is drawn: gaussian, ``exp(-norm(grid - kp)**2 /
      (2 std**2))`` over the whole map (float64, NumPy's ``exp``, stored in float32),
      ``std = 2 * pos_dist_thresh / 3``, max-merged; plateau, 1 where ``sum((grid - kp)**2)
      <= pos_dist_thresh**2``. ``locref_mask`` is 1 (both channels) where the distance
      (gaussian: ``norm**2``; plateau: the sum) is at most ``pos_dist_thresh**2``; ``locref``
      is ``(kp - grid) / locref_std`` (x, then y; float64 stored in float32), written over the
      whole map by each drawn keypoint (gaussian: the last one's stays) or within its plateau
      (plateau: later ones overwrite);
    * ``visible == 0`` with ``gradient_masking``: the heatmap's weight (all its cells) becomes
      ``background_weight``; ``visible == -1``: 0; later instances override earlier ones, and a
      drawn keypoint leaves the weight as it is (initially 1). Other values do nothing.

    Parameters
    ----------
    keypoints : array_like, shape (B, N, K, 2)
        ``(x, y)`` of ``K`` keypoints of ``N`` instances (animals) per image, in input pixels
        (any real dtype; DeepLabCut's arithmetic is float64 whatever it is). Keypoints not
        drawn may be anything (NaN padding is fine); drawn ones finite, within +-2**40.
    visible : array_like, shape (B, N, K)
        DeepLabCut's visibility flags, finite: > 0 drawn, 0 invisible, -1 missing.
    heatmap_size : (int, int) or int
        ``(height, width)`` of the maps (DeepLabCut's model output); an int for a square.
    stride : float
        The model's stride, > 0 (DeepLabCut's ``stride``), at most 2**20.
    mode : {"gaussian", "plateau"}, default "gaussian"
    pos_dist_thresh : float, default 17
        DeepLabCut's ``pos_dist_thresh`` (taken as ``float``), > 0, in input pixels.
    locref : bool, default True
        Whether to return the ``locref`` and ``locref_mask`` fields (DeepLabCut's
        ``generate_locref``).
    locref_std : float, default 7.2801
        > 0; the locref values are scaled by ``1.0 / locref_std``.
    gradient_masking : bool, default False
    background_weight : float, default 0.1
        The weight of invisible keypoints' heatmaps with ``gradient_masking`` (stored in
        float32).
    out : DeepLabCutTargets or tuple of arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.
    sparse, image_ids, num_threads
        As for ``encode_corners`` (``image_ids`` name the images in messages). Sparse targets
        pickle the stamps (every drawn keypoint) and each heatmap's weight, and fill the dense
        fields again from them when unpickled.

    Returns
    -------
    DeepLabCutTargets or DeepLabCutHeatmaps or SparseTargets
        ``DeepLabCutTargets(heatmaps, weights, locref, locref_mask)``; without ``locref``,
        ``DeepLabCutHeatmaps(heatmaps, weights)``. Maps are DeepLabCut's ``(B, C, H, W)``
        tensors' layout: float32, but ``locref_mask`` int64.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for ``keypoints`` and ``visible``, the first
        offending entry ``[b, n, k]``); ``out`` is then left untouched.
    """


class DeepLabCutEncoder(Encoder):
    """``encode_deeplabcut`` into a reused heatmap buffer: see ``CornerEncoder``.

    ``encoder(keypoints, visible, copy=False, image_ids=None)`` returns the targets
    bit-identical to ``encode_deeplabcut`` with the same options; the heatmaps are a read-only
    view valid until the next call (a fresh array with ``copy=True``), the other fields are
    fresh every call.
    """

    family = DEEPLABCUT

    def __call__(self, keypoints, visible, *, copy: bool = False, image_ids=None):
        return self._encode_own((keypoints, visible), image_ids, copy)
