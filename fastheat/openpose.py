"""The OpenPose family: keypoint maps and part affinity fields, bit-identical to lightweight
OpenPose's training targets (``encode_openpose``, ``OpenPoseEncoder``).

lightweight OpenPose (Daniil-Osokin/lightweight-human-pose-estimation.pytorch,
``datasets/coco.py``; docs/references.md) builds, per image:

* keypoint maps (``_generate_keypoint_maps``, ``_add_gaussian``): for each keypoint type, each
  person's Gaussian *added* into the map cell by cell in Python floats (``math.exp``, a
  window of 4 sigma, cells whose exponent is above 4.6052 skipped), each sum clamped at 1; then
  a background channel ``1 - max`` of the others. The Gaussian is a per-point kind
  (``OpenPoseGaussian``) whose values are added in order and clamped (``tables.ADD_CLAMP``),
  with a background channel;
* part affinity fields (``_generate_paf_maps``, ``_set_paf``): for each limb, each person's
  unit vector from one keypoint to the other *written* on the cells within ``paf_thickness`` of
  the limb's line (inside its box grown by ``paf_thickness``), later people overwriting. Each
  limb of each person is two of the engine's limb bands (``tables.LimbBand``, ``Stamps.lines``),
  the vector's x and y on the limb's two channels.

Both maps are stamped by the engine (``tables.MapKinds``: one kind per map, the maps of
``K + 1`` and ``2 * len(limbs)`` channels); one image's points are stamped in person order, as
the reference visits them.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (ADD_CLAMP, CELLS, CODE, COUNT, DRAWN_PROBLEMS, MAX_PIXEL, MAX_RADIUS,
                          REQUIRED, UX, UY, VALUE, WHERE, X0, Y0, Encoder, Family, Labels, LimbBand,
                          MapKinds, Stamps, add_clipped_stamp, as_real_array, check_image_ids,
                          check_index, check_positive, check_real, check_size,
                          drawn_keypoint_problem, encode, jit, new_stamps, one_shot, register,
                          runtime)

#: lightweight OpenPose's constants: the Gaussian's window (``n_sigma``) and exponent cut.
N_SIGMA, EXPONENT_CUT = 4, 4.6052
#: Bounds of ``sigma``, ``paf_thickness`` and of drawn keypoints' coordinates (input
#: pixels): every window bound (``int(x + 4 sigma)``) fits in int64.
MAX_SIGMA = 2.0**40


class OpenPoseTargets(NamedTuple):
    """lightweight OpenPose's targets for ``B`` images of ``K`` keypoint types and ``L`` limbs,
    maps ``input_size // stride``."""

    keypoint_maps: NDArray[np.float32]  #: (B, K + 1, H, W), the last channel the background
    pafs: NDArray[np.float32]  #: (B, 2L, H, W): limb l's x on channel 2l, its y on 2l + 1


# --- the keypoint Gaussian -----------------------------------------------------------------------


@jit
def _gaussian_values(windows, centres, value_starts, stride, sigma, out):
    """Every point's values over its window ``windows[j]`` (``y0, y1, x0, x1``), row after row
    into ``out[value_starts[j]:]`` (float32): ``_add_gaussian``'s ``math.exp(-exponent)``
    (float64, rounded to float32 as NumPy 2 does before adding it to a float32 cell), 0 (adds
    nothing) where the exponent is above ``EXPONENT_CUT``. ``centres[j]`` is the keypoint in
    input pixels; the operations are the reference's, in its order."""
    shift = stride / 2 - 0.5
    for j in range(windows.shape[0]):
        y0, y1, x0, x1 = windows[j, 0], windows[j, 1], windows[j, 2], windows[j, 3]
        x, y = centres[j, 0], centres[j, 1]
        position = value_starts[j]
        for yy in range(y0, y1):
            dy = yy * stride + shift - y
            for xx in range(x0, x1):
                dx = xx * stride + shift - x
                exponent = (dx * dx + dy * dy) / 2 / sigma / sigma
                out[position] = 0.0 if exponent > EXPONENT_CUT else math.exp(-exponent)
                position += 1


