"""Slow, obvious NumPy/Python transcriptions of fastheat's public functions: the oracle.

Every function here has the name of its public counterpart in ``fastheat`` (``gaussian_radius``,
``gaussian2d``, ``draw_gaussian``, ``encode_corners``, ``encode_cornernet``,
``encode_centernet``, ``encode_keypoints``, ``encode_centerpoint``) and is what the tests
compare it with, bit for bit. Their signatures are the transcribed code's own (positional
sizes, the reference's argument order), not the public ones. The encoders (``CornerEncoder``,
``CornerNetEncoder``, ``CenterNetEncoder``, ...) have no transcription: they must equal the
one-shot functions.

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

**SimCC labels** (``encode_simcc``): mmpose's ``SimCCLabel.encode`` (docs/references.md, mmpose
SimCC), one image at a time (``simcc_labels``), both smoothing types, with its dtypes (float32
grids, NumPy int64 centres, ``sigma`` as the ``np.array`` mmpose makes of it), so the values
follow NumPy's promotion rules as mmpose's do. No deviation (the ``"standard"`` labels are
rows ``(N, K, size)``, as mmpose's code returns them; its docstring says ``(N, K)``).

**Associative embedding** (``encode_associative_embedding``): mmpose's ``AssociativeEmbedding.
encode``: the MSRA or UDP generator above (``generate_gaussian_heatmaps`` and
``generate_udp_gaussian_heatmaps`` are the functions ``msra_heatmaps`` and ``udp_heatmaps``
transcribe) and its keypoint indices (``keypoint_indices``). No deviation.

**CenterPoint** (``encode_centerpoint``): mmdetection3d's ``CenterHead.get_targets_single``
(docs/references.md, mmdetection3d) for one scene (``centerpoint_scene``), its torch float32
scalar arithmetic spelled out with NumPy float32 scalars in the same order, the Python-float
coefficients of ``gaussian_radius`` (``centerpoint_radius``) rounded to float32 as torch
rounds a scalar, and ``draw_gaussian`` above for ``draw_heatmap_gaussian`` (the same Gaussian,
merged into float32). Deviations: ``log``, ``sin`` and ``cos`` of float32 values are
``float32(f(float64))`` (torch's float32 functions are not correctly rounded); boxes come as
one ``(N, 9)`` array per scene rather than ``LiDARInstance3DBoxes``.
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


# --- mmpose: SimCC labels (RTMPose) -----------------------------------------------------------


def simcc_labels(input_size, keypoints, visible, sigma, ratio, smoothing, smooth_weight,
                 normalize):
    """SimCCLabel.encode for one image: ``keypoints`` (N, K, 2) float32 in input pixels,
    ``visible`` (N, K), ``input_size`` ``[w, h]``, ``sigma`` a number or an ``(x, y)`` pair,
    ``ratio`` the Python-float split ratio. Returns ``(x_labels (N, K, Wx), y_labels (N, K,
    Hy), weights (N, K))``, every label row present (with ``"standard"`` too)."""
    sigmas = np.array([sigma, sigma] if np.ndim(sigma) == 0 else sigma)  # int64 or float64
    count_n, count_k = keypoints.shape[:2]
    width, height = input_size
    size_x = np.around(width * ratio).astype(int)
    size_y = np.around(height * ratio).astype(int)
    with np.errstate(invalid="ignore"):  # NaN padding of invisible keypoints
        centres = np.around(keypoints * ratio).astype(np.int64)  # float32 product, half to even
    weights = visible.copy()
    x_labels = np.zeros((count_n, count_k, size_x), np.float32)
    y_labels = np.zeros((count_n, count_k, size_y), np.float32)
    reach = sigmas * 3
    grid_x = np.arange(0, size_x, 1, dtype=np.float32)
    grid_y = np.arange(0, size_y, 1, dtype=np.float32)
    for n in range(count_n):
        for k in range(count_k):
            if visible[n, k] < 0.5:
                continue
            centre = centres[n, k]
            centre_x, centre_y = centre  # NumPy int64 scalars
            if smoothing == "gaussian":
                lo_x, lo_y = centre - reach
                hi_x, hi_y = centre + reach + 1
                if lo_x >= size_x or lo_y >= size_y or hi_x < 0 or hi_y < 0:
                    weights[n, k] = 0
                    continue
                x_labels[n, k] = np.exp(-((grid_x - centre_x) ** 2) / (2 * sigmas[0] ** 2))
                y_labels[n, k] = np.exp(-((grid_y - centre_y) ** 2) / (2 * sigmas[1] ** 2))
                continue
            if not (0 <= centre_x < size_x and 0 <= centre_y < size_y):
                weights[n, k] = 0
                continue
            if smooth_weight > 0:
                with np.errstate(divide="ignore"):  # a 1-cell label: inf, then overwritten
                    x_labels[n, k] = smooth_weight / (size_x - 1)
                    y_labels[n, k] = smooth_weight / (size_y - 1)
            x_labels[n, k, centre_x] = 1.0 - smooth_weight
            y_labels[n, k, centre_y] = 1.0 - smooth_weight
    if smoothing == "gaussian" and normalize:
        norms = sigmas * np.sqrt(np.pi * 2)
        x_labels /= norms[0]
        y_labels /= norms[1]
    return x_labels, y_labels, weights


def encode_simcc(keypoints, visible, input_size, sigma=6.0, ratio=2.0, smoothing="gaussian",
                 smooth_weight=0.0, normalize=True):
    """SimCCLabel.encode on every image of a batch: keypoints (B, N, K, 2) float32, ``visible``
    (B, N, K) or None (all 1), ``input_size`` ``(height, width)``. Returns ``(x_labels,
    y_labels, weights float32)`` with the batch axis."""
    fields = []
    for b in range(keypoints.shape[0]):
        seen = np.ones(keypoints.shape[1:3], np.float32) if visible is None else visible[b]
        x_labels, y_labels, weights = simcc_labels(
            [input_size[1], input_size[0]], keypoints[b], seen, sigma, ratio, smoothing,
            smooth_weight, normalize)
        fields.append((x_labels, y_labels, weights.astype(np.float32)))
    return tuple(np.stack(field) for field in zip(*fields))


# --- mmpose: associative embedding (bottom-up) --------------------------------------------------


def keypoint_indices(heatmap_size, keypoints, visible):
    """AssociativeEmbedding._encode_keypoint_indices for one image: ``keypoints`` (N, K, 2)
    float32 in heatmap cells, ``heatmap_size`` ``[W, H]``. Returns int64 (N, K, 2): each
    keypoint's ``[y * W + x, v]``."""
    width, height = heatmap_size
    indices = np.zeros(keypoints.shape[:2] + (2,), np.int64)
    for n in range(keypoints.shape[0]):
        for k in range(keypoints.shape[1]):
            with np.errstate(invalid="ignore", over="ignore"):  # NaN padding, huge values
                x, y = (keypoints[n, k] + 0.5).astype(np.int64)
                index = y * width + x
            seen = visible[n, k] > 0.5 and 0 <= x < width and 0 <= y < height
            indices[n, k] = [index, seen]
    return indices


