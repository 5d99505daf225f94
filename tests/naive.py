"""Slow, obvious NumPy/Python transcriptions of fastheat's public functions: the oracle.

Every function here has the name of its public counterpart in ``fastheat`` (``gaussian_radius``,
``gaussian2d``, ``draw_gaussian``, ``encode_corners``, ``encode_cornernet``,
``encode_centernet``) and is what the tests compare it with, bit for bit. Their signatures are
the transcribed code's own (positional sizes, the reference's argument order), not the public
ones. The encoders (``CornerEncoder``, ``CornerNetEncoder``, ``CenterNetEncoder``) have no
transcription: they must equal the one-shot functions.

**CornerNet** (``gaussian_radius``, ``gaussian2D``, ``draw_gaussian``, ``encode_corners``): the
CornerNet reference (docs/references.md), kept as close to its text as possible. Deviations
from that text: ``draw_gaussian`` is called as ``draw_gaussian(heatmap, [x, y], radius)`` (the
reference's intended call); box values are float64 (as the reference computed them under
NumPy 1.x); a Gaussian whose visible window is empty is skipped (the reference would raise a
broadcast error or wrap around there).

**Full targets** (``encode_cornernet``, ``encode_centernet``): ``encode_cornernet`` is the
reference's per-detection loop (``encode_corners``) plus CornerNet's offset/tag bookkeeping;
``encode_centernet`` is CenterNet's ctdet loop with plain scaling in place of its affine warp,
and ``centernet_radius`` the radius formula CenterNet shipped. Float32 arithmetic is spelled
out with NumPy float32 scalars, so it means the same under NumPy 1.x and 2.x. Images with more
than ``max_slots`` boxes keep their first ``max_slots`` (the front end's
``on_overflow="truncate"``).

**Keypoint heatmaps** (``encode_keypoints``): mmpose's three generators of top-down heatmap
targets (docs/references.md, mmpose), one image at a time (``msra_heatmaps``,
``udp_heatmaps``, ``dark_heatmaps``, named after the codecs), and the codecs' division of the
keypoints by their scale factor around them. Written as NumPy operations on the same dtypes in
the same order as mmpose's (they decide the bits: float32 grids, Python-float ``sigma``, the
UDP centre a NumPy float64 scalar), so the results follow NumPy's promotion rules as mmpose's
do. No deviation.
"""

import math

import numpy as np

# --- CornerNet: the reference's Gaussian helpers and corner heatmaps ---------------------------


def gaussian_radius(det_size, min_overlap):
    """The reference's ``gaussian_radius``: ``fastheat.gaussian_radius(h, w, min_overlap)``
    with ``radius_formula="cornernet"``; ``det_size`` is ``(height, width)``."""
    height, width = det_size
    a1 = 1
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    sq1 = np.sqrt(b1**2 - 4 * a1 * c1)
    r1 = (b1 - sq1) / (2 * a1)

    a2 = 4
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    sq2 = np.sqrt(b2**2 - 4 * a2 * c2)
    r2 = (b2 - sq2) / (2 * a2)

    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    sq3 = np.sqrt(b3**2 - 4 * a3 * c3)
    r3 = (b3 + sq3) / (2 * a3)
    return min(r1, r2, r3)


