"""The README's "Porting from CenterNet / CornerNet" recipes give the references' targets on
randomly cropped, flipped and scaled images.

CenterNet's ctdet sampler is written out below from its source (per image: flip, affine
transform of each box into the output map, float32 clipping, radius, centre, Gaussian, slots);
the affine transform is CenterNet's ``get_affine_transform`` without rotation, solved with
NumPy in place of OpenCV (both sides of the comparison use the same transform).
"""

import math

import numpy as np
import pytest

import fastheat
import naive


def affine(center, scale, output_size):
    """CenterNet's ``get_affine_transform(center, scale, 0, output_size)``: the 2 x 3 matrix
    mapping the 3 float32 source points onto the 3 destination points (float64)."""
    dst_w, dst_h = output_size
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center
    src[1] = center + np.array([0, scale * -0.5], np.float32)
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5], np.float32) + np.array([0, dst_w * -0.5], np.float32)
    for points in (src, dst):  # the third point: the second rotated by 90 degrees about the first
        direction = points[0] - points[1]
        points[2] = points[1] + np.array([-direction[1], direction[0]], np.float32)
    system = np.hstack([src.astype(np.float64), np.ones((3, 1))])
    return np.linalg.solve(system, dst.astype(np.float64)).T


def affine_point(point, matrix):
    """CenterNet's ``affine_transform``: ``matrix @ (x, y, 1)``, the point in float32."""
    return np.dot(matrix, np.array([point[0], point[1], 1.0], np.float32))[:2]