def encode_associative_embedding(keypoints, visible, input_size, heatmap_size, sigma=None,
                                 use_udp=False):
    """AssociativeEmbedding.encode on every image of a batch: keypoints (B, N, K, 2) float32 in
    input pixels, ``visible`` (B, N, K) or None (all 1), sizes ``(height, width)``. Returns
    ``(heatmaps (B, K, H, W), keypoint_indices (B, N, K, 2), keypoint_weights (B, N, K)
    float32)``."""
    size = [heatmap_size[1], heatmap_size[0]]
    if sigma is None:
        sigma = (size[0] * size[1])**0.5 / 64
    method = "udp" if use_udp else "msra"
    scale = keypoint_scale_factor(input_size, heatmap_size, method)
    fields = []
    for b in range(keypoints.shape[0]):
        seen = np.ones(keypoints.shape[1:3], np.float32) if visible is None else visible[b]
        cells = keypoints[b] / scale
        with np.errstate(invalid="ignore"):  # NaN padding of invisible keypoints
            heatmaps, weights = KEYPOINT_GENERATORS[method](size, cells, seen, sigma)
        fields.append((heatmaps, keypoint_indices(size, cells, seen), weights.astype(np.float32)))
    return tuple(np.stack(field) for field in zip(*fields))


# --- CenterPoint: mmdetection3d's CenterHead targets -----------------------------------------


