"""The CenterPoint family: bird's-eye-view heatmap targets of 3-D boxes, bit-identical to
mmdetection3d 1.4.0's ``CenterHead.get_targets`` (``encode_centerpoint``,
``CenterPointEncoder``).

The input is not 2-D detections: ``as_input`` checks the ``(N, 11)`` LiDAR boxes, and one
compiled pass regroups every scene's boxes by task and class (mmdetection3d's slot order),
computes each box's radius and cell in float32 as torch does, fills the per-task slot arrays
``(B, T, M, ...)`` and returns one stamp per box on the map. The heatmap's Gaussian is
CornerNet's ``gaussian2D`` of sigma ``(2r + 1) / 6`` (mmdetection3d's ``gaussian_2d``, the
engine's default table kind with ``delte=6``, ``k=1``), max-merged into float32; the tasks'
heatmaps are one map, concatenated along channels.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CELLS, CODE, COUNT, GROUPS, MAX_GRID_COORD, MAX_RADIUS, REQUIRED, SLOTS,
                          WHERE, Encoder, Family, Labels, Stamps, add_stamp, as_real_array,
                          check_flag, check_image_ids, check_index, check_min_overlap, check_real,
                          encode, expand_cells, jit, new_stamps, one_shot, register, runtime)

#: Columns of a box row (after the batch index of the batch form).
BOX_COLUMNS = ("batch_index", "label", "x", "y", "z", "dx", "dy", "dz", "yaw", "vx", "vy")
#: The largest float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


class CenterPointTargets(NamedTuple):
    """CenterPoint's training targets for ``B`` scenes, ``T`` tasks, ``M = max_objs *
    dense_reg`` slots per task.

    ``per_task(tasks)`` splits them into mmdetection3d's per-task lists.
    """

    heatmap: NDArray[np.float32]  #: (B, sum(tasks), H, W): the tasks' heatmaps, in task order
    anno_box: NDArray[np.float32]  #: (B, T, M, 10)
    ind: NDArray[np.int64]  #: (B, T, M)
    mask: NDArray[np.uint8]  #: (B, T, M)

    def per_task(self, tasks) -> tuple[list, list, list, list]:
        """``(heatmaps, anno_boxes, inds, masks)``, each a list of one array per task, as
        mmdetection3d's ``CenterHead.get_targets`` returns them: task ``t``'s heatmap
        ``(B, tasks[t], H, W)`` (channels ``sum(tasks[:t])`` to ``sum(tasks[:t + 1])``), its
        ``anno_box[:, t]`` ``(B, M, 10)``, ``ind[:, t]`` and ``mask[:, t]`` ``(B, M)``.

        Views, no copy; works on torch tensors as well (``fastheat.torch.to_dense``'s
        fields), and on a single scene's fields (``batch_size=None``), without the batch axis.
        """
        tasks = _check_tasks(tasks)
        if len(tasks) != self.ind.shape[-2] or sum(tasks) != self.heatmap.shape[-3]:
            raise ValueError(f"tasks {tasks} do not match the targets' {self.ind.shape[-2]} "
                             f"tasks and {self.heatmap.shape[-3]} heatmap channels")
        bounds = np.cumsum((0,) + tasks).tolist()
        return ([self.heatmap[..., lo:hi, :, :] for lo, hi in zip(bounds, bounds[1:])],
                [self.anno_box[..., t, :, :] for t in range(len(tasks))],
                [self.ind[..., t, :] for t in range(len(tasks))],
                [self.mask[..., t, :] for t in range(len(tasks))])


# --- the spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CenterPointSpec:
    """The validated options of ``encode_centerpoint``; derived from them: ``num_classes``
    (``sum(tasks)``, the heatmap's channels), ``output_size`` ``(H, W)`` (``grid_size[1] //
    out_size_factor``, ``grid_size[0] // out_size_factor``), ``max_slots`` (``max_objs *
    dense_reg``) and ``groups`` (the task count ``T``)."""

    tasks: tuple[int, ...]
    point_cloud_range: tuple[float, ...]
    voxel_size: tuple[float, ...]
    grid_size: tuple[int, ...]
    out_size_factor: int
    gaussian_overlap: float
    min_radius: int
    max_objs: int
    dense_reg: int
    norm_bbox: bool
    num_classes: int
    output_size: tuple[int, int]
    max_slots: int
    dtype: np.dtype = np.dtype(np.float32)

    @property
    def groups(self) -> int:
        return len(self.tasks)

    @property
    def gaussian(self) -> tuple[float, float]:
        """mmdetection3d's ``gaussian_2d`` is CornerNet's ``gaussian2D`` with ``delte=6``,
        ``k=1`` (the engine's default table kind)."""
        return (6.0, 1.0)

    def map_shape(self, batch_size: int) -> tuple[int, int, int, int]:
        return (batch_size, self.num_classes, *self.output_size)

    def differences(self, other: CenterPointSpec, fields=None) -> list[str]:
        """The names of the ``fields`` (default all) in which ``other`` differs."""
        return [name for name in fields or self.__dataclass_fields__
                if getattr(self, name) != getattr(other, name)]


def _check_tasks(tasks) -> tuple[int, ...]:
    """A non-empty sequence of positive integers, as a tuple."""
    if isinstance(tasks, (str, bytes)) or not hasattr(tasks, "__len__") or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty sequence of class counts per task, "
                         f"got {tasks!r}")
    return tuple(check_index(f"tasks[{t}]", count, minimum=1, maximum=MAX_GRID_COORD)
                 for t, count in enumerate(tasks))


