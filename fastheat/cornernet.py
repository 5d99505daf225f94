"""CornerNet corner heatmaps: ``encode_corners``."""

from __future__ import annotations

import functools
import os
import threading
import weakref
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from . import _kernels
from ._numba import first_use
from ._threads import check_num_threads, run_kernel, stamped_cells, threads_for, CELL_WORK
from ._validate import (
    check_batch_size,
    check_detections,
    check_dtype,
    check_index,
    check_min_overlap,
    check_out,
    check_positive,
    check_size,
    radius_formula_code,
    MAX_DELTE,
    MAX_GRID_COORD,
)
from .gaussian import RadiusFormula, gaussian_table, stamp_window


class CornerHeatmaps(NamedTuple):
    """Top-left and bottom-right corner heatmaps, each ``(batch, classes, out_h, out_w)``."""

    tl_heatmaps: NDArray[np.floating]
    br_heatmaps: NDArray[np.floating]


@dataclass(frozen=True)
class CornerOptions:
    """Validated options of a corner encoder (everything but the detections)."""

    num_classes: int
    input_size: tuple[int, int]
    output_size: tuple[int, int]
    gaussian_iou: float
    gaussian_rad: int
    delte: float
    k: float
    dtype: np.dtype
    radius_formula: int
    min_radius: int

    @classmethod
    def check(cls, num_classes, input_size, output_size, gaussian_iou, gaussian_rad, delte, k,
              dtype, radius_formula, min_radius) -> "CornerOptions":
        dtype = check_dtype(dtype)
        return cls(
            num_classes=check_index("num_classes", num_classes, minimum=1),
            input_size=check_size("input_size", input_size),
            output_size=check_size("output_size", output_size),
            gaussian_iou=check_min_overlap("gaussian_iou", gaussian_iou),
            gaussian_rad=check_index("gaussian_rad", gaussian_rad, minimum=-1, maximum=MAX_GRID_COORD),
            delte=check_positive("delte", delte, maximum=MAX_DELTE),
            k=check_positive("k", k, dtype),
            dtype=dtype,
            radius_formula=radius_formula_code(radius_formula),
            min_radius=check_index("min_radius", min_radius, minimum=0, maximum=MAX_GRID_COORD),
        )

    @property
    def ratios(self) -> tuple[float, float]:
        """``(width_ratio, height_ratio)``: output over input size, as in the seed."""
        return (self.output_size[1] / self.input_size[1], self.output_size[0] / self.input_size[0])

    def shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return (batch_size, self.num_classes, *self.output_size)

    @property
    def image_bytes(self) -> int:
        """Bytes of one image of one map, ``num_classes * out_h * out_w * itemsize``."""
        return self.num_classes * self.output_size[0] * self.output_size[1] * self.dtype.itemsize

    def zeros(self, batch_size: int, count: int = 2) -> tuple[NDArray, ...]:
        """``count`` new zeroed maps: calloc'd, so stamp them with TOUCH_PAGES (one touch)."""
        return tuple(np.zeros(self.shape(batch_size), self.dtype) for _ in range(count))


@dataclass
class PreparedBoxes:
    """Boxes grouped by image, with their grid points and radii (the kernels' input).

    ``corners`` is ``(N, 2K)``: the K grid points each box stamps, ``(xtl, ytl, xbr, ybr)`` for
    corner maps, ``(x, y)`` of the centre for centre maps.
    """

    starts: NDArray[np.int64]
    order: NDArray[np.int64]
    image_index: NDArray[np.int64]
    categories: NDArray[np.int64]
    corners: NDArray[np.int64]
    radii: NDArray[np.int64]

    @classmethod
    @functools.cache
    def empty(cls) -> "PreparedBoxes":
        """No boxes (shared, read-only by convention: kernels only read their inputs)."""
        return cls.prepare(*(np.zeros(0, np.int64),) * 2, np.zeros((0, 4)), 0, None)

    @classmethod
    def prepare(cls, image_index, categories, boxes, batch_size, options) -> "PreparedBoxes":
        n = len(boxes)
        starts = np.empty(batch_size + 1, np.int64)
        order = np.empty(n, np.int64)
        corners = np.empty((n, 4), np.int64)
        radii = np.empty(n, np.int64)
        with first_use("prepare"):
            _kernels.group_by_image(image_index, starts, order)
            if n:
                width_ratio, height_ratio = options.ratios
                _kernels.prepare_corners(
                    boxes, width_ratio, height_ratio, options.gaussian_iou, options.gaussian_rad,
                    options.min_radius, options.radius_formula, 2.0, corners, radii,
                )
        return cls(starts, order, image_index, categories, corners, radii)