def centerpoint_radius(det_size, min_overlap):
    """mmdetection3d's ``gaussian_radius`` on float32 scalars (it gets 0-d float32 tensors and
    a Python float ``min_overlap``): CenterNet's three roots ``(b + sq) / 2``. Every Python
    float meeting a float32 value is rounded to float32 first, as torch does with a scalar;
    the products are formed left to right, as Python writes them."""
    f32 = np.float32
    height, width = det_size
    b1 = height + width
    c1 = width * height * f32(1 - min_overlap) / f32(1 + min_overlap)
    r1 = (b1 + np.sqrt(b1 * b1 - f32(4) * c1)) / f32(2)
    b2 = f32(2) * (height + width)
    c2 = f32(1 - min_overlap) * width * height
    r2 = (b2 + np.sqrt(b2 * b2 - f32(16) * c2)) / f32(2)
    a3 = 4 * min_overlap
    b3 = f32(-2 * min_overlap) * (height + width)
    c3 = f32(min_overlap - 1) * width * height
    r3 = (b3 + np.sqrt(b3 * b3 - f32(4 * a3) * c3)) / f32(2)
    return min(r1, r2, r3)


def centerpoint_scene(boxes, labels, tasks, point_cloud_range, voxel_size, grid_size,
                      out_size_factor, gaussian_overlap, min_radius, max_objs, norm_bbox):
    """``CenterHead.get_targets_single`` for one scene: ``boxes`` float32 ``(N, 9)`` as
    mmdetection3d stores them ``(x, y, z, dx, dy, dz, yaw, vx, vy)`` (z at the bottom),
    ``labels`` ints. Returns per-task lists ``(heatmaps, anno_boxes, inds, masks)``.

    float32 arithmetic with NumPy float32 scalars in the reference's order; ``log``, ``sin``
    and ``cos`` of float32 values as ``float32(f(float64))`` (torch's own float32 versions
    may differ by an ulp)."""
    f32 = np.float32
    boxes = np.asarray(boxes, np.float32).reshape(-1, 9)
    centre = boxes.copy()  # gravity centre
    centre[:, 2] = boxes[:, 2] + boxes[:, 5] * f32(0.5)
    pc = np.asarray(point_cloud_range, np.float32)
    voxel = np.asarray(voxel_size, np.float32)
    width, height = grid_size[0] // out_size_factor, grid_size[1] // out_size_factor
    factor = f32(out_size_factor)
    heatmaps, anno_boxes, inds, masks = [], [], [], []
    first = 0
    for classes in tasks:
        # the task's boxes, class by class, each class in input order
        order = [i for c in range(first, first + classes) for i in range(len(labels))
                 if labels[i] == c]
        heatmap = np.zeros((classes, height, width), np.float32)
        anno_box = np.zeros((max_objs, 10), np.float32)
        ind = np.zeros(max_objs, np.int64)
        mask = np.zeros(max_objs, np.uint8)
        for k, i in enumerate(order[:max_objs]):
            box = centre[i]
            length = box[3] / voxel[0] / factor
            size_y = box[4] / voxel[1] / factor
            if not (size_y > 0 and length > 0):
                continue
            radius = max(min_radius, int(centerpoint_radius((size_y, length), gaussian_overlap)))
            coor_x = (box[0] - pc[0]) / voxel[0] / factor
            coor_y = (box[1] - pc[1]) / voxel[1] / factor
            if not (-1 < coor_x < width and -1 < coor_y < height):
                continue  # its truncated centre is off the map
            x, y = int(coor_x), int(coor_y)  # toward zero: (-1, 0) gives cell 0
            draw_gaussian(heatmap[labels[i] - first], [x, y], radius)
            ind[k] = y * width + x
            mask[k] = 1
            dims = box[3:6]
            if norm_bbox:
                dims = np.log(dims.astype(np.float64)).astype(np.float32)
            rot = np.float64(box[6])
            anno_box[k] = [coor_x - f32(x), coor_y - f32(y), box[2], *dims,
                           f32(np.sin(rot)), f32(np.cos(rot)), box[7], box[8]]
        heatmaps.append(heatmap)
        anno_boxes.append(anno_box)
        inds.append(ind)
        masks.append(mask)
        first += classes
    return heatmaps, anno_boxes, inds, masks


