"""What the families' compiled passes share: row checks, grouping by image, slot overflow and
stamp bookkeeping (compiled), and the Python side that turns a pass's error code into a named
``ValueError``.

A pass reports through ``info`` (int64, ``INFO_SIZE``): ``info[CODE]`` is 0 or an error code,
``info[WHERE]`` the lowest bad row (or the overflowing image), ``info[COUNT]`` that image's
box count; on success ``info[COUNT]`` is the number of stamps, ``info[MAX_RADIUS]`` and
``info[CELLS]`` describe them (``Stamps``), ``info[DROPPED]`` counts the boxes dropped for
want of slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .jit import jit
from .stamps import CHANNEL, COLUMNS, MAP, RADIUS, X, X_HI, X_LO, Y, Y_HI, Y_LO, Stamps
from .runtime import warn_once
from .validate import MAX_GRID_COORD

CODE, WHERE, COUNT, MAX_RADIUS, CELLS, DROPPED = range(6)
INFO_SIZE = 6

# Error codes, in the order a row's problems are reported.
NOT_FINITE, BATCH_NOT_WHOLE, BATCH_OUTSIDE, CATEGORY_NOT_WHOLE, CATEGORY_OUTSIDE = 1, 2, 3, 4, 5
X_ORDER, Y_ORDER, BEYOND, OVERFLOW = 6, 7, 8, 9
NO_LOG = 10  # a family's own check: a distance whose log the reference takes is not > 0

ERROR, TRUNCATE, WARN = 0, 1, 2  # on_overflow


@jit
def _row_problem(rows, i, batch_size, num_classes, width_ratio, height_ratio):
    """The error code of row ``i``'s first problem, or 0."""
    for column in range(6):
        if not np.isfinite(rows[i, column]):
            return NOT_FINITE
    image, category = rows[i, 0], rows[i, 1]
    if image != np.floor(image):
        return BATCH_NOT_WHOLE
    if image < 0 or image >= batch_size:
        return BATCH_OUTSIDE
    if category != np.floor(category):
        return CATEGORY_NOT_WHOLE
    if category < 0 or category >= num_classes:
        return CATEGORY_OUTSIDE
    x1, y1, x2, y2 = rows[i, 2], rows[i, 3], rows[i, 4], rows[i, 5]
    if x2 < x1:
        return X_ORDER
    if y2 < y1:
        return Y_ORDER
    # Scaled corners and box sizes within the grid bound; an overflow to inf or a NaN
    # (inf - inf) fails the ``<`` too.
    if not (abs(x1) * width_ratio < MAX_GRID_COORD and abs(x2) * width_ratio < MAX_GRID_COORD
            and abs(y1) * height_ratio < MAX_GRID_COORD and abs(y2) * height_ratio < MAX_GRID_COORD
            and (x2 - x1) * width_ratio < 2 * MAX_GRID_COORD
            and (y2 - y1) * height_ratio < 2 * MAX_GRID_COORD):
        return BEYOND
    return 0


row_problem = _row_problem  # for a family checking its rows with its own problems too


@jit
def check_rows(rows, batch_size, num_classes, width_ratio, height_ratio, info):
    """True if every ``(batch_index, category, x1, y1, x2, y2)`` row is valid; else False,
    with the lowest bad row's first problem in ``info``."""
    for i in range(rows.shape[0]):
        code = _row_problem(rows, i, batch_size, num_classes, width_ratio, height_ratio)
        if code:
            info[CODE] = code
            info[WHERE] = i
            return False
    return True


@jit
def group_rows(rows, batch_size, keep):
    """``(first, order)``: the rows of image ``b`` are ``order[first[b]:first[b + 1]]``, in
    input order (a counting sort on the batch index), leaving out rows ``i`` with
    ``keep[i] == False`` (``keep`` of size 0 keeps every row)."""
    first = np.zeros(batch_size + 1, np.int64)
    for i in range(rows.shape[0]):
        if keep.size == 0 or keep[i]:
            first[int(rows[i, 0]) + 1] += 1
    for b in range(batch_size):
        first[b + 1] += first[b]
    fill = first[:-1].copy()
    order = np.empty(first[batch_size], np.int64)
    for i in range(rows.shape[0]):
        if keep.size == 0 or keep[i]:
            b = int(rows[i, 0])
            order[fill[b]] = i
            fill[b] += 1
    return first, order


