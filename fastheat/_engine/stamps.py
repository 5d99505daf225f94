"""``Stamps``: the one input of the stamping kernel, whatever the family.

A family's compiled pass turns its annotations into stamps: per point the map it goes to (tl
or br for CornerNet, the one heatmap for CenterNet), its channel (class or joint), its grid
cell and its shape (an isotropic radius), grouped by image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Columns of ``Stamps.points``.
MAP, CHANNEL, X, Y, RADIUS = range(5)
COLUMNS = 5


@dataclass(frozen=True)
class Stamps:
    """Points to stamp, grouped by image.

    Attributes
    ----------
    starts : int64 (B + 1,)
        Image ``b``'s points are ``points[starts[b]:starts[b + 1]]``.
    points : int64 (n, 5)
        ``(map, channel, x, y, radius)`` per point (``MAP``, ``CHANNEL``, ``X``, ``Y``,
        ``RADIUS``); any grid cell, on the map or not. Every value is below 2**31 in
        magnitude (validation bounds channels and scaled coordinates by 2**31 and box sizes
        by 2**32 cells, and no radius formula then reaches 2**31), so they fit in int32 when
        pickled.
    max_radius : int
        The largest radius, -1 without points.
    cells : int
        Cells the points cover on the map at most: the work of stamping or clearing them.
    """

    starts: NDArray[np.int64]
    points: NDArray[np.int64]
    max_radius: int
    cells: int

    @property
    def images(self) -> int:
        return self.starts.size - 1


EMPTY = Stamps(np.zeros(1, np.int64), np.zeros((0, COLUMNS), np.int64), -1, 0)