def encode_centerpoint(boxes, batch_size, tasks, point_cloud_range, voxel_size, grid_size,
                       out_size_factor=8, gaussian_overlap=0.1, min_radius=2, max_objs=500,
                       dense_reg=1, norm_bbox=True):
    """``CenterHead.get_targets`` on ``(batch_index, label, x, y, z, dx, dy, dz, yaw, vx, vy)``
    rows, as ``fastheat.encode_centerpoint`` lays it out: ``(heatmap (B, sum(tasks), H, W),
    anno_box (B, T, M, 10), ind (B, T, M), mask (B, T, M))``, one scene at a time
    (``centerpoint_scene``)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 11)
    slots = max_objs * dense_reg
    scenes = []
    for b in range(batch_size):
        mine = boxes[boxes[:, 0] == b]
        heatmaps, anno_boxes, inds, masks = centerpoint_scene(
            mine[:, 2:], mine[:, 1].astype(int).tolist(), tasks, point_cloud_range, voxel_size,
            grid_size, out_size_factor, gaussian_overlap, min_radius, slots, norm_bbox)
        scenes.append((np.concatenate(heatmaps), np.stack(anno_boxes), np.stack(inds),
                       np.stack(masks)))
    return tuple(np.stack(field) for field in zip(*scenes))

# --- mmdetection 3.3.0: CenterNetHead and CornerHead targets -----------------------------------
# Torch float32 tensors throughout: an operation with a Python number rounds the number to
# float32 first (np.float32 scalars here). Deviations: torch's float32 ``exp`` is replaced by
# NumPy's float64 ``exp`` rounded to float32 (torch's is not correctly rounded: it differs by
# one unit in the last place on a few cells); a centre or corner cell off the map writes no
# cell values and stamps its visible cells (mmdetection raises an IndexError there, or wraps a
# negative index around to the other side).

F32 = np.float32


def mmdet_gaussian2D(radius):
    """mmdetection's ``gaussian2D(radius, sigma=(2 * radius + 1) / 6)`` in float32."""
    sigma = (2 * radius + 1) / 6
    grid = np.arange(-radius, radius + 1).astype(F32)
    x, y = grid[None, :], grid[:, None]
    kernel = np.exp((-(x * x + y * y) / F32(2 * sigma * sigma)).astype(np.float64)).astype(F32)
    kernel[kernel < np.finfo(F32).eps * kernel.max()] = 0
    return kernel


def mmdet_gen_gaussian_target(heatmap, x, y, radius):
    """Max-merge ``mmdet_gaussian2D(radius)`` centred on the cell ``(x, y)`` into the visible
    cells of ``heatmap``."""
    kernel = mmdet_gaussian2D(radius)
    height, width = heatmap.shape
    y0, y1 = max(y - radius, 0), min(y + radius + 1, height)
    x0, x1 = max(x - radius, 0), min(x + radius + 1, width)
    if y0 < y1 and x0 < x1:
        window = kernel[y0 - y + radius:y1 - y + radius, x0 - x + radius:x1 - x + radius]
        heatmap[y0:y1, x0:x1] = np.maximum(heatmap[y0:y1, x0:x1], window)