@dataclass(frozen=True)
class OpenPoseGaussian:
    """lightweight OpenPose's keypoint Gaussian at each point's keypoint (``Stamps.centres``,
    input pixels) over the cells of a map of ``stride``, ``sigma`` in input pixels: a per-point
    kind (``tables``) added in order and clamped at 1, with a background channel."""

    stride: int
    sigma: float
    per_point: ClassVar[bool] = True
    merge: ClassVar[int] = ADD_CLAMP
    background: ClassVar[bool] = True

    def window_values(self, stamps: Stamps, windows, value_starts) -> NDArray[np.float32]:
        values = np.empty(int(value_starts[-1]), np.float32)
        if values.size:
            runtime.call(_gaussian_values, _gaussian_values, windows, stamps.centres,
                         value_starts, self.stride, self.sigma, values)
        return values


# --- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenPoseSpec:
    """The validated options of ``encode_openpose`` (``input_size`` ``(height, width)``;
    ``output_size = input_size // stride``; ``limbs`` a tuple of ``(a, b)`` pairs), and, bound
    per call by the input, ``num_keypoints`` (``K``) and ``max_slots`` (people ``N``)."""

    input_size: tuple[int, int]
    output_size: tuple[int, int]
    limbs: tuple
    stride: int
    sigma: float
    paf_thickness: float
    num_keypoints: int = 0
    max_slots: int = 0
    dtype: np.dtype = np.dtype(np.float32)

    @property
    def gaussian(self) -> MapKinds:
        return MapKinds((OpenPoseGaussian(self.stride, self.sigma),
                         LimbBand(self.paf_thickness)))

    def map_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return (batch_size, self.num_keypoints + 1, *self.output_size)

    def map_shapes(self, batch_size: int) -> tuple[tuple[int, int, int, int], ...]:
        return (self.map_shape(batch_size), (batch_size, 2 * len(self.limbs), *self.output_size))

    def differences(self, other: OpenPoseSpec, fields=None) -> list[str]:
        """The names of the ``fields`` (default all) in which ``other`` differs."""
        return [name for name in fields or self.__dataclass_fields__
                if getattr(self, name) != getattr(other, name)]


def _check_limbs(limbs) -> tuple:
    """``limbs`` as a tuple of ``(a, b)`` pairs of non-negative integers, at least one."""
    if isinstance(limbs, np.ndarray):
        limbs = limbs.tolist()
    try:
        pairs = [tuple(pair) for pair in limbs]
    except TypeError:
        raise TypeError(f"limbs must be a sequence of (a, b) pairs of keypoint indices, got "
                        f"{limbs!r}") from None
    if not pairs:
        raise ValueError("limbs must hold at least one (a, b) pair")
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"limbs[{i}] must be an (a, b) pair, got {pair!r}")
    return tuple((check_index(f"limbs[{i}][0]", a, minimum=0),
                  check_index(f"limbs[{i}][1]", b, minimum=0)) for i, (a, b) in enumerate(pairs))