@jit
def slots_fit(first, max_slots, on_overflow, info):
    """False (the image and its count in ``info``) if ``on_overflow`` is ERROR and an image
    has more rows than ``max_slots`` (0: no slots, no limit); else True, with the rows beyond
    the slots (dropped: each image keeps its first ``max_slots``) counted in ``info``."""
    if max_slots > 0:
        for b in range(first.size - 1):
            count = first[b + 1] - first[b]
            if count > max_slots:
                if on_overflow == ERROR:
                    info[CODE] = OVERFLOW
                    info[WHERE] = b
                    info[COUNT] = count
                    return False
                info[DROPPED] += count - max_slots
    return True


@jit
def _write_point(points, n, info, map_index, channel, x, y, radius):
    points[n, MAP] = map_index
    points[n, CHANNEL] = channel
    points[n, X] = x
    points[n, Y] = y
    points[n, RADIUS] = radius
    info[MAX_RADIUS] = max(info[MAX_RADIUS], radius)


@jit
def add_stamp(points, n, info, height, width, map_index, channel, x, y, radius):
    """Write stamp ``n`` and account for it in ``info``; returns ``n + 1``."""
    _write_point(points, n, info, map_index, channel, x, y, radius)
    side = 2 * radius + 1
    info[CELLS] += min(side, height) * min(side, width)
    return n + 1


@jit
def add_clipped_stamp(points, clips, n, info, height, width, map_index, channel, x, y, radius,
                      x_lo, x_hi, y_lo, y_hi):
    """``add_stamp`` for a point whose square is restricted to the cells ``[x_lo, x_hi) x
    [y_lo, y_hi)`` (``Stamps.clips``); its cells on the map are counted exactly."""
    clips[n, X_LO] = x_lo
    clips[n, X_HI] = x_hi
    clips[n, Y_LO] = y_lo
    clips[n, Y_HI] = y_hi
    _write_point(points, n, info, map_index, channel, x, y, radius)
    columns = min(x + radius + 1, x_hi, width) - max(x - radius, x_lo, 0)
    rows = min(y + radius + 1, y_hi, height) - max(y - radius, y_lo, 0)
    info[CELLS] += max(columns, 0) * max(rows, 0)
    return n + 1


@jit
def add_label_stamp(points, n, info, map_index, channel, row, centre, width):
    """Write stamp ``n``, a 1-D label (a label kind, ``tables``): row ``row`` of ``channel`` of
    map ``map_index``, ``width`` cells long, centred on cell ``centre``; its radius is the
    largest offset the row reads. Returns ``n + 1``."""
    _write_point(points, n, info, map_index, channel, centre, row,
                 max(abs(centre), abs(width - 1 - centre)))
    info[CELLS] += width
    return n + 1


#: Drawn keypoints (``visible > 0``) of the families that take them in input pixels
#: (DeepLabCut, OpenPose) lie within +-MAX_PIXEL.
MAX_PIXEL = 2.0**40
# What ``drawn_keypoint_problem`` reports, and the messages its codes stand for.
DRAWN_VISIBLE_NOT_FINITE, DRAWN_NOT_FINITE, DRAWN_BEYOND = 1, 2, 3
DRAWN_PROBLEMS = {
    DRAWN_VISIBLE_NOT_FINITE: "visible{where} = {visible} is not finite",
    DRAWN_NOT_FINITE: "keypoints{where} = {keypoint} of a visible keypoint is not finite",
    DRAWN_BEYOND: "keypoints{where} = {keypoint} is beyond +-{bound} input pixels",
}