def centernet_image(boxes, categories, width, flipped, matrix, output_size, num_classes,
                    max_objs, mse_loss=False, hm_gauss=None, dense_wh=False, cat_spec_wh=False):
    """CenterNet's per-image ``ctdet`` loop, with its options ``mse_loss`` (and its
    ``hm_gauss``), ``dense_wh`` and ``cat_spec_wh``; returns the fields of
    ``CenterNetTargets`` those options fill, in order (CenterNet's ``ret`` drops ``wh`` with
    ``dense_wh`` or ``cat_spec_wh``; fastheat keeps it)."""
    out_h, out_w = output_size
    hm = np.zeros((num_classes, out_h, out_w), np.float32)
    wh = np.zeros((max_objs, 2), np.float32)
    dense = np.zeros((2, out_h, out_w), np.float32)
    reg = np.zeros((max_objs, 2), np.float32)
    ind = np.zeros(max_objs, np.int64)
    reg_mask = np.zeros(max_objs, np.uint8)
    cat_wh = np.zeros((max_objs, num_classes * 2), np.float32)
    cat_mask = np.zeros((max_objs, num_classes * 2), np.uint8)
    for k in range(min(len(boxes), max_objs)):
        bbox = boxes[k].astype(np.float32)  # (x1, y1, x2, y2), as _coco_box_to_bbox makes it
        cls_id = categories[k]
        if flipped:
            bbox[[0, 2]] = width - bbox[[2, 0]] - 1
        bbox[:2] = affine_point(bbox[:2], matrix)
        bbox[2:] = affine_point(bbox[2:], matrix)
        bbox[[0, 2]] = np.clip(bbox[[0, 2]], 0, out_w - 1)
        bbox[[1, 3]] = np.clip(bbox[[1, 3]], 0, out_h - 1)
        h, w = bbox[3] - bbox[1], bbox[2] - bbox[0]
        if h > 0 and w > 0:
            radius = max(0, int(naive.centernet_radius((math.ceil(h), math.ceil(w)), 0.7)))
            radius = hm_gauss if mse_loss else radius
            ct = np.array([(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], np.float32)
            ct_int = ct.astype(np.int32)
            if mse_loss:
                naive.draw_msra_gaussian(hm[cls_id], ct_int, radius)
            else:
                naive.draw_gaussian(hm[cls_id], ct_int.tolist(), radius)
            wh[k] = 1.0 * w, 1.0 * h
            ind[k] = ct_int[1] * out_w + ct_int[0]
            reg[k] = ct - ct_int
            reg_mask[k] = 1
            cat_wh[k, cls_id * 2: cls_id * 2 + 2] = wh[k]
            cat_mask[k, cls_id * 2: cls_id * 2 + 2] = 1
            if dense_wh:
                naive.draw_dense_reg(dense, hm.max(axis=0), ct_int, wh[k], radius)
    fields = [hm, wh, reg, ind, reg_mask]
    if dense_wh:
        hm_a = hm.max(axis=0, keepdims=True)
        fields += [dense, np.concatenate([hm_a, hm_a], axis=0)]
    if cat_spec_wh:
        fields += [cat_wh, cat_mask]
    return fields


def fastheat_image(boxes, categories, width, flipped, matrix, output_size, num_classes, max_objs,
                   **options):
    """The README's recipe: flip and transform the boxes as CenterNet does, then hand fastheat
    output-map coordinates (``input_size == output_size``: a ratio of exactly 1)."""
    boxes = boxes.astype(np.float32)
    if flipped:
        boxes[:, [0, 2]] = width - boxes[:, [2, 0]] - 1
    corners = [np.concatenate([affine_point(box[:2], matrix), affine_point(box[2:], matrix)])
               for box in boxes]
    rows = np.column_stack([categories, np.array(corners).reshape(-1, 4)])
    return fastheat.encode_centernet(rows, batch_size=None, num_classes=num_classes,
                                     input_size=output_size, output_size=output_size,
                                     max_objs=max_objs, on_overflow="truncate", **options)


#: CenterNet's options and fastheat's for them.
CENTERNET_OPTIONS = [
    ({}, {}),
    ({"mse_loss": True, "hm_gauss": 4}, {"gaussian": "msra", "gaussian_rad": 4}),
    ({"dense_wh": True}, {"dense_wh": True}),
    ({"cat_spec_wh": True}, {"cat_spec_wh": True}),
    ({"mse_loss": True, "hm_gauss": 2, "dense_wh": True, "cat_spec_wh": True},
     {"gaussian": "msra", "gaussian_rad": 2, "dense_wh": True, "cat_spec_wh": True}),
]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("centernet_options, options", CENTERNET_OPTIONS)
def test_centernet_recipe_on_random_crops_flips_and_scales(seed, centernet_options, options):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(200, 640, 2)
    n = int(rng.integers(0, 40))
    x1, y1 = rng.uniform(-50, width, n), rng.uniform(-50, height, n)
    boxes = np.column_stack([x1, y1, x1 + rng.uniform(0, 300, n), y1 + rng.uniform(0, 300, n)])
    categories = rng.integers(0, 6, n)
    center = np.array([rng.uniform(0, width), rng.uniform(0, height)], np.float32)  # random crop
    scale = np.float32(max(height, width) * rng.choice(np.arange(0.6, 1.4, 0.1)))  # and scale
    output_size = (128, 128) if seed % 2 else (96, 160)  # (height, width)
    matrix = affine(center, scale, output_size[::-1])
    flipped = bool(seed % 3 == 0)
    want = centernet_image(boxes, categories, width, flipped, matrix, output_size, 6, 32,
                           **centernet_options)
    got = fastheat_image(boxes, categories, width, flipped, matrix, output_size, 6, 32, **options)
    assert len(got) == len(want)
    for name, g, w in zip(got._fields, got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        np.testing.assert_array_equal(g, w, err_msg=name)
    assert got.reg_mask.sum() > 0 or n == 0 or not want[4].any()


@pytest.mark.parametrize("seed", range(4))
def test_cornernet_recipe_on_random_crops_and_flips(seed):
    """CornerNet: resize, flip in input pixels as it does, then ``clip=True``."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    x1, y1 = rng.uniform(-100, 600, n), rng.uniform(-100, 600, n)
    rows = np.column_stack([rng.integers(0, 4, n), rng.integers(0, 5, n), x1, y1,
                            x1 + rng.uniform(0, 200, n), y1 + rng.uniform(0, 200, n)])
    rows[:, 2:] = (rows[:, 2:] * np.float32(rng.uniform(0.6, 1.4))).astype(np.float32)  # resize
    if seed % 2:  # flip: x -> width - x - 1, corners swapped
        rows[:, [2, 4]] = 511 - rows[:, [4, 2]] - 1
    sizes = dict(batch_size=4, num_classes=5, input_size=(511, 511), output_size=(128, 128))
    got = fastheat.encode_cornernet(rows, **sizes, clip=True, on_overflow="truncate")
    want = naive.encode_cornernet(rows, 4, 5, (511, 511), (128, 128), clip=True)
    for name, g, w in zip(got._fields, got, want):
        np.testing.assert_array_equal(g, w, err_msg=name)