def _float32_values(name: str, values, lengths: tuple[int, ...]) -> tuple[float, ...]:
    """A sequence of ``lengths`` real numbers, finite in float32 (as mmdetection3d's
    ``torch.tensor`` holds them)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") \
            or len(values) not in lengths:
        raise TypeError(f"{name} must be a sequence of {' or '.join(map(str, lengths))} real "
                        f"numbers, got {values!r}")
    checked = tuple(check_real(f"{name}[{i}]", value) for i, value in enumerate(values))
    for i, value in enumerate(checked):
        if abs(value) > FLOAT32_MAX:
            raise ValueError(f"{name}[{i}] = {value} overflows float32")
    return checked


def _make_spec(values: dict) -> CenterPointSpec:
    tasks = _check_tasks(values["tasks"])
    pc_range = _float32_values("point_cloud_range", values["point_cloud_range"], (6,))
    for axis, name in enumerate("xyz"):
        low, high = np.float32(pc_range[axis]), np.float32(pc_range[axis + 3])
        if not high > low:
            raise ValueError(f"point_cloud_range must be (x_min, y_min, z_min, x_max, y_max, "
                             f"z_max) with each max > its min (in float32), got {name} range "
                             f"[{pc_range[axis]}, {pc_range[axis + 3]}]")
    voxel_size = _float32_values("voxel_size", values["voxel_size"], (2, 3))
    for i, size in enumerate(voxel_size):
        if not np.float32(size) > 0:
            raise ValueError(f"voxel_size[{i}] must be > 0 (in float32), got {size}")
    factor = check_index("out_size_factor", values["out_size_factor"], minimum=1,
                         maximum=MAX_GRID_COORD)
    grid = values["grid_size"]
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__len__") or len(grid) not in (2, 3):
        raise TypeError(f"grid_size must be a sequence of 2 or 3 integers (x, y[, z] voxels), "
                        f"got {grid!r}")
    grid = tuple(check_index(f"grid_size[{i}]", size, minimum=1, maximum=MAX_GRID_COORD)
                 for i, size in enumerate(grid))
    for i in range(2):
        if grid[i] % factor:
            raise ValueError(f"grid_size[{i}] = {grid[i]} is not divisible by "
                             f"out_size_factor={factor}")
    max_objs = check_index("max_objs", values["max_objs"], minimum=1)
    dense_reg = check_index("dense_reg", values["dense_reg"], minimum=1)
    max_slots = max_objs * dense_reg
    if max_slots >= MAX_GRID_COORD:
        raise ValueError(f"max_objs * dense_reg must be < {MAX_GRID_COORD}, got {max_slots}")
    return CenterPointSpec(
        tasks=tasks, point_cloud_range=pc_range, voxel_size=voxel_size, grid_size=grid,
        out_size_factor=factor,
        gaussian_overlap=check_min_overlap("gaussian_overlap", values["gaussian_overlap"]),
        min_radius=check_index("min_radius", values["min_radius"], minimum=0,
                               maximum=MAX_GRID_COORD),
        max_objs=max_objs, dense_reg=dense_reg,
        norm_bbox=check_flag("norm_bbox", values["norm_bbox"]),
        num_classes=sum(tasks), output_size=(grid[1] // factor, grid[0] // factor),
        max_slots=max_slots)


# --- the input and the pass ----------------------------------------------------------------------


def _as_input(spec: CenterPointSpec, data, image_ids):
    """``(spec, float64 (N, 11) rows, batch_size or None, labels)``: one scene's ``(N, 10)``
    rows (``batch_size=None``) get batch index 0."""
    boxes, batch_size = data
    single = batch_size is None
    if not single:
        batch_size = check_index("batch_size", batch_size, minimum=1)
    columns = 10 if single else 11
    array = as_real_array("boxes", boxes, f"an (N, {columns}) array")
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, columns)
    if array.ndim != 2 or array.shape[1] != columns:
        names = ", ".join(BOX_COLUMNS[11 - columns:])
        raise ValueError(f"boxes must be 2-D with {columns} columns ({names}), got shape "
                         f"{array.shape}")
    rows = np.ascontiguousarray(array, np.float64)
    if single:
        rows = np.hstack([np.zeros((len(rows), 1)), rows])
    labels = Labels(check_image_ids(image_ids, 1 if single else batch_size, single), single)
    return spec, rows, batch_size, labels


NOT_FINITE, BATCH_NOT_WHOLE, BATCH_OUTSIDE, LABEL_NOT_WHOLE, LABEL_OUTSIDE = 1, 2, 3, 4, 5
FLOAT32_OVERFLOW, NEGATIVE_SIZE, BEYOND = 6, 7, 8
_PROBLEMS = {
    NOT_FINITE: "is not finite",
    BATCH_NOT_WHOLE: "has a batch index that is not a whole number",
    BATCH_OUTSIDE: "has a batch index outside [0, {batch_size})",
    LABEL_NOT_WHOLE: "has a label that is not a whole number",
    LABEL_OUTSIDE: "has a label outside [0, sum(tasks)) = [0, {num_classes})",
    FLOAT32_OVERFLOW: "has a value that overflows float32",
    NEGATIVE_SIZE: "has a negative size (dx, dy or dz)",
    BEYOND: f"has dx or dy beyond {MAX_GRID_COORD} heatmap cells",
}


@jit
def _row_problem(rows, i, batch_size, num_classes, voxel_x, voxel_y, factor):
    """The error code of row ``i``'s first problem, or 0."""
    for column in range(11):
        if not np.isfinite(rows[i, column]):
            return NOT_FINITE
    image, label = rows[i, 0], rows[i, 1]
    if image != np.floor(image):
        return BATCH_NOT_WHOLE
    if image < 0 or image >= batch_size:
        return BATCH_OUTSIDE
    if label != np.floor(label):
        return LABEL_NOT_WHOLE
    if label < 0 or label >= num_classes:
        return LABEL_OUTSIDE
    for column in range(2, 11):
        if np.isinf(np.float32(rows[i, column])):
            return FLOAT32_OVERFLOW
    for column in range(5, 8):
        if rows[i, column] < 0:
            return NEGATIVE_SIZE
    # the radius's float32 arithmetic stays finite, and radii and cells below 2**31
    if not (np.float32(rows[i, 5]) / voxel_x / factor < MAX_GRID_COORD
            and np.float32(rows[i, 6]) / voxel_y / factor < MAX_GRID_COORD):
        return BEYOND
    return 0


