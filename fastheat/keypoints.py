"""The keypoints family: top-down human-pose heatmap targets, bit-identical to mmpose's codecs
(``encode_keypoints``, ``KeypointEncoder``).

Three methods, each mmpose's generator of one codec (docs/references.md, mmpose):

* ``"msra"``: ``MSRAHeatmap(unbiased=False)`` (SimpleBaseline): a Gaussian of ``sigma`` centred
  on the keypoint's rounded cell, within a window of ``3 * sigma`` around it. Its values depend
  on the integer offsets only: they come from a Gaussian table per sigma (a table kind,
  ``MsraGaussian``), and the window is each point's clip rectangle.
* ``"udp"``: ``UDPHeatmap(heatmap_type="gaussian")``: the same window, the Gaussian centred on
  the sub-pixel position; ``"dark"``: ``MSRAHeatmap(unbiased=True)`` (DarkPose): the Gaussian
  centred on the sub-pixel position, over the whole map. Their values differ per point: a
  per-point kind (``PointGaussian``) with NumPy's ``exp`` bits, as mmpose's
  (``_engine/numpy_exp.py``): DarkPose's float32 Gaussian is an exp32 kind, computed by the
  stamping kernel as it stamps (``exp32``, NumPy's float32 ``exp`` transcribed); UDP's float64
  one (NumPy >= 2) is rounded to float32 from per-axis ``exp`` where that rounding is certain,
  from NumPy's ``exp`` elsewhere.

The input is not detections: ``as_input`` checks the keypoints and visibilities and binds the
spec to their shape (``K`` channels, ``N`` weight slots per image), and the compiled pass turns
every visible keypoint into one clipped stamp and fills the weights.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CELLS, CHANNELS, CODE, COUNT, MAX_RADIUS, REQUIRED, SLOTS, WHERE, X, Y,
                          Encoder, Family, Labels, MsraGaussian, Stamps, add_clipped_stamp,
                          as_real_array, axis_starts, check_image_ids, check_map_size,
                          check_positive, encode, exp32, expand_cells, jit, new_stamps, numpy_exp,
                          one_shot, register, runtime, separable_float32, with_numpy_for_uncertain)

METHODS = {"msra": 0, "udp": 1, "dark": 2}
MSRA, UDP, DARK = 0, 1, 2
#: ``sigma`` bounds: the Gaussian's ``2 * sigma**2`` is a normal float32 and its window
#: (``6 * sigma + 1`` cells wide) fits in any index.
MIN_SIGMA, MAX_SIGMA = 1e-6, 1e6
#: Keypoints divided by the scale factor stay within +-MAX_CELL heatmap cells: their windows'
#: cells (``MAX_SIGMA`` wide at most), like every point of ``Stamps``, stay below 2**31.
MAX_CELL = 2**30
#: The dtype of mmpose's UDP Gaussian: its centre is a NumPy float64 scalar, which NumPy >= 2
#: keeps as float64 in ``float32 array - centre`` (NEP 50) and NumPy 1.x rounds to float32.
UDP_DTYPE = (np.zeros(1, np.float32) - np.float64(0.5)).dtype


class KeypointTargets(NamedTuple):
    """Keypoint heatmap targets for ``B`` images of ``N`` instances of ``K`` keypoints."""

    heatmaps: NDArray[np.float32]  #: (B, K, H, W)
    weights: NDArray[np.float32]  #: (B, N, K)


# --- the Gaussians -----------------------------------------------------------------------------


@jit
def _gaussian32(windows, points, offset, centres, value_starts, axis_values, two_sigma_squared,
                compiled_exp, out):
    """Every point's float32 Gaussian over its visible window ``windows[j]`` (``y0, y1, x0,
    x1``), row after row into ``out[value_starts[j]:]``: ``exp(-((x - cx)**2 + (y - cy)**2) /
    (2 sigma**2))`` with ``x`` counting cells from the point's origin ``points[j, X] -
    offset``, ``(cx, cy)`` its centre ``centres[j]``: mmpose's operations in its order, in
    float32 (``axis_values`` a scratch row). The ``exp`` is ``numpy_exp.exp32`` with
    ``compiled_exp``, else left to the caller (``out`` holds the exponents)."""
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        origin_x, origin_y = points[j, X] - offset, points[j, Y] - offset
        span = x1 - x0
        for i in range(span):
            d = np.float32(x0 + i - origin_x) - centres[j, 0]  # int to float: exact
            axis_values[i] = d * d
        for yy in range(y0, y1):
            e = np.float32(yy - origin_y) - centres[j, 1]
            dy2 = e * e
            row = np.uint64(value_starts[j] + (yy - y0) * span)
            for i in range(np.uint64(span)):  # unsigned: no wraparound check, vectorised
                out[row + i] = -(axis_values[i] + dy2) / two_sigma_squared
        if compiled_exp:  # over the whole window: a loop long enough to vectorise
            for i in range(np.uint64(value_starts[j]), np.uint64(value_starts[j + 1])):
                out[i] = exp32(out[i])


@jit
def _gaussian64(windows, points, offset, centres, value_starts, x_starts, y_starts,
                two_sigma_squared, slack_scale, out, uncertain_indices, uncertain_exponents):
    """``_gaussian32`` for mmpose's float64 Gaussian (UDP under NumPy >= 2), each value
    rounded to float32 as it is merged into the map: every window's distances along its
    columns (at ``x_starts[j]``) and rows (at ``y_starts[j]``: ``stamping.axis_starts``), then
    ``separable_float32``, which notes the uncertain values for NumPy and returns their
    count."""
    x_diffs, y_diffs = np.empty(x_starts[-1]), np.empty(y_starts[-1])
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        origin_x, origin_y = points[j, X] - offset, points[j, Y] - offset
        for i in range(x1 - x0):
            x_diffs[x_starts[j] + i] = np.float64(x0 + i - origin_x) - centres[j, 0]
        for i in range(y1 - y0):
            y_diffs[y_starts[j] + i] = np.float64(y0 + i - origin_y) - centres[j, 1]
    return separable_float32(windows, value_starts, x_starts, y_starts, x_diffs, y_diffs,
                             two_sigma_squared, False, slack_scale, out, uncertain_indices,
                             uncertain_exponents)


@jit
def _axis_squares(windows, points, offset, centres, x_starts, y_starts, x_squares, y_squares):
    """Every point's ``(x - cx)**2`` over its window's columns into ``x_squares[x_starts[j]:]``
    and ``(y - cy)**2`` over its rows into ``y_squares[y_starts[j]:]`` (float32, as
    ``_gaussian32``)."""
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        origin_x, origin_y = points[j, X] - offset, points[j, Y] - offset
        for i in range(x1 - x0):
            d = np.float32(x0 + i - origin_x) - centres[j, 0]
            x_squares[x_starts[j] + i] = d * d
        for i in range(y1 - y0):
            e = np.float32(y0 + i - origin_y) - centres[j, 1]
            y_squares[y_starts[j] + i] = e * e


@dataclass(frozen=True)
class PointGaussian:
    """A Gaussian of ``sigma`` centred on each point's sub-pixel position (``Stamps.centres``,
    from the point's origin cell ``(x, y) - offset``), a per-point kind (``tables``): mmpose's
    UDP (``dtype`` its ``UDP_DTYPE``, the origin the window's corner) and DarkPose (float32,
    the origin the map's corner) Gaussians. A float32 one is an exp32 kind (``tables``): the
    stamping kernel computes its values from ``exp32_parts``."""

    sigma: float
    dtype: str
    offset: int
    per_point: ClassVar[bool] = True

    @property
    def exp32(self) -> bool:
        return np.dtype(self.dtype) == np.float32

    def exp32_parts(self, stamps: Stamps, windows) -> tuple:
        """``(x_squares, x_starts, y_squares, y_starts, 2 sigma**2, reciprocal)``: every
        point's squared distances along its window's columns and rows, in float32
        (``_axis_squares``), the divisor, and its reciprocal if it is a power of two (else
        0: ``stamping.stamp_exp32``)."""
        x_starts, y_starts = axis_starts(windows)
        x_squares = np.empty(int(x_starts[-1]), np.float32)
        y_squares = np.empty(int(y_starts[-1]), np.float32)
        runtime.call(_axis_squares, _axis_squares, windows, stamps.points, self.offset,
                     stamps.centres.astype(np.float32), x_starts, y_starts, x_squares,
                     y_squares)
        divisor = np.float32(2 * self.sigma**2)
        reciprocal = np.float32(1 / divisor) if math.frexp(divisor)[0] == 0.5 else np.float32(0)
        return x_squares, x_starts, y_squares, y_starts, divisor, reciprocal

    def window_values(self, stamps: Stamps, windows, value_starts) -> NDArray[np.float32]:
        """The values of every point's visible window, rounded to float32 (a float64 UDP
        Gaussian is rounded as mmpose's ``np.maximum`` stores it in the float32 map), with
        NumPy's ``exp`` bits (``numpy_exp``): compiled where ``exp32`` is NumPy's ``exp`` on
        this host, else NumPy's ``exp`` of the exponents."""
        values = np.empty(int(value_starts[-1]), np.float32)
        if not values.size:
            return values
        two_sigma_squared = 2 * self.sigma**2
        if not self.exp32:
            starts = axis_starts(windows)
            with_numpy_for_uncertain(
                lambda indices, exponents: runtime.call(
                    _gaussian64, _gaussian64, windows, stamps.points, self.offset,
                    stamps.centres, value_starts, *starts, two_sigma_squared,
                    numpy_exp.SLACK_SCALE, values, indices, exponents), values)
            return values
        width = int((windows[:, 3] - windows[:, 2]).max())
        compiled_exp = numpy_exp.exp32_is_numpys()
        runtime.call(_gaussian32, _gaussian32, windows, stamps.points, self.offset,
                     stamps.centres.astype(np.float32), value_starts, np.empty(width, np.float32),
                     np.float32(two_sigma_squared), compiled_exp, values)
        if not compiled_exp:
            np.exp(values, out=values)
        return values


@functools.cache
def exp_underflow() -> float:
    """The largest float32 ``t`` for which NumPy's float32 ``exp`` gives exactly 0 at every
    float32 ``<= t`` (probed once over ``[-105, -100]``, every float32 there; below, NumPy's
    ``exp`` is 0, as tests/test_keypoints.py checks for every float32)."""
    top, bottom = np.array([-100.0, -105.0], np.float32).view(np.uint32)
    x = np.arange(top, bottom + 1, dtype=np.uint32).view(np.float32)  # decreasing
    nonzero = np.flatnonzero(np.exp(x) != 0)
    return float(x[nonzero.max() + 1])


@jit
def _live_cells(centre, size, two_sigma_squared, underflow):
    """``[lo, hi)``: the cells of a ``size``-long axis whose DarkPose exponent along it,
    ``-((c - centre)**2) / (2 sigma**2)`` (float32), is above ``underflow``. Every exponent
    of a cell outside is at most that (adding the other axis' square only lowers it), so NumPy's
    ``exp`` makes its value 0: max-merging it changes nothing.

    The search starts ``reach = sqrt(-underflow * 2 sigma**2) + 2 + m * 2**-20`` cells from
    the centre, ``m`` the larger of ``size`` and ``|centre|``. Float32 rounding moves a cell
    index and its distance to the centre by at most ``m * 2**-23`` cells (an eighth of the
    last term), so beyond the start ``(c - centre)**2`` exceeds ``-underflow * 2 sigma**2`` by
    more than ``3 sqrt(-underflow * 2 sigma**2)``, far more than rounding the square and the
    quotient can take back (their relative error is below ``2**-22``, and ``-underflow * 2
    sigma**2`` below ``2**48`` for every sigma allowed): every exponent there is below
    ``underflow``.
    """
    reach = (math.sqrt(-underflow * two_sigma_squared) + 2
             + max(size, abs(np.float64(centre))) * 2.0**-20)
    lo = min(size, max(0, math.floor(centre - reach)))
    hi = max(lo, min(size, math.ceil(centre + reach) + 1))
    while lo < hi:
        d = np.float32(lo) - centre
        if -(d * d) / two_sigma_squared > underflow:
            break
        lo += 1
    while hi > lo:
        d = np.float32(hi - 1) - centre
        if -(d * d) / two_sigma_squared > underflow:
            break
        hi -= 1
    return lo, hi


# --- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeypointSpec:
    """The validated options of ``encode_keypoints`` (``input_size``, ``output_size`` as
    ``(height, width)``; ``output_size`` is ``heatmap_size``), and, bound per call by the input,
    ``num_keypoints`` (the maps' channels ``K``) and ``max_slots`` (instances ``N``).

    The rest is derived once from them (``make_keypoint_spec``), as mmpose derives it: ``scale``
    ``(x, y)``, the float32 ``scale_factor`` keypoints are divided by; ``radius = 3 * sigma``;
    ``size``, the cells of the Gaussian's grid (``len(np.arange(0, 2 * radius + 1))``), and
    ``middle``, its centre cell (``(2 * radius + 1) // 2``); ``table_radius``, the radius of
    the table square that holds the grid around its centre.
    """

    input_size: tuple[int, int]
    output_size: tuple[int, int]
    sigma: float
    method: str
    scale: tuple[float, float]
    radius: float
    size: int
    middle: int
    table_radius: int
    num_keypoints: int = 0
    max_slots: int = 0
    dtype: np.dtype = np.dtype(np.float32)

    @property
    def code(self) -> int:
        return METHODS[self.method]

    @property
    def gaussian(self):
        if self.code == MSRA:
            return MsraGaussian(self.sigma)
        if self.code == UDP:
            return PointGaussian(self.sigma, UDP_DTYPE.str, self.middle)
        return PointGaussian(self.sigma, np.dtype(np.float32).str, 0)

    def map_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return (batch_size, self.num_keypoints, *self.output_size)

    def differences(self, other: KeypointSpec, fields=None) -> list[str]:
        """The names of the ``fields`` (default all) in which ``other`` differs."""
        return [name for name in fields or self.__dataclass_fields__
                if getattr(self, name) != getattr(other, name)]


def make_keypoint_spec(values: dict) -> KeypointSpec:
    method = values["method"]
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    in_h, in_w = input_size = check_map_size("input_size", values["input_size"])
    out_h, out_w = output_size = check_map_size("heatmap_size", values["heatmap_size"])
    sigma = check_positive("sigma", values["sigma"], minimum=MIN_SIGMA, maximum=MAX_SIGMA)
    if method == "udp":
        if min(*input_size, *output_size) < 2:
            raise ValueError(f"method='udp' needs input_size and heatmap_size of at least 2 on "
                             f"each side (its scale is (input - 1) / (heatmap - 1)), got "
                             f"input_size={input_size}, heatmap_size={output_size}")
        factor = (np.array([in_w, in_h]) - 1) / (np.array([out_w, out_h]) - 1)
    else:
        factor = np.array([in_w, in_h]) / [out_w, out_h]
    radius = sigma * 3
    size, middle = math.ceil(2 * radius + 1), int((2 * radius + 1) // 2)
    return KeypointSpec(input_size=input_size, output_size=output_size, sigma=sigma, method=method,
                        scale=tuple(float(f) for f in factor.astype(np.float32)), radius=radius,
                        size=size, middle=middle, table_radius=max(middle, size - 1 - middle))


def _unbound(spec: KeypointSpec) -> KeypointSpec:
    return dataclasses.replace(spec, num_keypoints=0, max_slots=0)


# --- the input and the pass ----------------------------------------------------------------------


def keypoint_input(spec, data, image_ids):
    """``(spec bound to K and N, (keypoints float32, visible float64), B, labels)``: the
    ``Family.as_input`` of every pose family (its spec a dataclass with ``num_keypoints`` and
    ``max_slots``)."""
    keypoints, visible = data
    keypoints = as_real_array("keypoints", keypoints)
    if keypoints.ndim != 4 or keypoints.shape[3] != 2 or 0 in keypoints.shape[0::2]:
        raise ValueError("keypoints must be (B, N, K, 2): (x, y) of K keypoints of N instances "
                         f"per image, B >= 1 and K >= 1 (one image: keypoints[None]), got shape "
                         f"{keypoints.shape}")
    batch_size, instances, count = keypoints.shape[:3]
    if visible is None:
        visible = np.ones((batch_size, instances, count))
    else:
        visible = as_real_array("visible", visible, booleans=True)
        if visible.shape != keypoints.shape[:3]:
            raise ValueError(f"visible must be (B, N, K) = {keypoints.shape[:3]} like keypoints, "
                             f"got shape {visible.shape}")
    spec = dataclasses.replace(spec, num_keypoints=count, max_slots=instances)
    data = (np.ascontiguousarray(keypoints, np.float32), np.ascontiguousarray(visible, np.float64))
    return spec, data, batch_size, Labels(check_image_ids(image_ids, batch_size, False))


NOT_FINITE_VISIBLE, NOT_FINITE, BEYOND = 1, 2, 3
_PROBLEMS = {NOT_FINITE_VISIBLE: "visible{where} = {visible} is not finite",
             NOT_FINITE: "keypoints{where} = {keypoint} of a visible keypoint is not finite",
             BEYOND: "keypoints{where} = {keypoint} is beyond +-{bound} {beyond}"}


def keypoint_error(info, keypoints, visible, labels: Labels, beyond: str) -> ValueError:
    """The ``ValueError`` of a pose family's pass that found a bad keypoint (``info[CODE]``,
    one of ``NOT_FINITE_VISIBLE``, ``NOT_FINITE``, ``BEYOND``, at the flat index
    ``info[WHERE]``), naming the entry ``[b, n, k]``; ``beyond`` says where ``BEYOND`` is
    measured (e.g. "heatmap cells once divided by the scale factor [4.0, 4.0]")."""
    b, rest = divmod(int(info[WHERE]), visible.shape[1] * visible.shape[2])
    n, k = divmod(rest, visible.shape[2])
    where = f"[{b}, {n}, {k}]"
    if labels.image_ids is not None:
        where += f" ({labels.image(b)})"
    return ValueError(_PROBLEMS[int(info[CODE])].format(
        where=where, visible=visible[b, n, k], keypoint=keypoints[b, n, k].tolist(),
        bound=f"2**{int(math.log2(MAX_CELL))}", beyond=beyond))


@jit
def _entry_problem(keypoints, visible, b, n, k, scale_x, scale_y):
    """The error code of keypoint ``(b, n, k)``'s first problem, or 0 (an invisible keypoint
    may be anything but its visibility)."""
    v = visible[b, n, k]
    if not np.isfinite(v):
        return NOT_FINITE_VISIBLE
    if v < 0.5:
        return 0
    x, y = keypoints[b, n, k, 0], keypoints[b, n, k, 1]
    if not (np.isfinite(x) and np.isfinite(y)):
        return NOT_FINITE
    if not (abs(x / scale_x) < MAX_CELL and abs(y / scale_y) < MAX_CELL):
        return BEYOND
    return 0


@jit
def _keypoint_pass(keypoints, visible, method, scale_x, scale_y, radius, radius32, size, middle,
                   table_radius, two_sigma_squared, underflow, out_h, out_w, starts, points, clips,
                   centres, info, weights):
    """Check every keypoint, then fill the weights and stamp each visible keypoint whose window
    meets the map, as mmpose's generators do for each image (instances, then keypoints):

    * the keypoint divided by the float32 scale (float32), ``mu = int(kp + 0.5)`` (float32 sum,
      truncated);
    * msra and udp: ``left = int(mu - radius)``, ``right = int(mu + radius + 1)`` (float64),
      likewise ``top``, ``bottom``; a window with ``left >= W or top >= H or right < 0 or
      bottom < 0`` gets weight 0, else its cells ``[left, left + min(right - left, size))`` are
      the clip of a point centred on ``left + middle`` (the grid's centre cell); udp's centre
      is ``middle + (kp - mu)`` (float64) from the clip's corner;
    * dark: the same test on ``kp - radius``, ``kp + radius + 1`` in float32, the centre
      ``kp`` from the map's corner, the clip the map's cells whose value NumPy's ``exp`` does
      not make 0 (``_live_cells``: the others change nothing).

    Weights are the visibilities (float32), 0 for visible keypoints whose window misses.
    """
    batch_size, instances, count = visible.shape
    for b in range(batch_size):
        for n in range(instances):
            for k in range(count):
                code = _entry_problem(keypoints, visible, b, n, k, scale_x, scale_y)
                if code:
                    info[CODE] = code
                    info[WHERE] = (b * instances + n) * count + k
                    return
    half = np.float32(0.5)
    one = np.float32(1.0)
    j = 0
    for b in range(batch_size):
        starts[b] = j
        for n in range(instances):
            for k in range(count):
                v = visible[b, n, k]
                weights[b, n, k] = v
                if v < 0.5:
                    continue
                x = keypoints[b, n, k, 0] / scale_x
                y = keypoints[b, n, k, 1] / scale_y
                if method == DARK:
                    if x - radius32 >= out_w or y - radius32 >= out_h or \
                            (x + radius32) + one < 0 or (y + radius32) + one < 0:
                        weights[b, n, k] = 0.0
                        continue
                    x_lo, x_hi = _live_cells(x, out_w, two_sigma_squared, underflow)
                    y_lo, y_hi = _live_cells(y, out_h, two_sigma_squared, underflow)
                    if x_lo == x_hi or y_lo == y_hi:
                        continue  # every value 0: nothing to stamp, the weight kept
                    centres[j, 0] = x
                    centres[j, 1] = y
                    j = add_clipped_stamp(points, clips, j, info, out_h, out_w, 0, k, 0, 0,
                                          max(out_h, out_w), x_lo, x_hi, y_lo, y_hi)
                    continue
                mu_x, mu_y = int(x + half), int(y + half)
                left, top = int(mu_x - radius), int(mu_y - radius)
                right, bottom = int((mu_x + radius) + 1.0), int((mu_y + radius) + 1.0)
                if left >= out_w or top >= out_h or right < 0 or bottom < 0:
                    weights[b, n, k] = 0.0
                    continue
                right, bottom = left + min(right - left, size), top + min(bottom - top, size)
                if right <= 0 or bottom <= 0:
                    continue  # nothing on the map, the weight kept (mmpose's right == 0 case)
                if method == UDP:
                    centres[j, 0] = middle + (np.float64(x) - mu_x)
                    centres[j, 1] = middle + (np.float64(y) - mu_y)
                j = add_clipped_stamp(points, clips, j, info, out_h, out_w, 0, k, left + middle,
                                      top + middle, table_radius, left, right, top, bottom)
    starts[batch_size] = j
    info[COUNT] = j


def run_keypoint_pass(spec: KeypointSpec, data, batch_size: int, slots, labels) -> Stamps:
    keypoints, visible = data
    capacity = visible.size
    starts, points, info = new_stamps(batch_size, capacity)
    clips = np.empty((capacity, 4), np.int64)
    centres = np.empty((capacity if spec.code != MSRA else 0, 2), np.float64)
    scale_x, scale_y = spec.scale
    runtime.call(_keypoint_pass, _keypoint_pass, keypoints, visible, spec.code,
                 np.float32(scale_x), np.float32(scale_y), spec.radius,
                 np.float32(spec.radius), spec.size, spec.middle, spec.table_radius,
                 np.float32(2 * spec.sigma**2), np.float32(exp_underflow() if spec.code == DARK else 0),
                 *spec.output_size, starts, points, clips, centres, info, slots[0])
    if info[CODE]:
        raise keypoint_error(info, keypoints, visible, labels, "heatmap cells once divided by "
                             f"the scale factor {list(spec.scale)}")
    count = int(info[COUNT])
    return Stamps(starts, points[:count], int(info[MAX_RADIUS]), int(info[CELLS]), clips[:count],
                  centres[:count] if spec.code != MSRA else None)


def _warmup(num_threads: int) -> None:
    """Compile (or load) the pass and every method's kernels, and on one thread the cell
    expansion of fastheat.torch's scatter path."""
    keypoints = np.array([[[[3.0, 5.0], [-40.0, 2.0]]]])
    for method in METHODS:
        options = dict(input_size=(16, 16), heatmap_size=(8, 8), sigma=1.0, method=method)
        encode(KEYPOINTS, (keypoints, None), None, options, None, num_threads, False)
        if num_threads == 1:
            sparse = encode(KEYPOINTS, (keypoints, None), None, options, None, 1, True)
            expand_cells(sparse.stamps, 1, sparse.spec.map_shape(1), sparse.spec.gaussian,
                         sparse.spec.dtype)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
KEYPOINTS = register(Family(
    name="keypoints", result=KeypointTargets, maps=1, run_pass=run_keypoint_pass,
    options=dict(input_size=REQUIRED, heatmap_size=REQUIRED, sigma=2.0, method="msra"),
    slots=(((SLOTS, CHANNELS), np.float32),),
    make_spec=make_keypoint_spec, as_input=keypoint_input, unbound=_unbound, warmup=_warmup,
    spec_type=KeypointSpec,
    stamp_arrays=lambda spec: ("clips",) if spec.code == MSRA else ("clips", "centres"),
    rendering=("output_size", "dtype", "sigma", "method"),
    inputs=(inspect.Parameter("keypoints", _POSITIONAL),
            inspect.Parameter("visible", _POSITIONAL, default=None)),
))


@one_shot(KEYPOINTS)
def encode_keypoints() -> KeypointTargets:
    """Encode keypoints as human-pose heatmap targets, bit-identical to mmpose's codecs.

    Image ``b``'s targets are mmpose's generator run on ``keypoints[b] / scale_factor`` and
    ``visible[b]`` (docs/references.md, mmpose), for float32 keypoints:

    * ``method="msra"``: ``MSRAHeatmap(unbiased=False)`` (SimpleBaseline), ``scale_factor =
      input / heatmap`` size; each keypoint's Gaussian ``exp(-((x - x0)**2 + (y - y0)**2) /
      (2 * sigma**2))`` (float32) is centred on its cell ``int(kp + 0.5)`` and drawn within
      ``3 * sigma`` of it;
    * ``method="udp"``: ``UDPHeatmap(heatmap_type="gaussian")``, ``scale_factor = (input - 1) /
      (heatmap - 1)``; the same window, the Gaussian centred on the sub-pixel position;
    * ``method="dark"``: ``MSRAHeatmap(unbiased=True)`` (DarkPose); the Gaussian centred on the
      sub-pixel position, over the whole map.

    Gaussians of one keypoint type are merged with an element-wise maximum. A keypoint with
    ``visible < 0.5`` stamps nothing; one whose ``3 * sigma`` window misses the map (mmpose's
    test: ``left >= W or top >= H or right < 0 or bottom < 0``) gets weight 0.

    Parameters
    ----------
    keypoints : array_like, shape (B, N, K, 2)
        ``(x, y)`` of ``K`` keypoints of ``N`` instances per image, in input pixels (any real
        dtype, rounded to float32 as mmpose's pipelines hold them; a torch tensor is detached
        and moved to the CPU). Pad images with fewer instances with invisible ones. ``B >= 1``,
        ``K >= 1``, ``N >= 0``.
    visible : array_like, shape (B, N, K), optional
        Visibilities (default: all 1; booleans count as 1 and 0): a keypoint is stamped if
        ``visible >= 0.5``. Finite; the keypoints of invisible ones may be anything (NaN
        padding is fine), visible ones finite.
    input_size, heatmap_size : (int, int) or int
        ``(height, width)`` of the network input and of the heatmaps, as everywhere in fastheat
        (mmpose writes ``[w, h]``: pass ``(h, w)``); an int for a square. With ``"udp"`` every
        side is at least 2.
    sigma : float, default 2.0
        The Gaussian's standard deviation in heatmap cells, in ``[1e-6, 1e6]``, taken as the
        Python float of mmpose's configs.
    method : {"msra", "udp", "dark"}, default "msra"
    out : KeypointTargets or tuple of 2 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.
    sparse, image_ids, num_threads
        As for ``encode_corners`` (``image_ids`` name the images in messages).

    Returns
    -------
    KeypointTargets or SparseTargets
        ``heatmaps``: float32 ``(B, K, H, W)``; ``weights``: float32 ``(B, N, K)``, the
        visibilities with the missed keypoints zeroed (mmpose's ``keypoint_weights``).

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for ``keypoints`` and ``visible``, the first
        offending entry ``[b, n, k]``); ``out`` is then left untouched.

    Notes
    -----
    Bit-exactness holds for float32 keypoints and mmpose run with a Python float ``sigma``
    (mmpose given float64 keypoints computes their division and, for ``"dark"``, the Gaussian
    in float64). The Gaussian values have NumPy's ``exp`` bits, as mmpose's: tables per sigma
    computed with NumPy for ``"msra"``; for ``"dark"`` NumPy's float32 ``exp`` transcribed and
    computed as the map is stamped; for ``"udp"`` a float32 rounding of per-axis ``exp`` kept
    only where it is certain, NumPy's ``exp`` elsewhere (``_engine/numpy_exp.py``; NumPy's
    own ``exp`` for ``"dark"`` on a CPU where the transcription is not NumPy's). mmpose's
    quirks are kept: with a non-integer ``3 * sigma`` the window is asymmetric and its peak
    may sit one cell off the keypoint's cell for windows crossing the left or top edge; a
    keypoint whose window ends exactly at the map's left or top edge (``right == 0``) keeps
    its weight and stamps nothing. The UDP Gaussian is float64 under
    NumPy >= 2 (float32 under NumPy 1.x, as mmpose's there).
    """


class KeypointEncoder(Encoder):
    """``encode_keypoints`` into a reused heatmap buffer: see ``CornerEncoder``.

    ``encoder(keypoints, visible=None, copy=False, image_ids=None)`` returns
    ``KeypointTargets`` bit-identical to ``encode_keypoints`` with the same options; the
    heatmaps are a read-only view valid until the next call (a fresh array with
    ``copy=True``), the weights are fresh every call. A call with another number of keypoints
    ``K`` than the previous one allocates new buffers.
    """

    family = KEYPOINTS

    def __call__(self, keypoints, visible=None, *, copy: bool = False, image_ids=None):
        return self._encode_own((keypoints, visible), image_ids, copy)