def _make_spec(values: dict) -> OpenPoseSpec:
    input_size = values["input_size"]
    if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, (bool, np.bool_)):
        input_size = (input_size, input_size)
    in_h, in_w = input_size = check_size("input_size", input_size)
    stride = check_index("stride", values["stride"])
    if stride < 1:
        raise ValueError(f"stride must be > 0, got {stride}")
    if in_h < stride or in_w < stride:
        raise ValueError(f"input_size={input_size} must be at least stride={stride} on each side "
                         "(the maps are input_size // stride)")
    return OpenPoseSpec(
        input_size=input_size, output_size=(in_h // stride, in_w // stride),
        limbs=_check_limbs(values["limbs"]), stride=stride,
        sigma=check_positive("sigma", values["sigma"], maximum=MAX_SIGMA),
        paf_thickness=_check_thickness(values["paf_thickness"]))


def _check_thickness(value) -> float:
    value = check_real("paf_thickness", value)
    if not 0 <= value <= MAX_SIGMA:
        raise ValueError(f"paf_thickness must be in [0, 2**40], got {value}")
    return value


def _unbound(spec: OpenPoseSpec) -> OpenPoseSpec:
    return dataclasses.replace(spec, num_keypoints=0, max_slots=0)


# --- the input and the pass ----------------------------------------------------------------------


def _as_input(spec: OpenPoseSpec, data, image_ids):
    """``(spec bound to K and N, (keypoints float64, visible float64), B, labels)``."""
    keypoints, visible = data
    keypoints = as_real_array("keypoints", keypoints)
    if keypoints.ndim != 4 or keypoints.shape[3] != 2 or 0 in keypoints.shape[0::2]:
        raise ValueError("keypoints must be (B, N, K, 2): (x, y) of K keypoints of N people per "
                         f"image, B >= 1 and K >= 1 (one image: keypoints[None]), got shape "
                         f"{keypoints.shape}")
    visible = as_real_array("visible", visible)
    if visible.shape != keypoints.shape[:3]:
        raise ValueError(f"visible must be (B, N, K) = {keypoints.shape[:3]} like keypoints, "
                         f"got shape {visible.shape}")
    batch_size, people, count = keypoints.shape[:3]
    for i, pair in enumerate(spec.limbs):
        if max(pair) >= count:
            raise ValueError(f"limbs[{i}] = {pair} names a keypoint outside [0, {count}) (K = "
                             f"{count} keypoints)")
    spec = dataclasses.replace(spec, num_keypoints=count, max_slots=people)
    data = (np.ascontiguousarray(keypoints, np.float64), np.ascontiguousarray(visible, np.float64))
    return spec, data, batch_size, Labels(check_image_ids(image_ids, batch_size, False))


@jit
def _add_band(points, clips, lines, j, info, out_h, out_w, channel, x0, x1, y0, y1, line_x,
              line_y, ux, uy, value):
    """Stamp ``j``: a limb band on map 1 (``Stamps.lines``), clipped to ``[x0, x1) x
    [y0, y1)``; returns ``j + 1``."""
    lines[j, X0], lines[j, Y0], lines[j, UX], lines[j, UY] = line_x, line_y, ux, uy
    lines[j, VALUE] = value
    return add_clipped_stamp(points, clips, j, info, out_h, out_w, 1, channel, 0, 0,
                             max(out_h, out_w), x0, x1, y0, y1)


@jit
def _openpose_pass(keypoints, visible, limbs, stride, sigma, thickness, out_h, out_w, starts,
                   points, clips, centres, lines, info):
    """Check every keypoint, then per image, as the reference: per keypoint type, each drawn
    person's Gaussian (``_add_gaussian``'s window ``[max(int(x - 4 sigma), 0) // stride,
    min(int(x + 4 sigma), W * stride) // stride)``, likewise in y, as the point's clip); per
    limb, each person with both keypoints drawn, ``_set_paf``'s two bands (the keypoints
    divided by ``stride``, the box ``[int(max(min(xa, xb) - t, 0)), int(min(max(xa, xb) + t,
    W)))``, likewise in y, the unit vector from a to b; none if its length is below 1e-7)."""
    batch_size, people, count = visible.shape
    for b in range(batch_size):
        for n in range(people):
            for k in range(count):
                code = drawn_keypoint_problem(keypoints, visible, b, n, k)
                if code:
                    info[CODE] = code
                    info[WHERE] = (b * people + n) * count + k
                    return
    reach = N_SIGMA * sigma
    j = 0
    for b in range(batch_size):
        starts[b] = j
        for k in range(count):
            for n in range(people):
                if not visible[b, n, k] > 0:
                    continue
                x, y = keypoints[b, n, k, 0], keypoints[b, n, k, 1]
                left, top = max(int(x - reach), 0), max(int(y - reach), 0)
                right = min(int(x + reach), out_w * stride)
                bottom = min(int(y + reach), out_h * stride)
                x0, x1, y0, y1 = left // stride, right // stride, top // stride, bottom // stride
                if x0 < x1 and y0 < y1:
                    centres[j, 0], centres[j, 1] = x, y
                    j = add_clipped_stamp(points, clips, j, info, out_h, out_w, 0, k, 0, 0,
                                          max(out_h, out_w), x0, x1, y0, y1)
        for limb in range(limbs.shape[0]):
            a, c = limbs[limb, 0], limbs[limb, 1]
            for n in range(people):
                if not (visible[b, n, a] > 0 and visible[b, n, c] > 0):
                    continue
                x_a, y_a = keypoints[b, n, a, 0] / stride, keypoints[b, n, a, 1] / stride
                x_b, y_b = keypoints[b, n, c, 0] / stride, keypoints[b, n, c, 1] / stride
                dx, dy = x_b - x_a, y_b - y_a
                x0 = int(max(min(x_a, x_b) - thickness, 0.0))
                x1 = int(min(max(x_a, x_b) + thickness, np.float64(out_w)))
                y0 = int(max(min(y_a, y_b) - thickness, 0.0))
                y1 = int(min(max(y_a, y_b) + thickness, np.float64(out_h)))
                length = (dx * dx + dy * dy) ** 0.5
                if length < 1e-7 or x0 >= x1 or y0 >= y1:
                    continue
                ux, uy = dx / length, dy / length
                j = _add_band(points, clips, lines, j, info, out_h, out_w, 2 * limb, x0, x1,
                              y0, y1, x_a, y_a, ux, uy, ux)
                j = _add_band(points, clips, lines, j, info, out_h, out_w, 2 * limb + 1, x0, x1,
                              y0, y1, x_a, y_a, ux, uy, uy)
    starts[batch_size] = j
    info[COUNT] = j


def _run_openpose_pass(spec: OpenPoseSpec, data, batch_size: int, slots, labels) -> Stamps:
    keypoints, visible = data
    people, count = visible.shape[1:]
    capacity = batch_size * people * (count + 2 * len(spec.limbs))
    starts, points, info = new_stamps(batch_size, capacity)
    clips = np.empty((capacity, 4), np.int64)
    centres, lines = np.zeros((capacity, 2)), np.zeros((capacity, 5))
    runtime.call(_openpose_pass, _openpose_pass, keypoints, visible,
                 np.array(spec.limbs, np.int64).reshape(-1, 2), spec.stride, spec.sigma,
                 spec.paf_thickness, *spec.output_size, starts, points, clips, centres, lines,
                 info)
    code = int(info[CODE])
    if code:
        b, rest = divmod(int(info[WHERE]), people * count)
        n, k = divmod(rest, count)
        where = f"[{b}, {n}, {k}]"
        if labels.image_ids is not None:
            where += f" ({labels.image(b)})"
        raise ValueError(DRAWN_PROBLEMS[code].format(
            where=where, visible=visible[b, n, k], keypoint=keypoints[b, n, k].tolist(),
            bound=f"2**{int(math.log2(MAX_PIXEL))}"))
    used = int(info[COUNT])
    return Stamps(starts, points[:used], int(info[MAX_RADIUS]), int(info[CELLS]),
                  clips=clips[:used], centres=centres[:used], lines=lines[:used])


def _warmup(num_threads: int) -> None:
    """Compile (or load) the pass and both maps' kernels."""
    keypoints = np.array([[[[3.0, 5.0], [20.0, 12.0]]]])
    options = dict(limbs=((0, 1),), input_size=(32, 32), stride=4, sigma=2.0, paf_thickness=1)
    encode(OPENPOSE, (keypoints, np.ones((1, 1, 2))), None, options, None, num_threads, False)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
OPENPOSE = register(Family(
    name="openpose", result=OpenPoseTargets, maps=2, run_pass=_run_openpose_pass,
    options=dict(limbs=REQUIRED, input_size=REQUIRED, stride=8, sigma=7.0, paf_thickness=1),
    make_spec=_make_spec, as_input=_as_input, unbound=_unbound, warmup=_warmup,
    spec_type=OpenPoseSpec, stamp_arrays=lambda spec: ("clips", "centres", "lines"),
    rendering=("output_size", "dtype", "limbs", "stride", "sigma", "paf_thickness"),
    inputs=(inspect.Parameter("keypoints", _POSITIONAL),
            inspect.Parameter("visible", _POSITIONAL)),
))


@one_shot(OPENPOSE)
def encode_openpose() -> OpenPoseTargets:
    """Encode people's keypoints as lightweight OpenPose's training targets, bit-identical to
    its ``_generate_keypoint_maps`` and ``_generate_paf_maps`` (docs/references.md).

    Image ``b``'s targets are the reference's on ``keypoints[b]``, people in order (the
    reference's main person first, then its ``processed_other_annotations``), a keypoint
    drawn where ``visible[b] > 0`` (the reference's ``keypoint[2] <= 1``), maps of
    ``input_size // stride`` cells:

    * ``keypoint_maps[:, k]``: each person's Gaussian ``exp(-d2 / 2 / sigma / sigma)``, ``d2``
      the squared distance from the keypoint to the cell's centre ``cell * stride + stride / 2
      - 0.5`` (input pixels, Python floats, ``math.exp``), within ``4 sigma`` and where the
      exponent is at most 4.6052, added to the float32 map (in float32, as NumPy 2 adds a
      Python float to a float32 cell) and clamped at 1, person after person;
      ``keypoint_maps[:, K]`` is ``1 - max`` of the others (and 0);
    * ``pafs[:, 2l:2l + 2]``, for limb ``l = (a, c)`` and each person with both keypoints drawn
      (in map cells, divided by ``stride``): the unit vector from ``a`` to ``c`` written on
      the cells of the limb's box grown by ``paf_thickness`` whose distance to the line through
      ``a`` and ``c`` is at most ``paf_thickness``, later people overwriting; nothing if ``a``
      and ``c`` are closer than 1e-7 cells.

    Parameters
    ----------
    keypoints : array_like, shape (B, N, K, 2)
        ``(x, y)`` of ``K`` keypoints of ``N`` people per image, in input pixels (any real
        dtype, taken as float64: the reference's Python floats). Keypoints not drawn may be
        anything (NaN padding is fine); drawn ones finite, within +-2**40.
    visible : array_like, shape (B, N, K)
        Finite; > 0: drawn.
    limbs : sequence of (int, int)
        The keypoint pairs of the part affinity fields (e.g. lightweight OpenPose's
        ``BODY_PARTS_KPT_IDS``), at least one, each index in ``[0, K)``.
    input_size : (int, int) or int
        ``(height, width)`` of the network input (the reference's image), at least ``stride``
        on each side; an int for a square.
    stride : int, default 8
        >= 1.
    sigma : float, default 7.0
        > 0, in input pixels.
    paf_thickness : float, default 1
        >= 0, in map cells.
    out : OpenPoseTargets or tuple of 2 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.
    sparse, image_ids, num_threads
        As for ``encode_corners`` (``image_ids`` name the images in messages).

    Returns
    -------
    OpenPoseTargets or SparseTargets
        ``keypoint_maps`` float32 ``(B, K + 1, H, W)`` and ``pafs`` float32 ``(B, 2L, H, W)``,
        ``(H, W) = input_size // stride``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for ``keypoints`` and ``visible``, the first
        offending entry ``[b, n, k]``; for ``limbs``, the first pair out of range); ``out`` is
        then left untouched.
    """


class OpenPoseEncoder(Encoder):
    """``encode_openpose`` into reused buffers: see ``CornerEncoder``.

    ``encoder(keypoints, visible, copy=False, image_ids=None)`` returns ``OpenPoseTargets``
    bit-identical to ``encode_openpose`` with the same options, as read-only views valid until
    the next call (fresh arrays with ``copy=True``).
    """

    family = OPENPOSE

    def __call__(self, keypoints, visible, *, copy: bool = False, image_ids=None):
        return self._encode_own((keypoints, visible), image_ids, copy)
