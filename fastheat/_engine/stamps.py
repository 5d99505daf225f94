"""``Stamps``: the one input of the stamping kernel, whatever the family.

A family's compiled pass turns its annotations into stamps: per point the map it goes to (tl
or br for CornerNet, the one heatmap for CenterNet), its channel (class or joint), its grid
cell and its shape (an isotropic radius), grouped by image.

Optional per-point arrays serve stamps that are not a centred square: ``clips`` restricts
each point's square to a rectangle of cells, ``centres`` holds sub-pixel centres for Gaussians
whose values are computed per point (``tables``, "per-point kinds"), and ``lines`` the line
and value of limb bands (``tables.LimbBand``: OpenPose's part affinity fields).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Columns of ``Stamps.points``.
MAP, CHANNEL, X, Y, RADIUS = range(5)
COLUMNS = 5
#: Columns of ``Stamps.clips``: the half-open rectangle ``[X_LO, X_HI) x [Y_LO, Y_HI)``.
X_LO, X_HI, Y_LO, Y_HI = range(4)
#: Columns of ``Stamps.lines``: a point ``(X0, Y0)`` of the line (map cells), its unit
#: direction ``(UX, UY)``, and the ``VALUE`` written on the band.
X0, Y0, UX, UY, VALUE = range(5)
#: What the kernels get for "no clips" (every point covers its whole square).
NO_CLIPS = np.zeros((0, 4), np.int64)


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
    clips : int64 (n, 4), optional
        Per point, the rectangle ``[x_lo, x_hi) x [y_lo, y_hi)`` of cells (``X_LO`` ...) its
        square is restricted to; None: the whole square. A point covers the cells of the map
        within its square and its rectangle. Below 2**31 in magnitude too (int32 pickles).
    centres : float64 (n, 2), optional
        Per point, the sub-pixel centre ``(x, y)`` of its Gaussian, for Gaussians whose values
        are computed per point (from an origin cell the Gaussian's kind defines).
    lines : float64 (n, 5), optional
        Per point of a limb band (``tables.LimbBand``), ``(x0, y0, ux, uy, value)``
        (``X0`` ...): the band's line passes through ``(x0, y0)`` (map cells) with direction
        ``(ux, uy)``, and ``value`` is written on every cell of the point's clip rectangle
        within the band's half-width of the line. All finite; ``ux**2 + uy**2`` is 1 up to
        rounding (the family normalised a vector of norm at least 1e-7), ``|value| <= 1``.
        Rows of points of other kinds (on another map) are unused.
    """

    starts: NDArray[np.int64]
    points: NDArray[np.int64]
    max_radius: int
    cells: int
    clips: NDArray[np.int64] | None = None
    centres: NDArray[np.float64] | None = None
    lines: NDArray[np.float64] | None = None

    @property
    def images(self) -> int:
        return self.starts.size - 1

    @property
    def clip_array(self) -> NDArray[np.int64]:
        """``clips``, or ``NO_CLIPS``: what the kernels take."""
        return NO_CLIPS if self.clips is None else self.clips


EMPTY = Stamps(np.zeros(1, np.int64), np.zeros((0, COLUMNS), np.int64), -1, 0)