@jit
def drawn_keypoint_problem(keypoints, visible, b, n, k):
    """The error code of keypoint ``(b, n, k)``'s first problem, or 0 (a keypoint not drawn,
    ``visible <= 0``, may be anything but its visibility): ``DRAWN_PROBLEMS``."""
    v = visible[b, n, k]
    if not np.isfinite(v):
        return DRAWN_VISIBLE_NOT_FINITE
    if not v > 0:
        return 0
    x, y = keypoints[b, n, k, 0], keypoints[b, n, k, 1]
    if not (np.isfinite(x) and np.isfinite(y)):
        return DRAWN_NOT_FINITE
    if not (abs(x) <= MAX_PIXEL and abs(y) <= MAX_PIXEL):
        return DRAWN_BEYOND
    return 0


def new_stamps(batch_size: int, capacity: int):
    """``(starts, points, info)`` for a pass of up to ``capacity`` stamps."""
    info = np.zeros(INFO_SIZE, np.int64)
    info[MAX_RADIUS] = -1
    return np.empty(batch_size + 1, np.int64), np.empty((capacity, COLUMNS), np.int64), info


_ROW_PROBLEMS = {
    NOT_FINITE: "is not finite",
    BATCH_NOT_WHOLE: "has a batch index that is not a whole number",
    BATCH_OUTSIDE: "has a batch index outside [0, {batch_size})",
    CATEGORY_NOT_WHOLE: "has a category that is not a whole number",
    CATEGORY_OUTSIDE: "has a category outside [0, {num_classes})",
    X_ORDER: "has x2 < x1",
    Y_ORDER: "has y2 < y1",
    BEYOND: f"has coordinates beyond +-{MAX_GRID_COORD} output cells",
    NO_LOG: "has a scaled width or height whose half is not > 0 in float32 (its centripetal "
            "shift would be the log of it)",
}


@dataclass(frozen=True)
class Labels:
    """How messages name what the caller passed: images by their ``image_ids`` entries (when
    given), rows as the caller wrote them (without the batch index of the single-image form)."""

    image_ids: list | None = None
    single: bool = False

    def image(self, b: int) -> str:
        return f"image {b}" if self.image_ids is None else f"image {self.image_ids[b]!r} (batch index {b})"

    def row(self, rows, i: int, name: str = "detections") -> tuple[str, list]:
        """How messages name row ``i`` of ``rows`` (the argument ``name``), and its values."""
        values = rows[i, 1:] if self.single else rows[i]
        image = "" if self.image_ids is None else f" ({self.image(int(rows[i, 0]))})"
        return f"{name} row {i}{image}", values.tolist()


def finish(rows, starts, points, info, *, batch_size: int, num_classes: int,
           slots_name: str = "", max_slots: int = 0, on_overflow: int = ERROR,
           labels: Labels = Labels()) -> Stamps:
    """The pass's ``Stamps``, or the named ``ValueError`` its error code stands for; with
    ``on_overflow`` WARN, a ``RuntimeWarning`` (once per process) counting dropped boxes."""
    code, where = int(info[CODE]), int(info[WHERE])
    if code == OVERFLOW:
        raise ValueError(f"{labels.image(where)} has {int(info[COUNT])} boxes, more than "
                         f"{slots_name}={max_slots} (on_overflow='warn' or 'truncate' keeps its "
                         f"first {max_slots})")
    if code:
        problem = _ROW_PROBLEMS[code].format(batch_size=batch_size, num_classes=num_classes)
        if code in (BATCH_NOT_WHOLE, BATCH_OUTSIDE):  # no image to name
            labels = Labels(single=labels.single)
        name, values = labels.row(rows, where)
        raise ValueError(f"{name} {problem}: {values}")
    if info[DROPPED] and on_overflow == WARN:
        warn_once(f"overflow {slots_name}", f"fastheat: {int(info[DROPPED])} boxes did not fit "
                  f"in {slots_name}={max_slots} and were dropped (each image keeps its first "
                  f"{max_slots}, as CenterNet does; on_overflow='error' raises, 'truncate' drops "
                  "silently). Said once per process.")
    return Stamps(starts, points[:info[COUNT]], int(info[MAX_RADIUS]), int(info[CELLS]))