def stamp_corners(maps, boxes: PreparedBoxes, options: CornerOptions, num_threads: int | None,
                  clear: int = _kernels.CLEAR_ALL, previous: PreparedBoxes | None = None) -> None:
    """Clear the K ``maps`` as ``clear`` says, then stamp ``boxes``' K points into them.

    ``num_threads`` is a checked count, or None to let the thread policy decide from the work.
    Radii above the table's (wider than the map, or beyond its byte budget) are stamped
    afterwards from values computed for their visible windows only.
    """
    radii = boxes.radii
    max_radius = int(radii.max()) if radii.size else -1
    table, covered = gaussian_table(options.delte, options.k, options.dtype, max_radius,
                                    max(options.output_size))
    prev = previous or PreparedBoxes.empty()
    count, (height, width) = len(maps), options.output_size
    if clear == _kernels.CLEAR_PREVIOUS:
        cleared = stamped_cells(prev.radii, count, height, width) * options.dtype.itemsize
    else:
        cleared = sum(heatmaps.nbytes for heatmaps in maps)
    work = cleared + CELL_WORK * stamped_cells(boxes.radii, count, height, width)
    threads = threads_for(num_threads, maps[0].shape[0], work)
    run_kernel(
        _kernels.stamp_points_serial, _kernels.stamp_points_parallel, threads,
        tuple(maps), clear,
        prev.starts, prev.order, prev.categories, prev.corners, prev.radii,
        boxes.starts, boxes.order, boxes.categories, boxes.corners, radii, table, covered,
    )
    if max_radius > covered:
        for i in np.flatnonzero(radii > covered).tolist():
            b, c, r = boxes.image_index[i], boxes.categories[i], int(radii[i])
            for heatmaps, (x, y) in zip(maps, boxes.corners[i].reshape(-1, 2).tolist()):
                stamp_window(heatmaps[b, c], x, y, r, options.delte, options.k)


