"""``Stamps``: the one input of the stamping kernel, whatever the family.

A family's compiled pass turns its annotations into stamps: per point the map it goes to (tl
or br for CornerNet, the one heatmap for CenterNet), its channel (class or joint), its grid
cell and its shape (an isotropic radius), grouped by image.

Optional per-point arrays serve stamps that are not a centred square: ``clips`` restricts
each point's square to a rectangle of cells, ``centres`` holds sub-pixel centres for Gaussians
whose values are computed per point (``tables``, "per-point kinds"), and ``lines`` the line
and value of limb bands (``tables.LimbBand``: OpenPose's part affinity fields).

The points of a label kind (``tables``, "label kinds": SimCC's 1-D labels) read the columns
differently: ``Y`` is the row written (``0 <= Y < R`` of maps ``(B, C, R, widths[MAP])``), ``X``
the centre along it (any integer, ``|X| < 2**30``), ``RADIUS`` the largest offset the row
reads, exactly ``max(|X|, |widths[MAP] - 1 - X|)``; ``0 <= MAP < len(widths)``, ``0 <= CHANNEL
< C``; no two points of one image share ``(MAP, CHANNEL, Y)``; ``cells`` is the sum of their
rows' widths; no clips, no centres.

Two more serve dense fields: ``cell_values`` holds per point the values it writes at its own
cell into the family's cell fields (``cells``), or over its region of cells (``regions``)
into its region fields. An elliptical Gaussian (``kinds.EllipticalGaussian``) takes its x and
y radii from the point's clip rectangle. ``sparse_check.OPTIONAL_ARRAYS`` lists every optional
array with its dtype and bounds: a new one is added there too (sparse targets are checked and
pickled from that table).
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
    cell_values : float32 (n, V), optional
        Per point, the values it writes at its cell ``(x, y)`` into the family's cell fields
        (``cells``: field ``f`` takes the columns ``[column_f, column_f + channels_f)`` of the
        points of its map). Any float32 (finite for the families of today; a column a
        point's fields do not read may hold anything). Present exactly when the family
        declares cell fields; ``V`` is the same for every point of a family and spec.
    regions : int64 (n, 4), optional
        Per point, the rectangle ``[x_lo, x_hi) x [y_lo, y_hi)`` (the layout of ``clips``) of
        cells its region fields may write (``cells.RegionField``); any cells, on the map or
        not, below 2**31 in magnitude; for a region Gaussian (``EllipticalGaussian``) the
        ellipse's box around the point's cell (``x_hi - x - 1 == x - x_lo``, likewise y).
        Present exactly when the family declares region fields.
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
    cell_values: NDArray[np.float32] | None = None
    regions: NDArray[np.int64] | None = None
    lines: NDArray[np.float64] | None = None

    @property
    def images(self) -> int:
        return self.starts.size - 1

    @property
    def clip_array(self) -> NDArray[np.int64]:
        """``clips``, or ``NO_CLIPS``: what the kernels take."""
        return NO_CLIPS if self.clips is None else self.clips


EMPTY = Stamps(np.zeros(1, np.int64), np.zeros((0, COLUMNS), np.int64), -1, 0)