@jit
def _radius(height, width, one_minus, one_plus, minus_two, minus_one, four_a3):
    """mmdetection3d's ``gaussian_radius((height, width), min_overlap)`` on float32 values:
    CenterNet's three roots ``(b + sq) / 2``, every product left to right as Python forms it,
    the Python-float coefficients (``1 - min_overlap``, ``1 + min_overlap``,
    ``-2 * min_overlap``, ``min_overlap - 1``, ``4 * (4 * min_overlap)``) rounded to float32 as
    torch rounds a scalar meeting a float32 tensor."""
    two, four, sixteen = np.float32(2.0), np.float32(4.0), np.float32(16.0)
    b1 = height + width
    c1 = width * height * one_minus / one_plus
    r1 = (b1 + np.sqrt(b1 * b1 - four * c1)) / two
    b2 = two * (height + width)
    c2 = one_minus * width * height
    r2 = (b2 + np.sqrt(b2 * b2 - sixteen * c2)) / two
    b3 = minus_two * (height + width)
    c3 = minus_one * width * height
    r3 = (b3 + np.sqrt(b3 * b3 - four_a3 * c3)) / two
    return min(r1, r2, r3)


@jit
def _centerpoint_pass(rows, batch_size, offsets, pc_x, pc_y, voxel_x, voxel_y, factor,
                      coefficients, min_radius, norm_bbox, out_h, out_w, starts, points, info,
                      anno_box, ind, mask):
    """Check the rows, then for every scene and task the boxes of the task's classes, class by
    class (each in input order): slot ``k`` is the ``k``-th of that list, the first
    ``max_slots`` only (``anno_box.shape[2]``), as ``CenterHead.get_targets_single``:

    * ``length = dx / voxel_x / factor``, ``width = dy / voxel_y / factor`` (float32); only if
      ``width > 0 and length > 0``: ``radius = max(min_radius, int(R(width, length)))``
      (``_radius``);
    * the centre ``((x - pc_x) / voxel_x / factor, (y - pc_y) / voxel_y / factor)`` (float32),
      truncated toward zero to its cell; a cell off the map skips the box;
    * a stamp of ``radius`` at the cell into channel ``label``; ``ind = y * W + x``, ``mask =
      1``, ``anno_box = (centre - cell, z + dz * 0.5, dims (their logs with norm_bbox),
      sin(yaw), cos(yaw), vx, vy)``, where ``log``, ``sin`` and ``cos`` of a float32 value are
      ``float32(f(float64))``.

    Skipped boxes keep a zero slot."""
    num_classes = offsets[-1]
    for i in range(rows.shape[0]):
        code = _row_problem(rows, i, batch_size, num_classes, voxel_x, voxel_y, factor)
        if code:
            info[CODE] = code
            info[WHERE] = i
            return
    # a stable counting sort of the rows by (scene, label)
    first = np.zeros(batch_size * num_classes + 1, np.int64)
    for i in range(rows.shape[0]):
        first[int(rows[i, 0]) * num_classes + int(rows[i, 1]) + 1] += 1
    for key in range(batch_size * num_classes):
        first[key + 1] += first[key]
    fill = first[:-1].copy()
    order = np.empty(rows.shape[0], np.int64)
    for i in range(rows.shape[0]):
        key = int(rows[i, 0]) * num_classes + int(rows[i, 1])
        order[fill[key]] = i
        fill[key] += 1

    anno_box[:] = 0.0
    ind[:] = 0
    mask[:] = 0
    one_minus, one_plus, minus_two, minus_one, four_a3 = coefficients
    half = np.float32(0.5)
    max_slots = anno_box.shape[2]
    n = 0
    for b in range(batch_size):
        starts[b] = n
        for t in range(offsets.size - 1):
            start = first[b * num_classes + offsets[t]]
            count = min(first[b * num_classes + offsets[t + 1]] - start, max_slots)
            for k in range(count):
                i = order[start + k]
                dx, dy = np.float32(rows[i, 5]), np.float32(rows[i, 6])
                length = dx / voxel_x / factor
                width = dy / voxel_y / factor
                if not (width > 0 and length > 0):
                    continue
                radius = max(min_radius, int(_radius(width, length, one_minus, one_plus,
                                                     minus_two, minus_one, four_a3)))
                cx = (np.float32(rows[i, 2]) - pc_x) / voxel_x / factor
                cy = (np.float32(rows[i, 3]) - pc_y) / voxel_y / factor
                if not (cx > -1 and cx < out_w and cy > -1 and cy < out_h):
                    continue
                x, y = int(cx), int(cy)  # toward zero: a centre in (-1, 0) is in cell 0
                n = add_stamp(points, n, info, out_h, out_w, 0, int(rows[i, 1]), x, y, radius)
                ind[b, t, k] = y * out_w + x
                mask[b, t, k] = 1
                box = anno_box[b, t, k]
                box[0] = cx - np.float32(x)
                box[1] = cy - np.float32(y)
                dz = np.float32(rows[i, 7])
                box[2] = np.float32(rows[i, 4]) + dz * half
                if norm_bbox:
                    box[3] = np.float32(np.log(np.float64(dx)))
                    box[4] = np.float32(np.log(np.float64(dy)))
                    box[5] = np.float32(np.log(np.float64(dz)))
                else:
                    box[3] = dx
                    box[4] = dy
                    box[5] = dz
                yaw = np.float64(np.float32(rows[i, 8]))
                box[6] = np.float32(np.sin(yaw))
                box[7] = np.float32(np.cos(yaw))
                box[8] = np.float32(rows[i, 9])
                box[9] = np.float32(rows[i, 10])
    starts[batch_size] = n
    info[COUNT] = n