def mmdet_radius(height, width):
    """mmdetection's ``gaussian_radius((height, width), 0.3)`` on float32 scalars (tensors)."""
    overlap = 0.3
    b1 = height + width
    c1 = width * height * F32(1 - overlap) / F32(1 + overlap)
    r1 = (b1 - F32(math.sqrt(b1 * b1 - 4 * c1))) / F32(2)
    b2 = F32(2) * (height + width)
    c2 = F32(1 - overlap) * width * height
    r2 = (b2 - F32(math.sqrt(b2 * b2 - F32(16) * c2))) / F32(8)
    a3 = 4 * overlap
    b3 = F32(-2 * overlap) * (height + width)
    c3 = F32(overlap - 1) * width * height
    r3 = (b3 + F32(math.sqrt(b3 * b3 - F32(4 * a3) * c3))) / F32(2 * a3)
    return min(r1, r2, r3)


def _images(detections, batch_size):
    """Per image, its rows in input order, coordinates as float32."""
    for b in range(batch_size):
        rows = detections[detections[:, 0] == b]
        yield b, rows[:, 1].astype(int), rows[:, 2:6].astype(F32)


def _on_map(array, x, y):
    return 0 <= x < array.shape[-1] and 0 <= y < array.shape[-2]


def encode_mmdet_centernet(detections, batch_size, num_classes, input_size, output_size):
    """mmdetection's ``CenterNetHead.get_targets`` (its four maps)."""
    (in_h, in_w), (out_h, out_w) = input_size, output_size
    rx, ry = F32(out_w / in_w), F32(out_h / in_h)
    heatmap = np.zeros((batch_size, num_classes, out_h, out_w), F32)
    wh, offset, weight = (np.zeros((batch_size, 2, out_h, out_w), F32) for _ in range(3))
    for b, labels, boxes in _images(detections, batch_size):
        for label, (x1, y1, x2, y2) in zip(labels, boxes):
            cx, cy = (x1 + x2) * rx / F32(2), (y1 + y2) * ry / F32(2)
            x, y = int(cx), int(cy)
            w, h = (x2 - x1) * rx, (y2 - y1) * ry
            radius = max(0, int(mmdet_radius(h, w)))
            mmdet_gen_gaussian_target(heatmap[b, label], x, y, radius)
            if _on_map(heatmap, x, y):
                wh[b, :, y, x] = w, h
                offset[b, :, y, x] = cx - F32(x), cy - F32(y)
                weight[b, :, y, x] = 1
    return heatmap, wh, offset, weight


def encode_mmdet_corner(detections, batch_size, num_classes, input_size, output_size,
                        with_guiding_shift=False, with_centripetal_shift=False):
    """mmdetection's ``CornerHead.get_targets``: the heatmaps, offsets and the shifts asked
    for, in the order of ``fastheat.encode_mmdet_corner``'s fields."""
    (in_h, in_w), (out_h, out_w) = input_size, output_size
    rx, ry = F32(out_w / in_w), F32(out_h / in_h)
    heatmaps = [np.zeros((batch_size, num_classes, out_h, out_w), F32) for _ in range(2)]
    fields = {name: np.zeros((batch_size, 2, out_h, out_w), F32)
              for name in ("offset", "guiding", "centripetal")}
    tl_fields = {name: np.zeros_like(field) for name, field in fields.items()}
    br_fields = fields
    for b, labels, boxes in _images(detections, batch_size):
        for label, (left, top, right, bottom) in zip(labels, boxes):
            centre_x, centre_y = (left + right) / F32(2) * rx, (top + bottom) / F32(2) * ry
            s_left, s_right, s_top, s_bottom = left * rx, right * rx, top * ry, bottom * ry
            i_left, i_right = int(min(s_left, out_w - 1)), int(min(s_right, out_w - 1))
            i_top, i_bottom = int(min(s_top, out_h - 1)), int(min(s_bottom, out_h - 1))
            radius = max(0, int(gaussian_radius((math.ceil(s_bottom - s_top),
                                                 math.ceil(s_right - s_left)), 0.3)))
            mmdet_gen_gaussian_target(heatmaps[0][b, label], i_left, i_top, radius)
            mmdet_gen_gaussian_target(heatmaps[1][b, label], i_right, i_bottom, radius)
            for target, x, y, offset, guiding, centripetal in (
                    (tl_fields, i_left, i_top, (s_left - F32(i_left), s_top - F32(i_top)),
                     (centre_x - F32(i_left), centre_y - F32(i_top)),
                     (centre_x - s_left, centre_y - s_top)),
                    (br_fields, i_right, i_bottom,
                     (s_right - F32(i_right), s_bottom - F32(i_bottom)),
                     (F32(i_right) - centre_x, F32(i_bottom) - centre_y),
                     (s_right - centre_x, s_bottom - centre_y))):
                if _on_map(heatmaps[0], x, y):
                    target["offset"][b, :, y, x] = offset
                    target["guiding"][b, :, y, x] = guiding
                    if with_centripetal_shift:
                        target["centripetal"][b, :, y, x] = [math.log(d) for d in centripetal]
    result = [*heatmaps, tl_fields["offset"], br_fields["offset"]]
    if with_guiding_shift:
        result += [tl_fields["guiding"], br_fields["guiding"]]
    if with_centripetal_shift:
        result += [tl_fields["centripetal"], br_fields["centripetal"]]
    return tuple(result)


