"""The radius of a box's Gaussian: the seed's formula and CenterNet's, in float64.

Float arithmetic follows the reference (CornerNet's ``gaussian_radius``) operation by
operation, so that radii are bit-identical to it.
"""

from __future__ import annotations

import math

from .jit import jit

CORNERNET = 0  # radius formula of the seed (CornerNet, CornerNet-Lite, mmdetection)
CENTERNET = 1  # radius formula shipped with CenterNet ("Objects as Points")


@jit
def _square(x, two):
    # The seed squares with Python's ``**``: exact integer arithmetic when the value is an int,
    # C ``pow()`` when it is a float. ``two`` is the run-time value 2.0: a constant exponent
    # would let LLVM rewrite pow(x, 2.0) as x * x, which rounds differently from glibc's pow.
    if x == math.floor(x):
        return x * x
    return x**two


@jit
def gaussian_radius_scalar(height, width, min_overlap, formula, two):
    """The seed's ``gaussian_radius(det_size=(height, width), min_overlap)``, in float64."""
    a1 = 1.0
    b1 = height + width
    c1 = width * height * (1.0 - min_overlap) / (1.0 + min_overlap)
    sq1 = math.sqrt(_square(b1, two) - 4.0 * a1 * c1)

    a2 = 4.0
    b2 = 2.0 * (height + width)
    c2 = (1.0 - min_overlap) * width * height
    sq2 = math.sqrt(_square(b2, two) - 4.0 * a2 * c2)

    a3 = 4.0 * min_overlap
    b3 = -2.0 * min_overlap * (height + width)
    c3 = (min_overlap - 1.0) * width * height
    sq3 = math.sqrt(b3**two - 4.0 * a3 * c3)  # b3 is a Python float in the seed: pow()

    if formula == CORNERNET:
        r1 = (b1 - sq1) / (2.0 * a1)
        r2 = (b2 - sq2) / (2.0 * a2)
        r3 = (b3 + sq3) / (2.0 * a3)
    else:
        r1 = (b1 + sq1) / 2.0
        r2 = (b2 + sq2) / 2.0
        r3 = (b3 + sq3) / 2.0
    return min(r1, r2, r3)


@jit
def gaussian_radius_array(height, width, min_overlap, formula, two, out):
    """``out[i] = gaussian_radius_scalar(height[i], width[i], ...)`` over 1-D arrays."""
    for i in range(out.size):
        out[i] = gaussian_radius_scalar(height[i], width[i], min_overlap, formula, two)