def _coefficients(min_overlap: float) -> np.ndarray:
    """The Python-float coefficients of mmdetection3d's ``gaussian_radius``, in float32 (see
    ``_radius``)."""
    a3 = 4 * min_overlap
    return np.array([1 - min_overlap, 1 + min_overlap, -2 * min_overlap, min_overlap - 1,
                     4 * a3], np.float32)


def _run_centerpoint_pass(spec: CenterPointSpec, rows, batch_size: int, slots,
                          labels: Labels) -> Stamps:
    starts, points, info = new_stamps(batch_size, len(rows))
    f32 = np.float32
    runtime.call(_centerpoint_pass, _centerpoint_pass, rows, batch_size,
                 np.cumsum((0,) + spec.tasks), f32(spec.point_cloud_range[0]),
                 f32(spec.point_cloud_range[1]), f32(spec.voxel_size[0]), f32(spec.voxel_size[1]),
                 f32(spec.out_size_factor), _coefficients(spec.gaussian_overlap),
                 spec.min_radius, spec.norm_bbox, *spec.output_size, starts, points, info, *slots)
    code = int(info[CODE])
    if code:
        where = int(info[WHERE])
        problem = _PROBLEMS[code].format(batch_size=batch_size, num_classes=spec.num_classes)
        if code in (BATCH_NOT_WHOLE, BATCH_OUTSIDE):  # no image to name
            labels = Labels(single=labels.single)
        name, values = labels.row(rows, where, "boxes")
        raise ValueError(f"{name} {problem}: {values}")
    count = int(info[COUNT])
    return Stamps(starts, points[:count], int(info[MAX_RADIUS]), int(info[CELLS]))