# --- TTFNet: TTFHead.target_single_image (ZJULearning/ttfnet) -----------------------------------
# Float32 tensors, Python numbers rounded to float32 where they meet them (np.float32 scalars
# here); the elliptical Gaussian is NumPy float64, rounded to float32. Deviations, the
# conventions fastheat documents: torch's float32 ``log`` and ``sqrt`` of the areas are
# ``float32(f(float64))`` and the float32 ``sum`` of a box's Gaussian is summed in float64 and
# rounded; boxes are taken in descending processed area, ties in input order (``torch.topk``
# leaves ties unordered); a ``calc_region`` rectangle starting left of or above the map starts
# at 0, one ending there is empty (TTFNet's slice would wrap around to the other side).
# Categories are 0-based (TTFNet's labels minus one).


def ttf_gaussian_2d(h_radius, w_radius):
    """TTFNet's ``gaussian_2d((2 h_radius + 1, 2 w_radius + 1), sigma_x=w / 6, sigma_y=h / 6)``:
    float64, cut below ``eps * max``."""
    h, w = 2 * h_radius + 1, 2 * w_radius + 1
    sigma_x, sigma_y = w / 6, h / 6
    m, n = (h - 1.0) / 2.0, (w - 1.0) / 2.0
    y, x = np.ogrid[-m:m + 1, -n:n + 1]
    kernel = np.exp(-(x * x / (2 * sigma_x * sigma_x) + y * y / (2 * sigma_y * sigma_y)))
    kernel[kernel < np.finfo(kernel.dtype).eps * kernel.max()] = 0
    return kernel


def ttf_draw_truncate_gaussian(heatmap, x, y, h_radius, w_radius):
    """Max-merge the float32 ``ttf_gaussian_2d`` centred on the cell ``(x, y)`` into the visible
    cells of ``heatmap``."""
    kernel = ttf_gaussian_2d(h_radius, w_radius).astype(F32)
    height, width = heatmap.shape
    y0, y1 = max(y - h_radius, 0), min(y + h_radius + 1, height)
    x0, x1 = max(x - w_radius, 0), min(x + w_radius + 1, width)
    if y0 < y1 and x0 < x1:
        window = kernel[y0 - y + h_radius:y1 - y + h_radius, x0 - x + w_radius:x1 - x + w_radius]
        heatmap[y0:y1, x0:x1] = np.maximum(heatmap[y0:y1, x0:x1], window)


def ttf_area(boxes, process):
    """TTFNet's processed ``bbox_areas``: ``(x2 - x1 + 1) * (y2 - y1 + 1)``, float32, then
    log, sqrt or nothing."""
    areas = (boxes[:, 3] - boxes[:, 1] + F32(1)) * (boxes[:, 2] - boxes[:, 0] + F32(1))
    if process == "log":
        return np.log(areas.astype(np.float64)).astype(F32)
    if process == "sqrt":
        return np.sqrt(areas)  # correctly rounded, as float32(sqrt(float64))
    return areas


