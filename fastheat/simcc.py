"""The SimCC family: RTMPose's 1-D coordinate-classification labels, bit-identical to mmpose's
``SimCCLabel`` codec (``encode_simcc``, ``SimCCEncoder``).

Each visible keypoint gets two labels, one per axis: a row of ``round(w * simcc_split_ratio)``
cells for ``x`` and one of ``round(h * simcc_split_ratio)`` cells for ``y``, centred on the
keypoint's position times the ratio, rounded half to even. mmpose draws each row whole, so
the value of a cell depends only on its integer offset from the centre: the labels are the
engine's 1-D label stamps (a label kind, ``tables``), whose values come from one table of
offsets per axis (``SimCCLabels``), computed with the very NumPy operations of mmpose.

The two maps are ``x_labels (B, N, K, Wx)`` and ``y_labels (B, N, K, Hy)``: channel ``n``,
row ``k``; the compiled pass checks the keypoints, fills the weights and turns every drawn
keypoint into one label point per axis.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CELLS, CHANNEL, CODE, COUNT, HEIGHT, MAP, MAX_RADIUS, RADIUS, REQUIRED,
                          SLOTS, WHERE, X, Y, Encoder, Family, Stamps, add_label_stamp, check_flag,
                          check_map_size, check_positive, check_real, encode, expand_cells, jit,
                          new_stamps, one_shot, register, runtime)
from .keypoints import (BEYOND, MAX_CELL, MAX_SIGMA, MIN_SIGMA, NOT_FINITE, NOT_FINITE_VISIBLE,
                        keypoint_error, keypoint_input)

SMOOTHING_TYPES = ("gaussian", "standard")
#: The longest label: mmpose's float32 grid ``np.arange(W, dtype=np.float32)`` counts exactly.
MAX_LABEL = 2**24


class SimCCTargets(NamedTuple):
    """SimCC labels for ``B`` images of ``N`` instances of ``K`` keypoints."""

    x_labels: NDArray[np.float32]  #: (B, N, K, Wx)
    y_labels: NDArray[np.float32]  #: (B, N, K, Hy)
    weights: NDArray[np.float32]  #: (B, N, K)


# --- the labels ----------------------------------------------------------------------------------


def _gaussian_label(sigma: float, length: int, normalize: bool) -> NDArray[np.float32]:
    """mmpose's Gaussian label at offsets ``0..length - 1`` from its centre, by its own
    operations: a float32 grid minus the centre, a NumPy int64 scalar (under NumPy >= 2 this
    widens the arithmetic to float64, NEP 50; under 1.x it stays float32), divided by
    ``2 * sigma**2`` (``sigma`` an element of mmpose's ``np.array(sigma)``), NumPy's ``exp``,
    stored in float32, then divided in place by ``sigma * sqrt(2 pi)`` if ``normalize``."""
    sigma = np.float64(sigma)
    grid = np.arange(0, length, 1, dtype=np.float32)
    label = np.zeros(length, np.float32)
    label[:] = np.exp(-((grid - np.int64(0)) ** 2) / (2 * sigma**2))
    if normalize:
        label /= sigma * np.sqrt(np.pi * 2)
    return label


def _standard_label(weight: float, width: int, length: int) -> NDArray[np.float32]:
    """mmpose's standard label: ``1 - weight`` at the centre, ``weight / (width - 1)`` elsewhere
    (0 without smoothing), float32."""
    label = np.zeros(length, np.float32)
    if weight > 0 and width > 1:
        label[:] = weight / (width - 1)
    label[0] = 1.0 - weight
    return label


@dataclass(frozen=True)
class SimCCLabels:
    """SimCC's labels, a label kind (``tables``): ``widths`` ``(Wx, Hy)``, ``sigma`` ``(x, y)``,
    ``smoothing_type``, ``label_smooth_weight`` and ``normalize`` as ``encode_simcc`` takes
    them."""

    widths: tuple[int, int]
    sigma: tuple[float, float]
    smoothing_type: str
    label_smooth_weight: float
    normalize: bool
    label: ClassVar[bool] = True
    per_point: ClassVar[bool] = False

    def offset_values(self, length: int) -> NDArray[np.float32]:
        """``(2, length)``: each axis' value at offsets ``0..length - 1`` (read-only, cached)."""
        return _offset_values(self, length)


@functools.lru_cache(maxsize=8)  # a table per option set (and per reach, for far centres)
def _offset_values(kind: SimCCLabels, length: int) -> NDArray[np.float32]:
    if kind.smoothing_type == "gaussian":
        rows = [_gaussian_label(sigma, length, kind.normalize) for sigma in kind.sigma]
    else:
        rows = [_standard_label(kind.label_smooth_weight, width, length) for width in kind.widths]
    values = np.stack(rows)
    values.flags.writeable = False
    return values


# --- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimCCSpec:
    """The validated options of ``encode_simcc`` (``input_size`` as ``(height, width)``,
    ``sigma`` as ``(x, y)``), derived ``label_size`` ``(Hy, Wx)`` (mmpose's ``np.around(h *
    ratio)``, ``np.around(w * ratio)``) and ``radius`` ``(x, y)`` (``3 * sigma``), and, bound
    per call by the input, ``num_keypoints`` (``K``) and ``max_slots`` (instances ``N``)."""

    input_size: tuple[int, int]
    sigma: tuple[float, float]
    simcc_split_ratio: float
    smoothing_type: str
    label_smooth_weight: float
    normalize: bool
    label_size: tuple[int, int]
    radius: tuple[float, float]
    num_keypoints: int = 0
    max_slots: int = 0
    dtype: np.dtype = np.dtype(np.float32)

    @property
    def gaussian(self) -> SimCCLabels:
        return SimCCLabels((self.label_size[1], self.label_size[0]), self.sigma,
                           self.smoothing_type, self.label_smooth_weight, self.normalize)

    def map_shapes(self, batch_size: int) -> tuple[tuple[int, int, int, int], ...]:
        """``x_labels`` and ``y_labels``: ``(B, N, K, Wx)``, ``(B, N, K, Hy)``."""
        head = (batch_size, self.max_slots, self.num_keypoints)
        return (*head, self.label_size[1]), (*head, self.label_size[0])

    def map_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return self.map_shapes(batch_size)[0]

    def differences(self, other: SimCCSpec, fields=None) -> list[str]:
        """The names of the ``fields`` (default all) in which ``other`` differs."""
        return [name for name in fields or self.__dataclass_fields__
                if getattr(self, name) != getattr(other, name)]


def _check_sigma(sigma) -> tuple[float, float]:
    """``sigma`` as ``(x, y)``: one real number for both, or a pair."""
    if isinstance(sigma, (tuple, list)) or (isinstance(sigma, np.ndarray) and sigma.ndim):
        if len(sigma) != 2:
            raise ValueError(f"sigma must be a number or a pair (sigma_x, sigma_y), got {sigma!r}")
        pair = sigma
    else:
        pair = (sigma, sigma)
    return tuple(check_positive("sigma", value, minimum=MIN_SIGMA, maximum=MAX_SIGMA)
                 for value in pair)


def _make_spec(values: dict) -> SimCCSpec:
    smoothing = values["smoothing_type"]
    if not isinstance(smoothing, str) or smoothing not in SMOOTHING_TYPES:
        raise ValueError(f"smoothing_type must be one of {list(SMOOTHING_TYPES)}, got "
                         f"{smoothing!r}")
    input_size = check_map_size("input_size", values["input_size"])
    ratio = check_positive("simcc_split_ratio", values["simcc_split_ratio"], maximum=MAX_LABEL)
    label_size = tuple(round(side * ratio) for side in input_size)  # half to even, as np.around
    if not (1 <= min(label_size) and max(label_size) <= MAX_LABEL):
        raise ValueError(f"simcc_split_ratio={ratio} makes labels of {label_size} cells from "
                         f"input_size={input_size}: each must be in [1, 2**24]")
    sigma = _check_sigma(values["sigma"])
    weight = check_real("label_smooth_weight", values["label_smooth_weight"])
    if not 0 <= weight <= 1:
        raise ValueError(f"label_smooth_weight must be in [0, 1], got {weight}")
    if smoothing == "gaussian" and weight > 0:
        raise ValueError("label_smooth_weight is only used with smoothing_type='standard' "
                         f"(mmpose refuses it with 'gaussian'), got {weight}")
    return SimCCSpec(input_size=input_size, sigma=sigma, simcc_split_ratio=ratio,
                     smoothing_type=smoothing, label_smooth_weight=weight,
                     normalize=check_flag("normalize", values["normalize"]),
                     label_size=label_size, radius=(sigma[0] * 3, sigma[1] * 3))


def _unbound(spec: SimCCSpec) -> SimCCSpec:
    return dataclasses.replace(spec, num_keypoints=0, max_slots=0)


# --- the pass ------------------------------------------------------------------------------------


@jit
def _entry_problem(keypoints, visible, b, n, k, ratio):
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
    if not (abs(x * ratio) < MAX_CELL and abs(y * ratio) < MAX_CELL):
        return BEYOND
    return 0


@jit
def _simcc_pass(keypoints, visible, ratio, gaussian, radius_x, radius_y, width, height, starts,
                points, info, weights):
    """Check every keypoint, then fill the weights and add the labels of each visible keypoint
    that mmpose draws, as its ``SimCCLabel.encode`` does for each image:

    * the centre ``mu = np.around(kp * ratio)`` (a float32 product, rounded half to even);
    * gaussian: drawn unless ``mu - radius >= size`` or ``mu + radius + 1 < 0`` on either axis
      (float64); standard: drawn if ``0 <= mu < size`` on both axes;
    * a visible keypoint not drawn gets weight 0; the others keep their visibility (float32).
    """
    batch_size, instances, count = visible.shape
    for b in range(batch_size):
        for n in range(instances):
            for k in range(count):
                code = _entry_problem(keypoints, visible, b, n, k, ratio)
                if code:
                    info[CODE] = code
                    info[WHERE] = (b * instances + n) * count + k
                    return
    j = 0
    for b in range(batch_size):
        starts[b] = j
        for n in range(instances):
            for k in range(count):
                v = visible[b, n, k]
                weights[b, n, k] = v
                if v < 0.5:
                    continue
                mu_x = int(np.rint(keypoints[b, n, k, 0] * ratio))
                mu_y = int(np.rint(keypoints[b, n, k, 1] * ratio))
                if gaussian:
                    missed = (mu_x - radius_x >= width or mu_y - radius_y >= height
                              or (mu_x + radius_x) + 1.0 < 0 or (mu_y + radius_y) + 1.0 < 0)
                else:
                    missed = not (0 <= mu_x < width and 0 <= mu_y < height)
                if missed:
                    weights[b, n, k] = 0.0
                    continue
                j = add_label_stamp(points, j, info, 0, n, k, mu_x, width)
                j = add_label_stamp(points, j, info, 1, n, k, mu_y, height)
    starts[batch_size] = j
    info[COUNT] = j


def _run_simcc_pass(spec: SimCCSpec, data, batch_size: int, slots, labels) -> Stamps:
    keypoints, visible = data
    starts, points, info = new_stamps(batch_size, 2 * visible.size)
    ratio = np.float32(spec.simcc_split_ratio)  # a Python float times float32 keypoints
    runtime.call(_simcc_pass, _simcc_pass, keypoints, visible, ratio,
                 spec.smoothing_type == "gaussian", *spec.radius, spec.label_size[1],
                 spec.label_size[0], starts, points, info, slots[0])
    if info[CODE]:
        raise keypoint_error(info, keypoints, visible, labels,
                             f"label cells once multiplied by simcc_split_ratio={ratio}")
    count = int(info[COUNT])
    return Stamps(starts, points[:count], int(info[MAX_RADIUS]), int(info[CELLS]))


def _check_stamps(spec: SimCCSpec, stamps: Stamps) -> str | None:
    """The label points' own invariants (``Stamps``, label kinds; the engine has checked the
    maps, channels and bounds): rows in ``[0, K)``, each radius the row's largest offset, and
    centres that this spec labels (so the value table stays as short as the pass makes it)."""
    points = stamps.points
    widths = np.array(spec.gaussian.widths)[points[:, MAP]]
    centre, row, reach = points[:, X], points[:, Y], points[:, RADIUS]
    bad = (row < 0) | (row >= spec.num_keypoints)
    bad |= reach != np.maximum(np.abs(centre), np.abs(widths - 1 - centre))
    if spec.smoothing_type == "gaussian":
        radius = np.array(spec.radius)[points[:, MAP]]
        bad |= (centre - radius >= widths) | (centre + radius + 1.0 < 0)
    else:
        bad |= (centre < 0) | (centre >= widths)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        return (f"stamps.points[{j}] = {points[j].tolist()} is not a label of these options (a "
                f"row in [0, {spec.num_keypoints}), a centre they label, the radius "
                "max(|x|, width - 1 - x))")
    image = np.repeat(np.arange(stamps.images), np.diff(stamps.starts))
    rows = ((image * 2 + points[:, MAP]) * spec.max_slots + points[:, CHANNEL]) \
        * spec.num_keypoints + row
    _, first = np.unique(rows, return_index=True)
    if first.size < rows.size:  # one label per row: the kernel writes, the scatter path maxes
        j = int(np.setdiff1d(np.arange(rows.size), first)[0])
        return f"stamps.points[{j}] = {points[j].tolist()} labels a row another point labels"
    return None


def _warmup(num_threads: int) -> None:
    """Compile (or load) the pass and the label kernel, and on one thread the cell expansion
    of fastheat.torch's scatter path."""
    keypoints = np.array([[[[3.0, 5.0], [-40.0, 2.0]]]])
    for smoothing in SMOOTHING_TYPES:
        options = dict(input_size=(8, 8), sigma=1.0, smoothing_type=smoothing)
        encode(SIMCC, (keypoints, None), None, options, None, num_threads, False)
        if num_threads == 1:
            sparse = encode(SIMCC, (keypoints, None), None, options, None, 1, True)
            expand_cells(sparse.stamps, 2, sparse.spec.map_shape(1), sparse.spec.gaussian,
                         sparse.spec.dtype)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
SIMCC = register(Family(
    name="simcc", result=SimCCTargets, maps=2, run_pass=_run_simcc_pass,
    options=dict(input_size=REQUIRED, sigma=6.0, simcc_split_ratio=2.0,
                 smoothing_type="gaussian", label_smooth_weight=0.0, normalize=True),
    slots=(((SLOTS, HEIGHT), np.float32),),
    make_spec=_make_spec, as_input=keypoint_input, unbound=_unbound, warmup=_warmup,
    spec_type=SimCCSpec, check_stamps=_check_stamps,
    rendering=("dtype", "sigma", "smoothing_type", "label_smooth_weight", "normalize",
               "label_size"),
    inputs=(inspect.Parameter("keypoints", _POSITIONAL),
            inspect.Parameter("visible", _POSITIONAL, default=None)),
))


@one_shot(SIMCC)
def encode_simcc() -> SimCCTargets:
    """Encode keypoints as SimCC labels (RTMPose), bit-identical to mmpose's ``SimCCLabel``.

    Image ``b``'s targets are mmpose 1.3.2's ``SimCCLabel(input_size=(w, h), ...).encode(
    keypoints[b], visible[b])`` (docs/references.md, mmpose SimCC) for float32 keypoints:
    each visible keypoint's centre is ``np.around(kp * simcc_split_ratio)`` (half to even), and
    its labels are rows of ``Wx = round(w * ratio)`` and ``Hy = round(h * ratio)`` cells:

    * ``smoothing_type="gaussian"``: ``exp(-(x - mu)**2 / (2 * sigma**2))`` over the whole row,
      divided by ``sigma * sqrt(2 pi)`` if ``normalize``; a keypoint whose ``3 * sigma`` window
      misses the labels on either axis gets weight 0 and no labels;
    * ``smoothing_type="standard"``: one-hot, ``1 - label_smooth_weight`` at the centre and
      ``label_smooth_weight / (size - 1)`` elsewhere; a keypoint whose centre is outside the
      labels on either axis gets weight 0 and no labels.

    Parameters
    ----------
    keypoints : array_like, shape (B, N, K, 2)
        ``(x, y)`` in input pixels, as for ``encode_keypoints`` (rounded to float32).
    visible : array_like, shape (B, N, K), optional
        Visibilities (default all 1): a keypoint is labelled if ``visible >= 0.5``.
    input_size : (int, int) or int
        ``(height, width)`` of the network input (mmpose writes ``[w, h]``).
    sigma : float or (float, float), default 6.0
        The Gaussian's standard deviation in label cells, or ``(sigma_x, sigma_y)``; each in
        ``[1e-6, 1e6]``.
    simcc_split_ratio : float, default 2.0
        Label cells per input pixel, > 0; the labels must be 1 to 2**24 cells long.
    smoothing_type : {"gaussian", "standard"}, default "gaussian"
    label_smooth_weight : float, default 0.0
        In ``[0, 1]``; only with ``"standard"`` (mmpose refuses it with ``"gaussian"``).
    normalize : bool, default True
        Divide Gaussian labels by ``sigma * sqrt(2 pi)`` (``"gaussian"`` only).
    out : SimCCTargets or tuple of 3 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.
    sparse, image_ids, num_threads
        As for ``encode_corners``.

    Returns
    -------
    SimCCTargets or SparseTargets
        ``x_labels`` float32 ``(B, N, K, Wx)``, ``y_labels`` float32 ``(B, N, K, Hy)`` (zero
        rows for keypoints without labels; with ``"standard"`` too, where mmpose's docstring
        announces ``(N, K)``), ``weights`` float32 ``(B, N, K)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for ``keypoints`` and ``visible``, the first
        offending entry ``[b, n, k]``; keypoints beyond +-2**30 label cells are refused).

    Notes
    -----
    Bit-exactness holds for float32 keypoints and the Python floats of mmpose's configs
    (``sigma`` may be an int there too: the same labels). Under NumPy >= 2 mmpose's Gaussian is
    computed in float64 (its centre is a NumPy int64 scalar, NEP 50), stored in float32 and
    then normalized in float64; under NumPy 1.x all in float32. fastheat computes its value
    table with the same NumPy operations, so it follows the NumPy installed.
    """


class SimCCEncoder(Encoder):
    """``encode_simcc`` into reused label buffers: see ``CornerEncoder``.

    ``encoder(keypoints, visible=None, copy=False, image_ids=None)`` returns ``SimCCTargets``
    bit-identical to ``encode_simcc`` with the same options; the labels are read-only views
    valid until the next call (fresh arrays with ``copy=True``), the weights are fresh every
    call. A call with another ``(N, K)`` than the previous one allocates new buffers.
    """

    family = SIMCC

    def __call__(self, keypoints, visible=None, *, copy: bool = False, image_ids=None):
        return self._encode_own((keypoints, visible), image_ids, copy)