def _warmup(num_threads: int) -> None:
    """Compile (or load) the pass and the stamping kernels, and on one thread the cell
    expansion of fastheat.torch's scatter path."""
    boxes = np.array([[0, 0, 1.0, 1.0, -1.0, 2.0, 1.0, 1.5, 0.3, 0.0, 0.0]])
    options = dict(tasks=(1,), point_cloud_range=(0.0, 0.0, -2.0, 8.0, 8.0, 2.0),
                   voxel_size=(0.5, 0.5, 4.0), grid_size=(16, 16, 1), out_size_factor=2)
    encode(CENTERPOINT, (boxes, 1), None, options, None, num_threads, False)
    if num_threads == 1:
        sparse = encode(CENTERPOINT, (boxes, 1), None, options, None, 1, True)
        expand_cells(sparse.stamps, 1, sparse.spec.map_shape(1), sparse.spec.gaussian,
                     sparse.spec.dtype)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
CENTERPOINT = register(Family(
    name="centerpoint", result=CenterPointTargets, maps=1, run_pass=_run_centerpoint_pass,
    options=dict(tasks=REQUIRED, point_cloud_range=REQUIRED, voxel_size=REQUIRED,
                 grid_size=REQUIRED, out_size_factor=8, gaussian_overlap=0.1, min_radius=2,
                 max_objs=500, dense_reg=1, norm_bbox=True),
    slots=(((GROUPS, SLOTS, 10), np.float32), ((GROUPS, SLOTS), np.int64),
           ((GROUPS, SLOTS), np.uint8)),
    make_spec=_make_spec, as_input=_as_input, warmup=_warmup, spec_type=CenterPointSpec,
    rendering=("num_classes", "output_size"),
    inputs=(inspect.Parameter("boxes", _POSITIONAL),
            inspect.Parameter("batch_size", inspect.Parameter.KEYWORD_ONLY)),
))