def centernet_radius(det_size, min_overlap):
    """CenterNet's shipped ``gaussian_radius``: ``fastheat.gaussian_radius(h, w, min_overlap)``
    with ``radius_formula="centernet"``: the reference's coefficients, ``r = (b + sq) / 2`` for
    all three roots."""
    height, width = det_size
    b1 = height + width
    c1 = width * height * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + np.sqrt(b1**2 - 4 * c1)) / 2
    b2 = 2 * (height + width)
    c2 = (1 - min_overlap) * width * height
    r2 = (b2 + np.sqrt(b2**2 - 4 * 4 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (height + width)
    c3 = (min_overlap - 1) * width * height
    r3 = (b3 + np.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


#: ``radius_formula`` -> its transcription.
RADIUS = {"cornernet": gaussian_radius, "centernet": centernet_radius}


def gaussian2D(shape, sigma=1):
    """The reference's ``gaussian2D``: ``fastheat.gaussian2d(shape, sigma)`` (float64)."""
    m, n = [(ss - 1.0) / 2.0 for ss in shape]
    y, x = np.ogrid[-m : m + 1, -n : n + 1]

    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    return h


gaussian2d = gaussian2D  # the public name; the reference's text calls it gaussian2D


def draw_gaussian(heatmap, center, radius, k=1, delte=6):
    """The reference's ``draw_gaussian``: ``fastheat.draw_gaussian(heatmap, center, radius, k,
    delte)`` in place, for centres whose Gaussian is at least partly visible (see above)."""
    diameter = 2 * radius + 1
    gaussian = gaussian2D((diameter, diameter), sigma=diameter / delte)

    x, y = center
    height, width = heatmap.shape[0:2]
    if x + radius < 0 or x - radius >= width or y + radius < 0 or y - radius >= height:
        return  # nothing visible (the reference's slices go wrong here)

    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)

    masked_heatmap = heatmap[y - top : y + bottom, x - left : x + right]
    masked_gaussian = gaussian[radius - top : radius + bottom, radius - left : radius + right]
    np.maximum(masked_heatmap, masked_gaussian * k, out=masked_heatmap)


def clip_detections(detections, input_size):
    """CornerNet's ``_clip_detections``, on ``(batch_index, category, x1, y1, x2, y2)`` rows: x
    clipped into ``[0, in_w - 1]``, y into ``[0, in_h - 1]``; boxes left with no width or no
    height are dropped."""
    rows = np.asarray(detections, dtype=np.float64).reshape(-1, 6).copy()
    height, width = input_size
    rows[:, 2:6:2] = np.clip(rows[:, 2:6:2], 0, width - 1)
    rows[:, 3:6:2] = np.clip(rows[:, 3:6:2], 0, height - 1)
    keep = ((rows[:, 4] - rows[:, 2]) > 0) & ((rows[:, 5] - rows[:, 3]) > 0)
    return rows[keep]


def encode_corners(detections, batch_size, num_classes, input_size, output_size,
                   gaussian_iou=0.3, gaussian_rad=-1, dtype=np.float32, delte=6, k=1, clip=False):
    """The reference's per-detection loop over ``(batch_index, category, x1, y1, x2, y2)`` rows:
    ``fastheat.encode_corners`` with default ``radius_formula`` and ``min_radius``.

    Returns ``(tl_heatmaps, br_heatmaps)``.
    """
    if clip:
        detections = clip_detections(detections, input_size)
    out_h, out_w = output_size
    width_ratio = output_size[1] / input_size[1]
    height_ratio = output_size[0] / input_size[0]
    tl_heatmaps = np.zeros((batch_size, num_classes, out_h, out_w), dtype=dtype)
    br_heatmaps = np.zeros((batch_size, num_classes, out_h, out_w), dtype=dtype)
    for row in np.asarray(detections, dtype=np.float64).reshape(-1, 6):
        b_ind, category = int(row[0]), int(row[1])
        detection = row[2:]
        xtl, ytl = detection[0], detection[1]
        xbr, ybr = detection[2], detection[3]

        fxtl = xtl * width_ratio
        fytl = ytl * height_ratio
        fxbr = xbr * width_ratio
        fybr = ybr * height_ratio

        xtl = int(fxtl)
        ytl = int(fytl)
        xbr = int(fxbr)
        ybr = int(fybr)

        width = detection[2] - detection[0]
        height = detection[3] - detection[1]
        width = math.ceil(width * width_ratio)
        height = math.ceil(height * height_ratio)

        if gaussian_rad == -1:
            radius = gaussian_radius((height, width), gaussian_iou)
            radius = max(0, int(radius))
        else:
            radius = gaussian_rad

        draw_gaussian(tl_heatmaps[b_ind, category], [xtl, ytl], radius, k=k, delte=delte)
        draw_gaussian(br_heatmaps[b_ind, category], [xbr, ybr], radius, k=k, delte=delte)
    return tl_heatmaps, br_heatmaps


# --- Full targets: CornerNet's and CenterNet's training loops ---------------------------------


def kept_rows(detections, batch_size, max_slots):
    """``(slot, row)`` of every row that gets a slot, in input order."""
    counts = [0] * batch_size
    for row in np.asarray(detections, dtype=np.float64).reshape(-1, 6):
        b = int(row[0])
        if counts[b] < max_slots:
            yield counts[b], row
        counts[b] += 1


def encode_cornernet(detections, batch_size, num_classes, input_size, output_size,
                     gaussian_iou=0.3, gaussian_rad=-1, max_tag_len=128, delte=6, k=1, clip=False):
    """CornerNet's target loop: ``fastheat.encode_cornernet`` with default ``radius_formula``
    and ``min_radius`` and ``on_overflow="truncate"``.

    One deliberate deviation from CornerNet, fastheat's documented rule: a box with a corner
    off the map (possible without ``clip``) keeps its slot but leaves it 0, ``tag_masks``
    included, where CornerNet writes tags that point outside the map or at another cell.

    Returns the 8 arrays of ``CornerNetTargets``, in field order.
    """
    if clip:
        detections = clip_detections(detections, input_size)
    kept = list(kept_rows(detections, batch_size, max_tag_len))
    rows = np.array([row for _, row in kept]).reshape(-1, 6)
    tl_heatmaps, br_heatmaps = encode_corners(
        rows, batch_size, num_classes, input_size, output_size, gaussian_iou, gaussian_rad,
        delte=delte, k=k)
    width_ratio = output_size[1] / input_size[1]
    height_ratio = output_size[0] / input_size[0]
    tl_regrs = np.zeros((batch_size, max_tag_len, 2), dtype=np.float32)
    br_regrs = np.zeros((batch_size, max_tag_len, 2), dtype=np.float32)
    tl_tags = np.zeros((batch_size, max_tag_len), dtype=np.int64)
    br_tags = np.zeros((batch_size, max_tag_len), dtype=np.int64)
    tag_masks = np.zeros((batch_size, max_tag_len), dtype=np.uint8)
    tag_lens = np.zeros((batch_size,), dtype=np.int32)
    for tag_ind, row in kept:
        b_ind = int(row[0])
        xtl, ytl, xbr, ybr = row[2:]
        fxtl = xtl * width_ratio
        fytl = ytl * height_ratio
        fxbr = xbr * width_ratio
        fybr = ybr * height_ratio
        xtl, ytl, xbr, ybr = int(fxtl), int(fytl), int(fxbr), int(fybr)
        tag_lens[b_ind] += 1
        if not all(0 <= x < output_size[1] for x in (xtl, xbr)) or \
                not all(0 <= y < output_size[0] for y in (ytl, ybr)):
            continue  # a corner off the map: the slot stays 0 (fastheat's rule)
        tl_regrs[b_ind, tag_ind, :] = [fxtl - xtl, fytl - ytl]
        br_regrs[b_ind, tag_ind, :] = [fxbr - xbr, fybr - ybr]
        tl_tags[b_ind, tag_ind] = ytl * output_size[1] + xtl
        br_tags[b_ind, tag_ind] = ybr * output_size[1] + xbr
        tag_masks[b_ind, tag_ind] = 1
    return (tl_heatmaps, br_heatmaps, tl_regrs, br_regrs, tl_tags, br_tags, tag_masks, tag_lens)


def draw_msra_gaussian(heatmap, center, sigma, issue_483_fix=False):
    """CenterNet's ``draw_msra_gaussian``: max-merge a Gaussian of ``sigma`` (float32 grid of
    ``6 sigma + 1`` cells, centred on ``int(center + 0.5)``) into ``heatmap`` in place.

    CenterNet's text reads ``w, h = heatmap.shape[0], heatmap.shape[1]``: ``w`` is the height
    and ``h`` the width (CenterNet issue #483), and every later line uses ``h`` as the bound of
    x and ``w`` as the bound of y, so the function is right. ``issue_483_fix=True`` applies the
    fix the issue proposes, ``h, w = ...`` on that line alone; the tests show it breaks
    non-square maps (Gaussians lost or cut wrongly, or a broadcast error).
    """
    reach = sigma * 3
    mu_x, mu_y = int(center[0] + 0.5), int(center[1] + 0.5)
    if issue_483_fix:
        h, w = heatmap.shape[0], heatmap.shape[1]
    else:
        w, h = heatmap.shape[0], heatmap.shape[1]
    ul = [int(mu_x - reach), int(mu_y - reach)]
    br = [int(mu_x + reach + 1), int(mu_y + reach + 1)]
    if ul[0] >= h or ul[1] >= w or br[0] < 0 or br[1] < 0:
        return heatmap
    size = 2 * reach + 1
    x = np.arange(0, size, 1, np.float32)
    y = x[:, np.newaxis]
    x0 = y0 = size // 2
    g = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    g_x = max(0, -ul[0]), min(br[0], h) - ul[0]
    g_y = max(0, -ul[1]), min(br[1], w) - ul[1]
    img_x = max(0, ul[0]), min(br[0], h)
    img_y = max(0, ul[1]), min(br[1], w)
    heatmap[img_y[0]:img_y[1], img_x[0]:img_x[1]] = np.maximum(
        heatmap[img_y[0]:img_y[1], img_x[0]:img_x[1]], g[g_y[0]:g_y[1], g_x[0]:g_x[1]])
    return heatmap


def draw_dense_reg(regmap, heatmap, center, value, radius, k=1, delte=6):
    """CenterNet's ``draw_dense_reg`` (``is_offset=False``): within ``radius`` of ``center``,
    the cells of ``regmap`` (``(2, H, W)``) where the umich Gaussian of ``radius`` (float64)
    is at least ``heatmap`` (``hm.max(axis=0)``, float32) take ``value``; the others keep
    theirs. Written with the reference's arithmetic (``(1 - idx) * old + idx * new``).
    CenterNet's Gaussian has ``k=1, delte=6``; fastheat compares with the Gaussian its
    options stamp."""
    diameter = 2 * radius + 1
    gaussian = gaussian2D((diameter, diameter), sigma=diameter / delte) * k
    value = np.array(value, dtype=np.float32).reshape(-1, 1, 1)
    reg = np.ones((value.shape[0], diameter * 2 + 1, diameter * 2 + 1), dtype=np.float32) * value
    x, y = int(center[0]), int(center[1])
    height, width = heatmap.shape[0:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    masked_heatmap = heatmap[y - top:y + bottom, x - left:x + right]
    masked_regmap = regmap[:, y - top:y + bottom, x - left:x + right]
    masked_gaussian = gaussian[radius - top:radius + bottom, radius - left:radius + right]
    masked_reg = reg[:, radius - top:radius + bottom, radius - left:radius + right]
    if min(masked_gaussian.shape) > 0 and min(masked_heatmap.shape) > 0:
        idx = (masked_gaussian >= masked_heatmap).reshape(1, *masked_gaussian.shape)
        masked_regmap = (1 - idx) * masked_regmap + idx * masked_reg
    regmap[:, y - top:y + bottom, x - left:x + right] = masked_regmap
    return regmap


def encode_centernet(detections, batch_size, num_classes, input_size, output_size,
                     gaussian_iou=0.7, radius_formula="centernet", max_objs=128, delte=6, k=1,
                     min_radius=0, gaussian="umich", gaussian_rad=-1, dense_wh=False,
                     cat_spec_wh=False):
    """CenterNet's ctdet target loop, plain scaling for its affine warp:
    ``fastheat.encode_centernet`` with ``on_overflow="truncate"``.

    ``gaussian="msra"`` is CenterNet's ``mse_loss`` (``draw_msra_gaussian`` with
    ``sigma = gaussian_rad``, its ``hm_gauss``, which also becomes the radius of the dense
    regression); ``gaussian_rad >= 0`` with ``"umich"`` fixes every radius (CornerNet's
    option, CenterNet has none). Returns the fields of ``CenterNetTargets`` the options fill,
    in order.
    """
    output_h, output_w = output_size
    width_ratio = output_w / input_size[1]
    height_ratio = output_h / input_size[0]
    hm = np.zeros((batch_size, num_classes, output_h, output_w), dtype=np.float32)
    wh = np.zeros((batch_size, max_objs, 2), dtype=np.float32)
    reg = np.zeros((batch_size, max_objs, 2), dtype=np.float32)
    ind = np.zeros((batch_size, max_objs), dtype=np.int64)
    reg_mask = np.zeros((batch_size, max_objs), dtype=np.uint8)
    dense = np.zeros((batch_size, 2, output_h, output_w), dtype=np.float32)
    cat_wh = np.zeros((batch_size, max_objs, num_classes * 2), dtype=np.float32)
    cat_mask = np.zeros((batch_size, max_objs, num_classes * 2), dtype=np.uint8)
    for slot, row in kept_rows(detections, batch_size, max_objs):
        b, cls_id = int(row[0]), int(row[1])
        x1, y1, x2, y2 = row[2:]
        bbox = np.array([x1 * width_ratio, y1 * height_ratio, x2 * width_ratio, y2 * height_ratio],
                        dtype=np.float32)
        bbox[[0, 2]] = np.clip(bbox[[0, 2]], np.float32(0), np.float32(output_w - 1))
        bbox[[1, 3]] = np.clip(bbox[[1, 3]], np.float32(0), np.float32(output_h - 1))
        h, w = bbox[3] - bbox[1], bbox[2] - bbox[0]
        assert h.dtype == w.dtype == np.float32
        if h > 0 and w > 0:
            radius = RADIUS[radius_formula]((math.ceil(h), math.ceil(w)), gaussian_iou)
            radius = max(0, int(radius))
            radius = max(min_radius, radius if gaussian_rad < 0 else gaussian_rad)
            radius = gaussian_rad if gaussian == "msra" else radius
            ct = np.array([(bbox[0] + bbox[2]) / np.float32(2), (bbox[1] + bbox[3]) / np.float32(2)],
                          dtype=np.float32)
            ct_int = ct.astype(np.int32)
            if gaussian == "msra":
                draw_msra_gaussian(hm[b, cls_id], ct_int, radius)
            else:
                draw_gaussian(hm[b, cls_id], ct_int.tolist(), radius, k=k, delte=delte)
            wh[b, slot] = 1.0 * w, 1.0 * h
            ind[b, slot] = int(ct_int[1]) * output_w + int(ct_int[0])
            reg[b, slot] = ct - ct_int
            reg_mask[b, slot] = 1
            cat_wh[b, slot, cls_id * 2: cls_id * 2 + 2] = wh[b, slot]
            cat_mask[b, slot, cls_id * 2: cls_id * 2 + 2] = 1
            if dense_wh:
                draw_dense_reg(dense[b], hm[b].max(axis=0), ct_int, wh[b, slot], radius, k, delte)
    mask = np.concatenate([hm.max(axis=1, keepdims=True)] * 2, axis=1)
    return ((hm, wh, reg, ind, reg_mask) + ((dense, mask) if dense_wh else ())
            + ((cat_wh, cat_mask) if cat_spec_wh else ()))


# --- mmpose: human-pose keypoint heatmaps (MSRA, UDP, DarkPose) --------------------------------


def _window(corner, far, length):
    """``(map_slice, grid_slice)``: the part of a grid placed with its first cell at ``corner``
    and its last before ``far`` that lies on a ``length``-long axis of the map."""
    return slice(max(0, corner), min(length, far)), slice(max(0, -corner), min(length, far) - corner)


def msra_heatmaps(heatmap_size, keypoints, visible, sigma):
    """MSRAHeatmap(unbiased=False)'s generator for one image: ``keypoints`` (N, K, 2) already
    in heatmap cells, ``visible`` (N, K), ``heatmap_size`` ``[W, H]``. Returns ``(heatmaps
    (K, H, W) float32, weights (N, K))``."""
    width, height = heatmap_size
    heatmaps = np.zeros((keypoints.shape[1], height, width), np.float32)
    weights = visible.copy()
    reach = sigma * 3  # a Python float: the grid below has ceil(2 * reach + 1) cells
    grid = np.arange(0, 2 * reach + 1, 1, dtype=np.float32)
    middle = (2 * reach + 1) // 2
    for n in range(keypoints.shape[0]):
        for k in range(keypoints.shape[1]):
            if visible[n, k] < 0.5:
                continue
            cell = (keypoints[n, k] + 0.5).astype(np.int64)  # float32 sum, truncated
            x_lo, y_lo = (cell - reach).astype(np.int64)
            x_hi, y_hi = (cell + reach + 1).astype(np.int64)
            if x_lo >= width or y_lo >= height or x_hi < 0 or y_hi < 0:
                weights[n, k] = 0
                continue
            gaussian = np.exp(-((grid[None, :] - middle) ** 2 + (grid[:, None] - middle) ** 2)
                              / (2 * sigma**2))
            rows, grid_rows = _window(y_lo, y_hi, height)
            columns, grid_columns = _window(x_lo, x_hi, width)
            target = heatmaps[k, rows, columns]
            np.maximum(target, gaussian[grid_rows, grid_columns], out=target)
    return heatmaps, weights


def udp_heatmaps(heatmap_size, keypoints, visible, sigma):
    """UDPHeatmap(heatmap_type="gaussian")'s generator for one image: ``msra_heatmaps`` with
    the Gaussian's centre moved by the keypoint's offset from its cell."""
    width, height = heatmap_size
    heatmaps = np.zeros((keypoints.shape[1], height, width), np.float32)
    weights = visible.copy()
    reach = sigma * 3
    grid = np.arange(0, 2 * reach + 1, 1, dtype=np.float32)
    for n in range(keypoints.shape[0]):
        for k in range(keypoints.shape[1]):
            if visible[n, k] < 0.5:
                continue
            cell = (keypoints[n, k] + 0.5).astype(np.int64)
            x_lo, y_lo = (cell - reach).astype(np.int64)
            x_hi, y_hi = (cell + reach + 1).astype(np.int64)
            if x_lo >= width or y_lo >= height or x_hi < 0 or y_hi < 0:
                weights[n, k] = 0
                continue
            point = keypoints[n, k]
            centre_x = (2 * reach + 1) // 2 + (point[0] - cell[0])  # a NumPy float64 scalar
            centre_y = (2 * reach + 1) // 2 + (point[1] - cell[1])
            gaussian = np.exp(-((grid[None, :] - centre_x) ** 2 + (grid[:, None] - centre_y) ** 2)
                              / (2 * sigma**2))
            rows, grid_rows = _window(y_lo, y_hi, height)
            columns, grid_columns = _window(x_lo, x_hi, width)
            target = heatmaps[k, rows, columns]
            np.maximum(target, gaussian[grid_rows, grid_columns], out=target)
    return heatmaps, weights


def dark_heatmaps(heatmap_size, keypoints, visible, sigma):
    """MSRAHeatmap(unbiased=True)'s (DarkPose) generator for one image: the Gaussian centred
    on the keypoint itself, over the whole map; the miss test on ``keypoint -+ 3 sigma``."""
    width, height = heatmap_size
    heatmaps = np.zeros((keypoints.shape[1], height, width), np.float32)
    weights = visible.copy()
    reach = sigma * 3
    xs = np.arange(0, width, 1, dtype=np.float32)
    ys = np.arange(0, height, 1, dtype=np.float32)[:, None]
    for n in range(keypoints.shape[0]):
        for k in range(keypoints.shape[1]):
            if visible[n, k] < 0.5:
                continue
            point = keypoints[n, k]  # float32
            x_lo, y_lo = point - reach
            x_hi, y_hi = point + reach + 1
            if x_lo >= width or y_lo >= height or x_hi < 0 or y_hi < 0:
                weights[n, k] = 0
                continue
            gaussian = np.exp(-((xs - point[0]) ** 2 + (ys - point[1]) ** 2) / (2 * sigma**2))
            np.maximum(gaussian, heatmaps[k], out=heatmaps[k])
    return heatmaps, weights


KEYPOINT_GENERATORS = {"msra": msra_heatmaps, "udp": udp_heatmaps, "dark": dark_heatmaps}


def keypoint_scale_factor(input_size, heatmap_size, method):
    """The codecs' float32 ``scale_factor`` ``[x, y]``; sizes ``(height, width)``."""
    (in_h, in_w), (out_h, out_w) = input_size, heatmap_size
    if method == "udp":
        return ((np.array([in_w, in_h]) - 1) / (np.array([out_w, out_h]) - 1)).astype(np.float32)
    return (np.array([in_w, in_h]) / [out_w, out_h]).astype(np.float32)


def encode_keypoints(keypoints, visible, input_size, heatmap_size, sigma=2.0, method="msra"):
    """The codec's ``encode`` on every image of a batch: keypoints (B, N, K, 2) float32 in input
    pixels divided by the scale factor, then the method's generator; ``visible`` (B, N, K) or
    None (all 1). Returns ``(heatmaps (B, K, H, W), weights (B, N, K) float32)``."""
    scale = keypoint_scale_factor(input_size, heatmap_size, method)
    generate = KEYPOINT_GENERATORS[method]
    maps, weights = [], []
    for b in range(keypoints.shape[0]):
        seen = np.ones(keypoints.shape[1:3], np.float32) if visible is None else visible[b]
        heatmaps, kept = generate([heatmap_size[1], heatmap_size[0]], keypoints[b] / scale, seen,
                                  sigma)
        maps.append(heatmaps)
        weights.append(kept.astype(np.float32))
    return np.stack(maps), np.stack(weights)


# --- DeepLabCut 3.0.2: HeatmapGaussianGenerator / HeatmapPlateauGenerator, keypoint mode -------


def deeplabcut_grid(height, width, stride):
    """DeepLabCut's grid: per cell ``(row, column)`` the input pixel of its centre,
    ``cell * stride + stride / 2`` computed in float64 and stored back into the int64
    ``np.mgrid`` (so truncated)."""
    grid = np.mgrid[:height, :width].transpose((1, 2, 0))
    grid[:, :, 0] = grid[:, :, 0] * stride + stride / 2
    grid[:, :, 1] = grid[:, :, 1] * stride + stride / 2
    return grid


def encode_deeplabcut(keypoints, visible, heatmap_size, stride, mode="gaussian",
                      pos_dist_thresh=17, locref=True, locref_std=7.2801,
                      gradient_masking=False, background_weight=0.1):
    """DeepLabCut's heatmap target generator (keypoint mode) on a batch: ``keypoints``
    (B, N, K, 2) ``(x, y)`` in input pixels, ``visible`` (B, N, K) (> 0 drawn, 0 invisible,
    -1 missing), ``heatmap_size`` ``(H, W)``. Returns ``(heatmaps, weights, locref,
    locref_mask)``, all ``(B, C, H, W)`` (float32, float32, float32, int64); the last two
    None without ``locref``.

    Per image, heatmap by heatmap, instance by instance: a visible keypoint max-merges its
    whole-map Gaussian ``exp(-norm(grid - kp)**2 / (2 std**2))`` (float64, then stored in
    float32; ``std = 2 * thresh / 3``) or its plateau (1 where the squared distance is at most
    ``thresh**2``), sets the locref mask there, and writes its locref ``(kp - grid) /
    locref_std`` over the whole map (gaussian) or within the plateau (plateau); an invisible
    one sets the heatmap's weight to ``background_weight`` (with ``gradient_masking``), a
    missing one to 0.
    """
    height, width = heatmap_size
    batch_size, instances, count = np.shape(visible)
    thresh = float(pos_dist_thresh)
    thresh_sq = thresh**2
    std = 2 * thresh / 3
    scale = 1.0 / locref_std
    heatmaps = np.zeros((batch_size, height, width, count), np.float32)
    weights = np.ones((batch_size, count, height, width), np.float32)
    refine = np.zeros((batch_size, height, width, 2 * count), np.float32)
    refine_mask = np.zeros_like(refine, dtype=int)
    grid = deeplabcut_grid(height, width, stride)
    # (B, K, N, 3): heatmap by heatmap, then instance by instance
    labels = np.concatenate([keypoints, np.asarray(visible)[..., None]], axis=3)
    labels = labels.transpose((0, 2, 1, 3))
    for b in range(batch_size):
        for k, instances_of_k in enumerate(labels[b]):
            for label in instances_of_k:
                if gradient_masking and label[-1] == 0:
                    weights[b, k] = background_weight
                elif label[-1] == -1:
                    weights[b, k] = 0.0
                elif label[-1] > 0:
                    point = label[:2].copy()[::-1]  # (y, x), as the grid
                    heatmap = heatmaps[b, :, :, k]
                    pair = refine[b, :, :, 2 * k:2 * k + 2]
                    pair_mask = refine_mask[b, :, :, 2 * k:2 * k + 2]
                    dx = point[1] - grid[:, :, 1]
                    dy = point[0] - grid[:, :, 0]
                    if mode == "gaussian":
                        squared = np.linalg.norm(grid - point, axis=2) ** 2
                        heatmap[:, :] = np.maximum(heatmap, np.exp(-squared / (2 * std**2)))
                        inside = squared <= thresh_sq
                        pair[:, :, 0] = dx * scale
                        pair[:, :, 1] = dy * scale
                    else:
                        squared = np.sum((grid - point) ** 2, axis=2)
                        inside = squared <= thresh_sq
                        heatmap[inside] = 1
                        pair[inside, 0] = (dx * scale)[inside]
                        pair[inside, 1] = (dy * scale)[inside]
                    pair_mask[inside] = 1
    heatmaps = heatmaps.transpose((0, 3, 1, 2))
    if not locref:
        return heatmaps, weights, None, None
    return heatmaps, weights, refine.transpose((0, 3, 1, 2)), refine_mask.transpose((0, 3, 1, 2))


# --- lightweight OpenPose: keypoint maps and part affinity fields (datasets/coco.py) -----------


def openpose_add_gaussian(heatmap, x, y, stride, sigma):
    """Add one keypoint's Gaussian to the float32 ``heatmap`` cell by cell, in Python floats as
    ``_add_gaussian`` does: a window of 4 sigma (input pixels, truncated, clipped to the map),
    cells whose exponent is above 4.6052 skipped, each sum clamped at 1. ``cell += value``
    on a NumPy float32 cell adds in float32 under NumPy 2 (NEP 50)."""
    reach = 4 * sigma
    left, top = max(int(x - reach), 0), max(int(y - reach), 0)
    height, width = heatmap.shape
    right, bottom = min(int(x + reach), width * stride), min(int(y + reach), height * stride)
    shift = stride / 2 - 0.5
    for row in range(top // stride, bottom // stride):
        for column in range(left // stride, right // stride):
            squared = ((column * stride + shift - x) * (column * stride + shift - x)
                       + (row * stride + shift - y) * (row * stride + shift - y))
            exponent = squared / 2 / sigma / sigma
            if exponent > 4.6052:
                continue
            heatmap[row, column] += math.exp(-exponent)
            if heatmap[row, column] > 1:
                heatmap[row, column] = 1


def openpose_set_paf(paf, x_a, y_a, x_b, y_b, stride, thickness):
    """Write the unit vector from a to b (map cells) on the cells of the ``(2, H, W)`` ``paf``
    whose distance to the line through a and b is at most ``thickness``, within the limb's box
    grown by ``thickness``, as ``_set_paf`` does (nothing when a and b coincide)."""
    x_a, y_a, x_b, y_b = x_a / stride, y_a / stride, x_b / stride, y_b / stride
    dx, dy = x_b - x_a, y_b - y_a
    _, height, width = paf.shape
    left = int(max(min(x_a, x_b) - thickness, 0))
    right = int(min(max(x_a, x_b) + thickness, width))
    top = int(max(min(y_a, y_b) - thickness, 0))
    bottom = int(min(max(y_a, y_b) + thickness, height))
    length = (dx * dx + dy * dy) ** 0.5
    if length < 1e-7:
        return
    dx, dy = dx / length, dy / length
    for row in range(top, bottom):
        for column in range(left, right):
            if math.fabs((column - x_a) * dy - (row - y_a) * dx) <= thickness:
                paf[0, row, column] = dx
                paf[1, row, column] = dy


def encode_openpose(keypoints, visible, limbs, input_size, stride=8, sigma=7.0,
                    paf_thickness=1):
    """lightweight OpenPose's ``_generate_keypoint_maps`` and ``_generate_paf_maps`` on each
    image: ``keypoints`` (B, N, K, 2) in input pixels, people in the order the reference visits
    them (the main one, then the others), ``visible`` (B, N, K) (> 0: labelled, the
    reference's ``keypoint[2] <= 1``), ``limbs`` pairs of keypoint indices, ``input_size``
    ``(H, W)``. Returns ``(keypoint_maps (B, K + 1, H // stride, W // stride), pafs (B, 2L,
    ...))``, float32: per keypoint type, each person's Gaussian added in turn; the background
    ``1 - max``; per limb, each person's band written in turn."""
    batch_size, people, count = np.shape(visible)
    height, width = input_size[0] // stride, input_size[1] // stride
    keypoint_maps = np.zeros((batch_size, count + 1, height, width), np.float32)
    pafs = np.zeros((batch_size, 2 * len(limbs), height, width), np.float32)
    for b in range(batch_size):
        points = np.asarray(keypoints[b], np.float64).tolist()  # Python floats, as the labels
        for k in range(count):
            for n in range(people):
                if visible[b][n][k] > 0:
                    openpose_add_gaussian(keypoint_maps[b, k], *points[n][k], stride, sigma)
        keypoint_maps[b, -1] = 1 - keypoint_maps[b].max(axis=0)
        for limb, (a, c) in enumerate(limbs):
            for n in range(people):
                if visible[b][n][a] > 0 and visible[b][n][c] > 0:
                    openpose_set_paf(pafs[b, 2 * limb:2 * limb + 2], *points[n][a], *points[n][c],
                                     stride, paf_thickness)
    return keypoint_maps, pafs
