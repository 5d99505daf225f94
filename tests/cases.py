"""Test cases that several test modules share: map sizes, detection generators, and memory
that was never written."""

import math

import numpy as np
from hypothesis import strategies as st

from fastheat.workloads import coco_like_detections

SIZES = [  # (input_size, output_size) as (height, width)
    ((511, 511), (128, 128)),
    ((512, 384), (128, 96)),
    ((300, 500), (75, 125)),
    ((383, 767), (96, 192)),
    ((64, 48), (100, 70)),  # upsampling
]


def edge_case_boxes(rng, n, batch_size, num_classes, input_size):
    """``n`` tiny, zero-size, image-sized, border-hugging, off-image and huge boxes."""
    in_h, in_w = input_size
    kind = rng.integers(0, 6, n)
    x1 = rng.uniform(0, in_w, n)
    y1 = rng.uniform(0, in_h, n)
    w = np.choose(kind, [rng.uniform(0, 3, n), np.zeros(n), np.full(n, in_w),
                         rng.uniform(0, in_w, n), rng.uniform(0, 4 * in_w, n), rng.uniform(0, 2, n)])
    h = np.choose(kind, [rng.uniform(0, 3, n), np.zeros(n), np.full(n, in_h),
                         rng.uniform(0, in_h, n), rng.uniform(0, 4 * in_h, n), rng.uniform(0, 2, n)])
    x1 = np.choose(kind, [x1, x1, np.zeros(n), np.zeros(n), x1 - 2 * in_w, np.full(n, in_w - 1.0)])
    y1 = np.choose(kind, [y1, y1, np.zeros(n), in_h - h, y1 - 2 * in_h, np.full(n, in_h - 1.0)])
    return np.column_stack([rng.integers(0, batch_size, n), rng.integers(0, num_classes, n),
                            x1, y1, x1 + w, y1 + h])


def mixed_batch(rng, batch_size, num_classes, input_size, kind=None):
    """One batch, shuffled, of a ``kind`` (random if None): 0, no boxes at all; 1,
    ``edge_case_boxes`` (about 8 per image); 2 or 3, COCO-like boxes (0, 3 or 20 per image)."""
    kind = rng.integers(0, 4) if kind is None else kind
    if kind == 0:
        return np.zeros((0, 6))
    if kind == 1:
        detections = edge_case_boxes(rng, 8 * batch_size, batch_size, num_classes, input_size)
    else:
        detections = coco_like_detections(int(rng.integers(1 << 30)), batch_size=batch_size,
                                          num_classes=num_classes, input_size=input_size,
                                          boxes_per_image=rng.choice([0, 3, 20]))
    rng.shuffle(detections)
    return detections


@st.composite
def batches(draw):
    """``(detections, batch_size, num_classes, input_size, output_size)``: up to 40 boxes of any
    size and place (within -1.5x to 2.5x the image), any sizes (up- and downsampling)."""
    batch_size = draw(st.integers(1, 4))
    num_classes = draw(st.integers(1, 3))
    in_h, in_w = draw(st.integers(1, 700)), draw(st.integers(1, 700))
    out_h, out_w = draw(st.integers(1, 160)), draw(st.integers(1, 160))
    coord = st.floats(-1.5 * max(in_h, in_w), 2.5 * max(in_h, in_w), allow_nan=False, width=64)
    rows = draw(st.lists(st.tuples(st.integers(0, batch_size - 1), st.integers(0, num_classes - 1),
                                   coord, coord, coord, coord), max_size=40))
    detections = np.array([(b, c, min(a, x), min(d, y), max(a, x), max(d, y))
                           for b, c, a, d, x, y in rows], np.float64).reshape(-1, 6)
    return detections, batch_size, num_classes, (in_h, in_w), (out_h, out_w)


def uninitialised(shape, dtype=float, order="C"):
    """``np.empty`` as it may return memory a process freed: every byte 0xFF (float NaN,
    integer -1), so a fresh output that a call leaves partly unwritten shows."""
    dtype = np.dtype(dtype)
    count = math.prod(shape) if isinstance(shape, tuple) else int(shape)
    return np.full(count * dtype.itemsize, 255, np.uint8).view(dtype).reshape(shape, order=order)