@one_shot(CENTERPOINT)
def encode_centerpoint() -> CenterPointTargets:
    """Encode LiDAR boxes as CenterPoint's training targets, bit-identical to mmdetection3d
    1.4.0's ``CenterHead.get_targets`` (docs/references.md, mmdetection3d).

    Scene ``b``'s targets are ``get_targets_single`` on its boxes (in input order) with
    ``train_cfg`` holding these options and ``class_names`` grouped as ``tasks``, laid out as
    arrays: the tasks' heatmaps concatenated along channels (``targets.per_task(tasks)`` gives
    mmdetection3d's per-task lists). For every task, its boxes class by class (all boxes of its
    first class in input order, then its second class's, ...) take slots ``0, 1, ...``, the
    first ``M = max_objs * dense_reg`` of them; for each such box (float32 arithmetic as
    torch's, in mmdetection3d's order):

    1. ``length = dx / voxel_size[0] / out_size_factor``, ``width = dy / voxel_size[1] /
       out_size_factor``; only if ``width > 0 and length > 0``:
    2. ``radius = max(min_radius, int(gaussian_radius((width, length), gaussian_overlap)))``,
       mmdetection3d's (CenterNet's) formula, ``(b + sq) / 2`` for all three roots;
    3. the centre ``((x - point_cloud_range[0]) / voxel_size[0] / out_size_factor, (y -
       point_cloud_range[1]) / voxel_size[1] / out_size_factor)``, its cell the centre
       truncated toward zero (a centre in (-1, 0) is in cell 0); a cell off the map skips
       the box;
    4. CornerNet's Gaussian of ``radius`` (float64, sigma ``(2 radius + 1) / 6``, values below
       ``eps`` times its peak cut) max-merged at the cell into channel ``label`` of the heatmap
       (float32);
    5. ``ind = y * W + x``, ``mask = 1``, ``anno_box = (centre - cell, z + dz / 2, dx, dy, dz
       (their logs with norm_bbox), sin(yaw), cos(yaw), vx, vy)``.

    A skipped box keeps its slot, zero, with mask 0. Boxes beyond the ``M`` slots of their
    task are dropped silently, as mmdetection3d does.

    Parameters
    ----------
    boxes : array_like, shape (N, 11)
        Rows ``(batch_index, label, x, y, z, dx, dy, dz, yaw, vx, vy)``: LiDAR boxes as
        mmdetection3d stores them (``LiDARInstance3DBoxes.tensor``, z at the bottom of the box,
        velocity ``(vx, vy)``; pass zeros without velocity), rounded to float32 as its tensors
        hold them (any real dtype; a torch tensor is detached and moved to the CPU); ``label``
        in ``[0, sum(tasks))``, whole numbers. One scene (``batch_size=None``): ``(N, 10)``
        rows without the batch index.
    batch_size : int or None
        Scenes ``B``; None for one scene, whose fields lose the batch axis.
    tasks : sequence of int
        Classes per task head, in order (nuScenes: ``(1, 2, 2, 1, 2, 2)``): task ``t`` owns
        labels ``sum(tasks[:t])`` to ``sum(tasks[:t + 1]) - 1``, in order.
    point_cloud_range : sequence of 6 floats
        ``(x_min, y_min, z_min, x_max, y_max, z_max)``, each max above its min.
    voxel_size : sequence of 2 or 3 floats
        Positive; ``voxel_size[0]`` and ``[1]`` are used.
    grid_size : sequence of 2 or 3 ints
        Voxels along x and y (and z); ``grid_size[0]`` and ``[1]`` divisible by
        ``out_size_factor``. The heatmaps are ``H = grid_size[1] // out_size_factor`` by
        ``W = grid_size[0] // out_size_factor``.
    out_size_factor : int, default 8
    gaussian_overlap : float, default 0.1
        ``min_overlap`` of the radius, in (0, 1).
    min_radius : int, default 2
    max_objs, dense_reg : int, default 500, 1
        Slots per task ``M = max_objs * dense_reg``.
    norm_bbox : bool, default True
        Store the logs of ``dx, dy, dz`` (mmdetection3d's ``norm_bbox``), else the sizes.
    out : CenterPointTargets or tuple of 4 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.
    sparse, image_ids, num_threads
        As for ``encode_corners`` (``image_ids`` name the scenes in messages).

    Returns
    -------
    CenterPointTargets or SparseTargets
        ``heatmap``: float32 ``(B, sum(tasks), H, W)``; ``anno_box``: float32
        ``(B, T, M, 10)``; ``ind``: int64 ``(B, T, M)``; ``mask``: uint8 ``(B, T, M)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for ``boxes``, the lowest offending row and its
        first problem: NaN or inf, a value overflowing float32, a batch index or label that
        is not a whole number in range, a negative ``dx``, ``dy`` or ``dz``, ``dx`` or ``dy``
        beyond 2**31 heatmap cells); ``out`` is then left untouched.

    Notes
    -----
    ``log``, ``sin`` and ``cos`` of a float32 value are ``float32(f(float64))``: torch's
    float32 versions are not correctly rounded (they differ from it by one ulp in about 5%
    (sin, cos) and 9% (log) of values on the CPU, and differ between CPU and GPU), so no
    choice matches every torch build. Everything else (heatmap, ``ind``, ``mask``, the other
    ``anno_box`` columns) is mmdetection3d's bits: the radius is evaluated in float32 as its
    ``gaussian_radius`` does on 0-d float32 tensors, Python-float coefficients rounded to
    float32 as torch rounds a scalar. A zero ``dz`` gives ``log(0) = -inf`` with
    ``norm_bbox``, as in mmdetection3d.
    """


class CenterPointEncoder(Encoder):
    """``encode_centerpoint`` into a reused heatmap buffer: see ``CornerEncoder``.

    ``encoder(boxes, batch_size, copy=False, image_ids=None)`` returns ``CenterPointTargets``
    bit-identical to ``encode_centerpoint`` with the same options (``batch_size=None``: one
    scene); the heatmap is a read-only view valid until the next call (a fresh array with
    ``copy=True``), the slot arrays are fresh every call.
    """

    family = CENTERPOINT

    def __call__(self, boxes, batch_size, *, copy: bool = False, image_ids=None):
        return self._encode_own((boxes, batch_size), image_ids, copy)