def encode_ttfnet(detections, batch_size, num_classes, input_size, output_size, alpha=0.54,
                  beta=0.54, wh_area_process="log", wh_gaussian=True, wh_agnostic=True):
    """TTFNet's ``target_generator``: ``(heatmap, box_target, reg_weight)``, each image's
    maps made by ``target_single_image`` (``ttf_target_single_image``), then stacked."""
    fields = [ttf_target_single_image(labels, boxes, num_classes, input_size, output_size, alpha,
                                      beta, wh_area_process, wh_gaussian, wh_agnostic)
              for _, labels, boxes in _images(detections, batch_size)]
    return tuple(np.stack(field) for field in zip(*fields))


def ttf_target_single_image(labels, boxes, num_classes, input_size, output_size, alpha, beta,
                            wh_area_process, wh_gaussian, wh_agnostic):
    """TTFNet's ``target_single_image``: one image's fresh ``(C, H, W)`` heatmap, ``box_target``
    (-1: ones times -1) and ``reg_weight``, box after box in descending processed area."""
    (in_h, in_w), (out_h, out_w) = input_size, output_size
    ratio_x, ratio_y = F32(in_w / out_w), F32(in_h / out_h)
    planes = 1 if wh_agnostic else num_classes
    heatmap = np.zeros((num_classes, out_h, out_w), F32)
    box_target = np.ones((4 * planes, out_h, out_w), F32) * F32(-1)
    reg_weight = np.zeros((planes, out_h, out_w), F32)
    areas = ttf_area(boxes, wh_area_process)
    order = np.argsort(-areas, kind="stable")
    if wh_area_process == "norm":
        areas[:] = 1
    for k in order:
        box, label, area = boxes[k], labels[k], areas[k]
        feat = box / np.array([ratio_x, ratio_y, ratio_x, ratio_y], F32)
        feat[[0, 2]] = np.clip(feat[[0, 2]], F32(0), F32(out_w - 1))
        feat[[1, 3]] = np.clip(feat[[1, 3]], F32(0), F32(out_h - 1))
        feat_h, feat_w = feat[3] - feat[1], feat[2] - feat[0]
        x = int((box[0] + box[2]) / F32(2) / ratio_x)
        y = int((box[1] + box[3]) / F32(2) / ratio_y)
        radii = {}
        for name, factor in (("alpha", alpha), ("beta", beta)):
            radii[name] = (int(feat_h / F32(2) * F32(factor)),
                           int(feat_w / F32(2) * F32(factor)))
        fake = np.zeros((out_h, out_w), F32)
        ttf_draw_truncate_gaussian(fake, x, y, *radii["alpha"])
        heatmap[label] = np.maximum(heatmap[label], fake)
        plane = 0 if wh_agnostic else label
        if wh_gaussian:
            if alpha != beta:
                fake = np.zeros((out_h, out_w), F32)
                ttf_draw_truncate_gaussian(fake, x, y, *radii["beta"])
            region = fake > 0
            local = fake[region]
            total = F32(local.astype(np.float64).sum())
            weights = local * area / total
        else:
            r = (1 - beta) / 2
            x1 = np.round(F32(1 - r) * box[0] + F32(r) * box[2])
            y1 = np.round(F32(1 - r) * box[1] + F32(r) * box[3])
            x2 = np.round(F32(r) * box[0] + F32(1 - r) * box[2])
            y2 = np.round(F32(r) * box[1] + F32(1 - r) * box[3])
            x1, x2 = (min(int(np.round(F32(v) / ratio_x)), out_w - 1) for v in (x1, x2))
            y1, y2 = (min(int(np.round(F32(v) / ratio_y)), out_h - 1) for v in (y1, y2))
            region = np.zeros((out_h, out_w), bool)
            region[max(y1, 0):max(y2 + 1, 0), max(x1, 0):max(x2 + 1, 0)] = True
            weights = area / F32(region.sum())
        box_target[4 * plane:4 * plane + 4][:, region] = box[:, None]
        reg_weight[plane][region] = weights
    return heatmap, box_target, reg_weight

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