def encode_corners(
    detections: ArrayLike,
    *,
    batch_size: int,
    num_classes: int,
    input_size: tuple[int, int],
    output_size: tuple[int, int],
    gaussian_iou: float = 0.3,
    gaussian_rad: int = -1,
    delte: float = 6,
    k: float = 1.0,
    dtype: DTypeLike = np.float32,
    out: tuple[NDArray, NDArray] | None = None,
    radius_formula: RadiusFormula = "cornernet",
    min_radius: int = 0,
    num_threads: int | None = None,
) -> CornerHeatmaps:
    """Encode boxes as CornerNet top-left and bottom-right corner heatmaps.

    For every box, as in CornerNet: scale the corners by ``output / input`` size, truncate them
    to grid cells, compute the radius from the scaled box size, and max-merge an unnormalized
    2-D Gaussian into ``[batch_index, category]`` of each map. With default options the result
    is bit-identical to the reference (``shared/seed/gaussian_targets.md``).

    Parameters
    ----------
    detections : array_like, shape (N, 6)
        Rows ``(batch_index, category, x1, y1, x2, y2)`` in input pixels, any order, any real
        dtype (all box arithmetic is float64). ``batch_index`` and ``category`` are whole
        numbers; ``x2 >= x1`` and ``y2 >= y1`` (zero-size boxes are valid). Boxes may lie
        partly or wholly outside the image: the visible part of each Gaussian is stamped.
        An empty array (or ``[]``) means no boxes.
    batch_size : int
        Number of images ``B``, ``>= 1``.
    num_classes : int
        Number of categories ``C``, ``>= 1``.
    input_size, output_size : (int, int)
        ``(height, width)`` of the network input and of the heatmaps: a tuple, list or 1-D
        array of two integers in ``[1, 2**31)``. The ratios are ``out_w / in_w`` and
        ``out_h / in_h``.
    gaussian_iou : float, default 0.3
        ``min_overlap`` of the radius formula, in (0, 1).
    gaussian_rad : int, default -1
        ``-1`` computes each box's radius from its size; ``>= 0`` fixes it.
    delte : float, default 6
        ``sigma = (2 * radius + 1) / delte``, in ``(0, 1e150]`` so that ``2 * sigma**2`` never
        underflows to 0.
    k : float, default 1.0
        Peak value of each Gaussian.
    dtype : float32 or float64, default float32
        Heatmap dtype.
    out : (ndarray, ndarray), optional
        ``(tl, br)`` C-contiguous writeable arrays of shape ``(B, C, out_h, out_w)`` and dtype
        ``dtype``, overwritten entirely (cleared in parallel, then stamped) and returned.
    radius_formula : {"cornernet", "centernet"}, default "cornernet"
        See ``gaussian_radius``.
    min_radius : int, default 0
        Floor on every radius (CenterPoint-style); 0 keeps the seed's ``max(0, radius)``.
    num_threads : int, optional
        Threads for this call. Default: one, or more where the work pays for them and cores
        are idle (README, "Threads, fork and load"); at most ``fastheat.default_num_threads()``.

    Returns
    -------
    CornerHeatmaps
        Named tuple ``(tl_heatmaps, br_heatmaps)``, each ``(B, C, out_h, out_w)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (and the lowest offending detections row, with
        its first problem); ``out`` is then left untouched. Detections whose scaled
        coordinates or box sizes reach ``2**31`` output cells (or overflow) are invalid.
    ValueError
        Before allocating anything, if the new maps (``2 * batch_size * num_classes * out_h
        * out_w * itemsize`` bytes; none with ``out``) exceed the machine's physical memory
        (``SC_PAGE_SIZE * SC_PHYS_PAGES``; ``2**63 - 1`` bytes, the most NumPy could ever
        allocate, where the OS does not report it): the message names ``batch_size`` and
        the bytes needed and available.
    """
    options = CornerOptions.check(num_classes, input_size, output_size, gaussian_iou,
                                  gaussian_rad, delte, k, dtype, radius_formula, min_radius)
    batch_size = check_batch_size(batch_size, 0 if out is not None else 2 * options.image_bytes)
    threads = check_num_threads(num_threads)
    shape = options.shape(batch_size)
    if out is not None:
        out = check_out(out, (shape, shape), options.dtype)
    image_index, categories, boxes = check_detections(detections, batch_size, num_classes,
                                                      *options.ratios)
    prepared = PreparedBoxes.prepare(image_index, categories, boxes, batch_size, options)
    if out is None:  # calloc'd zeros: the kernel's threads first-touch them, once
        out, clear = options.zeros(batch_size), _kernels.TOUCH_PAGES
    else:
        clear = _kernels.CLEAR_ALL
    stamp_corners(out, prepared, options, threads, clear)
    return CornerHeatmaps(*out)


class CornerEncoder:
    """Configure once, then encode batch after batch into reused buffers (sparse reset).

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
    A call with a larger ``batch_size`` than any before allocates bigger buffers (cleared in
    parallel); a smaller one reuses the first ``batch_size`` images. An encoder is not shared
    between threads: a call while another thread's call on the same encoder is running raises
    ``RuntimeError`` (use one encoder per thread; different encoders run concurrently).

    An encoder inherited by a forked process (e.g. created or used in a DataLoader's parent)
    drops its buffers in the child, which allocates its own on its first call: writing into
    the parent's buffers, shared copy-on-write, would copy them page by page into small pages.
    A pickled encoder (e.g. in a dataset sent to spawned workers) carries its configuration only.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        input_size: tuple[int, int],
        output_size: tuple[int, int],
        gaussian_iou: float = 0.3,
        gaussian_rad: int = -1,
        delte: float = 6,
        k: float = 1.0,
        dtype: DTypeLike = np.float32,
        radius_formula: RadiusFormula = "cornernet",
        min_radius: int = 0,
        num_threads: int | None = None,
    ):
        self.options = CornerOptions.check(num_classes, input_size, output_size, gaussian_iou,
                                           gaussian_rad, delte, k, dtype, radius_formula, min_radius)
        self.num_threads = check_num_threads(num_threads)
        self._buffers: tuple[NDArray, NDArray] | None = None
        self._previous: PreparedBoxes | None = None  # what the buffers hold; None: unknown
        self._lock = threading.Lock()
        _encoders[id(self)] = self

    def _forget_buffers(self) -> None:
        """In a forked child: drop the parent's buffers and any lock a parent thread held."""
        self._buffers = None
        self._previous = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        """Pickle the configuration only (e.g. to a spawned DataLoader worker), not the buffers."""
        state = self.__dict__.copy()
        for runtime in ("_buffers", "_previous", "_lock"):
            del state[runtime]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._forget_buffers()
        _encoders[id(self)] = self

    def __call__(self, detections: ArrayLike, batch_size: int, *, copy: bool = False) -> CornerHeatmaps:
        """Encode one batch; see ``encode_corners`` for ``detections`` and ``batch_size``.

        Parameters
        ----------
        detections : array_like, shape (N, 6)
            ``(batch_index, category, x1, y1, x2, y2)`` rows in input pixels.
        batch_size : int
            Number of images in this batch; its maps must fit in memory (see
            ``encode_corners``).
        copy : bool, default False
            Return fresh, writeable arrays instead of views of the reused buffers.

        Returns
        -------
        CornerHeatmaps
            Read-only views valid until the next call (or fresh arrays with ``copy=True``).
        """
        options = self.options
        batch_size = check_batch_size(batch_size, 2 * options.image_bytes)
        threads = self.num_threads
        prepared = PreparedBoxes.prepare(
            *check_detections(detections, batch_size, options.num_classes, *options.ratios),
            batch_size, options,
        )
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this CornerEncoder is already encoding in another thread: "
                               "use one encoder per thread")
        try:
            if self._buffers is None or self._buffers[0].shape[0] < batch_size:
                self._buffers = options.zeros(batch_size)
                clear = _kernels.TOUCH_PAGES
            elif self._previous is None:  # a call failed: the buffers' contents are unknown
                clear = _kernels.CLEAR_ALL
            else:
                clear = _kernels.CLEAR_PREVIOUS
            previous, self._previous = self._previous, None
            stamp_corners(self._buffers, prepared, options, threads, clear, previous)
            self._previous = prepared
            views = []
            for buffer in self._buffers:
                view = buffer[:batch_size]
                if copy:
                    view = view.copy()
                else:
                    view.flags.writeable = False
                views.append(view)
        finally:
            self._lock.release()
        return CornerHeatmaps(*views)


_encoders: weakref.WeakValueDictionary[int, CornerEncoder] = weakref.WeakValueDictionary()


def _forget_buffers_after_fork() -> None:
    for encoder in list(_encoders.values()):
        encoder._forget_buffers()


os.register_at_fork(after_in_child=_forget_buffers_after_fork)
