"""Draw CornerNet, CenterNet, human-pose (mmpose, DeepLabCut, OpenPose) or CenterPoint training
targets of a seeded batch into a PNG.

    python scripts/show_targets.py [--out targets.png]
        [--mode cornernet|centernet|keypoints|simcc|associative_embedding|centerpoint|
                deeplabcut|openpose]
        [--method msra|udp|dark] [--seed 0] [--images 4]

One row per image; one panel per heatmap (CornerNet: top-left and bottom-right corners,
CenterNet: centres), each the per-pixel maximum over the classes, with the boxes scaled to the
output map and the points decoded from the tags / indices (``x = ind % out_w``,
``y = ind // out_w``) on top. ``--mode keypoints``: COCO-like people (17 joints, one or two per
image, some joints invisible) encoded by ``encode_keypoints`` with ``--method`` (mmpose's
top-down 256x192 input, 64x48 heatmaps, sigma 2); one panel per image, the maximum over the
joints' heatmaps, with each person's skeleton scaled to the heatmap and its visible joints'
cells (``int(x + 0.5)``) on top. ``--mode simcc``: the same people encoded by ``encode_simcc``
(RTMPose's 256x192 input, split ratio 2, sigma (4.9, 5.66)); each panel shows, for every
labelled joint, the outer product of its y and x labels scaled to a peak of 1 (the maximum over
the joints), 512x384 label cells, with the labels' argmax cells on top. ``--mode
associative_embedding``: the people encoded by ``encode_associative_embedding`` (256x192 ->
128x96, default sigma, ``--method udp`` for UDP), the maximum over the joints' heatmaps with the
cells decoded from ``keypoint_indices`` (``index % W``, ``index // W``, where ``v`` is 1).
``--mode centerpoint``: nuScenes-like LiDAR scenes
(``nuscenes_like_boxes``, 60 boxes each) encoded by ``encode_centerpoint`` in mmdetection3d's
nuScenes setting (128 x 128 bird's-eye-view heatmaps); one panel per scene, the maximum over
the 10 classes (x to the right, y up), with each box's footprint (rotated by its yaw) in
heatmap cells and the cells decoded from ``ind`` where ``mask`` is set on top.
``--mode deeplabcut``: the same people (as animals) encoded by
``encode_deeplabcut`` (stride 4, defaults), two panels per image: the maximum over the score
maps and over the locref masks, with the drawn keypoints' cells (``x // stride``);
``--mode openpose``: the people with a neck, in OpenPose's
18-keypoint order, encoded by ``encode_openpose`` (stride 8, sigma 7), two panels per image:
the maximum over the keypoint maps (background left out) and over the part affinity fields'
lengths. Needs matplotlib: ``pip install -e .[plot]``.
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple, Sequence

import numpy as np
from numpy.typing import NDArray

import fastheat
from fastheat.workloads import CORNERNET, NUSCENES, coco_like_detections, nuscenes_like_boxes

SIZES = {key: CORNERNET[key] for key in ("num_classes", "input_size", "output_size")}
COLORMAP = "inferno"  # brightness grows with the value: the hottest cells are the brightest
MODES = ("cornernet", "centernet", "keypoints", "simcc", "associative_embedding", "centerpoint",
         "deeplabcut", "openpose")
POSE_MODES = ("keypoints", "simcc", "associative_embedding")
BOXES_PER_SCENE = 60  # --mode centerpoint
#: Each mode with its own input: the stride from input pixels to its maps' cells.
STRIDES = {"deeplabcut": 4, "openpose": 8}
POSE = dict(input_size=(256, 192), heatmap_size=(64, 48), sigma=2.0)  # mmpose's COCO top-down
SIMCC = dict(input_size=(256, 192), sigma=(4.9, 5.66), simcc_split_ratio=2.0)  # RTMPose's
BOTTOM_UP = dict(input_size=(256, 192), heatmap_size=(128, 96))  # default sigma: 1.73
#: A standing person's 17 COCO joints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
#: ankles; left then right), x across and y down in units of the person's height.
JOINTS = np.array([(0.0, 0.08), (0.03, 0.06), (-0.03, 0.06), (0.07, 0.08), (-0.07, 0.08),
                   (0.15, 0.22), (-0.15, 0.22), (0.22, 0.38), (-0.22, 0.38), (0.25, 0.52),
                   (-0.25, 0.52), (0.1, 0.55), (-0.1, 0.55), (0.11, 0.75), (-0.11, 0.75),
                   (0.12, 0.95), (-0.12, 0.95)])
#: COCO's skeleton: the joint pairs linked by limbs.
SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
            (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
#: OpenPose's 18 keypoints from COCO's 17 and the neck (index 17 here): nose, neck, right
#: shoulder, elbow, wrist, left ones, right hip, knee, ankle, left ones, eyes, ears.
OPENPOSE_ORDER = (0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
#: lightweight OpenPose's limbs (``BODY_PARTS_KPT_IDS``) over them.
OPENPOSE_LIMBS = ((1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4),
                  (2, 16), (1, 5), (5, 6), (6, 7), (5, 17), (1, 0), (0, 14), (0, 15), (14, 16),
                  (15, 17))


class Panel(NamedTuple):
    """One heatmap of one image, and the points encoded for it."""

    title: str
    heat: NDArray[np.float32]  # (H, W): maximum over the classes
    points: NDArray[np.int64]  # (P, 2): decoded (x, y) grid cells of the image's boxes


def people(seed: int, images: int, instances: int = 2) -> tuple[NDArray, NDArray]:
    """``(keypoints (B, N, 17, 2) float32, visible (B, N, 17))``: one or two seeded people per
    image of ``POSE["input_size"]`` (posed by jittering ``JOINTS``, scaled, placed, some joints
    invisible), padded to ``instances`` with invisible ones."""
    rng = np.random.default_rng(seed)
    in_h, in_w = POSE["input_size"]
    height = rng.uniform(0.5, 0.95, (images, instances, 1, 1)) * in_h
    shape = JOINTS + rng.normal(0, 0.025, (images, instances, 17, 2))
    shape[..., 0] *= rng.choice([-1.0, 1.0], (images, instances, 1))  # facing either way
    centre = rng.uniform([0.2 * in_w, 0.0], [0.8 * in_w, 0.3 * in_h], (images, instances, 1, 2))
    keypoints = (shape * height + centre).astype(np.float32)
    visible = (rng.uniform(size=(images, instances, 17)) < 0.85).astype(np.float32)
    visible[:, 1:] *= rng.uniform(size=(images, instances - 1, 1)) < 0.5  # a second person, or padding
    return keypoints, visible


def encode(mode: str, seed: int, images: int, method: str = "msra") -> tuple:
    """A seeded batch of ``images`` images and its targets: COCO-like detections (CornerNet's
    sizes), or, for the pose modes, ``(keypoints, visible)`` of ``people`` (``POSE``,
    ``SIMCC``, ``BOTTOM_UP``)."""
    if mode in POSE_MODES:
        keypoints, visible = people(seed, images)
        if mode == "simcc":
            targets = fastheat.encode_simcc(keypoints, visible, **SIMCC)
        elif mode == "associative_embedding":
            targets = fastheat.encode_associative_embedding(keypoints, visible, **BOTTOM_UP,
                                                            use_udp=method == "udp")
        else:
            targets = fastheat.encode_keypoints(keypoints, visible, **POSE, method=method)
        return (keypoints, visible), targets
    if mode == "centerpoint":
        boxes = nuscenes_like_boxes(seed, batch_size=images, boxes_per_scene=BOXES_PER_SCENE)
        return boxes, fastheat.encode_centerpoint(boxes, batch_size=images, **NUSCENES)
    if mode == "deeplabcut":
        keypoints, visible = people(seed, images)
        return (keypoints, visible), fastheat.encode_deeplabcut(
            keypoints, visible, heatmap_size=POSE["heatmap_size"], stride=STRIDES[mode])
    if mode == "openpose":
        keypoints, visible = people(seed, images)
        neck = keypoints[:, :, 5:7].mean(axis=2, keepdims=True)
        keypoints = np.concatenate([keypoints, neck], axis=2)[:, :, OPENPOSE_ORDER]
        visible = np.concatenate([visible, visible[:, :, 5:7].min(axis=2, keepdims=True)],
                                 axis=2)[:, :, OPENPOSE_ORDER]
        return (keypoints, visible), fastheat.encode_openpose(
            keypoints, visible, limbs=OPENPOSE_LIMBS, input_size=POSE["input_size"],
            stride=STRIDES[mode])
    detections = coco_like_detections(seed, batch_size=images)
    encoder = fastheat.encode_cornernet if mode == "cornernet" else fastheat.encode_centernet
    return detections, encoder(detections, batch_size=images, **SIZES)


def pose_scale(method: str, sizes: dict = POSE) -> NDArray[np.float32]:
    """mmpose's float32 ``scale_factor`` ``(x, y)``: input pixels per heatmap cell."""
    (in_h, in_w), (out_h, out_w) = sizes["input_size"], sizes["heatmap_size"]
    if method == "udp":
        return ((np.array([in_w, in_h]) - 1) / (np.array([out_w, out_h]) - 1)).astype(np.float32)
    return (np.array([in_w, in_h]) / [out_w, out_h]).astype(np.float32)


def joint_cells(annotations: tuple, targets, image: int, method: str) -> NDArray[np.int64]:
    """``(x, y)`` cells of the image's visible joints with a weight (``int(x + 0.5)``)."""
    keypoints, _ = annotations
    cells = (keypoints[image] / pose_scale(method) + np.float32(0.5)).astype(np.int64)
    return cells[targets.weights[image] > 0].reshape(-1, 2)


def decode(ind: NDArray[np.int64], mask: NDArray, out_w: int) -> NDArray[np.int64]:
    """``(x, y)`` of the flat indices ``ind`` where ``mask`` is set."""
    ind = ind[mask.astype(bool)]
    return np.column_stack([ind % out_w, ind // out_w])


def panels(mode: str, targets: tuple, image: int, annotations=None, method: str = "msra") -> list[Panel]:
    """The heatmap panels of one image (``keypoints`` needs the ``annotations``)."""
    out_w = targets[0].shape[-1]
    if mode == "simcc":
        return [simcc_panel(targets, image)]
    if mode == "associative_embedding":
        indices = targets.keypoint_indices[image].reshape(-1, 2)
        return [Panel(f"{targets.heatmaps.shape[1]} joints", targets.heatmaps[image].max(axis=0),
                      decode(indices[:, 0], indices[:, 1], out_w))]
    if mode in STRIDES:
        keypoints, visible = annotations
        cells = (keypoints[image][visible[image] > 0] // STRIDES[mode]).astype(np.int64)
        if mode == "deeplabcut":
            return [Panel("score maps", targets.heatmaps[image].max(axis=0), cells),
                    Panel("locref mask", targets.locref_mask[image].max(axis=0), cells)]
        pafs = targets.pafs[image]
        lengths = np.hypot(pafs[0::2], pafs[1::2]).max(axis=0)
        return [Panel("keypoint maps", targets.keypoint_maps[image, :-1].max(axis=0), cells),
                Panel("part affinity fields", lengths, cells)]
    if mode == "keypoints":
        return [Panel(f"{targets.heatmaps.shape[1]} joints ({method})",
                      targets.heatmaps[image].max(axis=0),
                      joint_cells(annotations, targets, image, method))]
    if mode == "centerpoint":
        return [Panel(f"{targets.heatmap.shape[1]} classes, {targets.ind.shape[1]} tasks",
                      targets.heatmap[image].max(axis=0),
                      decode(targets.ind[image].ravel(), targets.mask[image].ravel(), out_w))]
    if mode == "cornernet":
        return [Panel(f"{corner} corners", heat[image].max(axis=0),
                      decode(tags[image], targets.tag_masks[image], out_w))
                for corner, heat, tags in (("top-left", targets.tl_heatmaps, targets.tl_tags),
                                           ("bottom-right", targets.br_heatmaps, targets.br_tags))]
    return [Panel("centres", targets.hm[image].max(axis=0),
                  decode(targets.ind[image], targets.reg_mask[image], out_w))]


def simcc_panel(targets, image: int) -> Panel:
    """SimCC's labels of one image as a picture: for each labelled joint, ``y ⊗ x`` scaled to a
    peak of 1, the maximum over the joints; the points are the labels' argmax cells."""
    heat = np.zeros((targets.y_labels.shape[-1], targets.x_labels.shape[-1]), np.float32)
    points = []
    labelled = np.argwhere(targets.weights[image] > 0)
    for n, k in labelled.tolist():
        x, y = targets.x_labels[image, n, k], targets.y_labels[image, n, k]
        outer = y[:, None] * x[None, :]
        np.maximum(heat, outer / outer.max(), out=heat)
        points.append((x.argmax(), y.argmax()))
    return Panel(f"{len(labelled)} joints, y ⊗ x labels", heat,
                 np.array(points, np.int64).reshape(-1, 2))


def panel_scale(mode: str, method: str) -> NDArray:
    """Panel cells per input pixel ``(x, y)`` of a pose mode."""
    if mode == "simcc":
        return np.full(2, SIMCC["simcc_split_ratio"], np.float32)
    if mode == "associative_embedding":
        return 1 / pose_scale(method, BOTTOM_UP)
    return 1 / pose_scale(method)


def panel_image(heat: NDArray) -> NDArray[np.uint8]:
    """The RGB picture of a heatmap (one pixel per cell), as the figure shows it."""
    from matplotlib import colormaps

    return colormaps[COLORMAP](np.clip(heat, 0.0, 1.0), bytes=True)[..., :3]


def render(mode: str, detections, targets: tuple, images: int, out: str,
           method: str = "msra") -> list[list[Panel]]:
    """Draw the first ``images`` images' panels, boxes (skeletons) and points into the PNG
    ``out``; ``detections`` are ``(keypoints, visible)`` for ``keypoints``.

    Returns the panels drawn, one list per image.
    """
    if mode in POSE_MODES:
        return _render_people(mode, detections, targets, images, out, method)
    if mode == "centerpoint":
        return _render_scenes(detections, targets, images, out)
    if mode in STRIDES:
        return _render_maps(mode, detections, targets, images, out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    (in_h, in_w), (out_h, out_w) = SIZES["input_size"], SIZES["output_size"]
    ratios = [out_w / in_w, out_h / in_h] * 2
    rows = [panels(mode, targets, image) for image in range(images)]
    figure, axes = plt.subplots(images, len(rows[0]), squeeze=False,
                                figsize=(3.2 * len(rows[0]), 3.2 * images))
    for image, (row, row_axes) in enumerate(zip(rows, axes)):
        boxes = detections[detections[:, 0] == image, 2:] * ratios
        for panel, ax in zip(row, row_axes):
            ax.imshow(panel_image(panel.heat), interpolation="nearest")  # cell (x, y) at (x, y)
            for x1, y1, x2, y2 in boxes:  # continuous coordinates: cell i spans [i - .5, i + .5)
                ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                                       edgecolor="cyan", linewidth=0.8))
            _mark_points(ax, panel, image, out_h, out_w)
    figure.suptitle(f"{mode} targets\n{len(detections)} boxes, max over {SIZES['num_classes']} classes",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return rows


def _mark_points(ax, panel, image: int, out_h: int, out_w: int) -> None:
    """The panel's decoded points over its heatmap, the map's extent, its title, no ticks."""
    ax.scatter(panel.points[:, 0], panel.points[:, 1], s=14, marker="+", c="lime", linewidths=0.8)
    ax.set_xlim(-0.5, out_w - 0.5)
    ax.set_ylim(out_h - 0.5, -0.5)
    ax.set_title(f"image {image}: {panel.title}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def _render_people(mode: str, annotations: tuple, targets, images: int, out: str, method: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keypoints, visible = annotations
    rows = [panels(mode, targets, image, annotations, method) for image in range(images)]
    out_h, out_w = rows[0][0].heat.shape
    columns = min(images, 4)
    lines = -(-images // columns)
    figure, axes = plt.subplots(lines, columns, squeeze=False,
                                figsize=(2.6 * columns, 3.3 * lines))
    for ax in axes.ravel()[images:]:
        ax.axis("off")
    scale = panel_scale(mode, method)
    for image, (row, ax) in enumerate(zip(rows, axes.ravel())):
        panel = row[0]
        ax.imshow(panel_image(panel.heat), interpolation="nearest")  # cell (x, y) at (x, y)
        for person, seen in zip(keypoints[image] * scale, visible[image]):
            for a, b in SKELETON:  # limbs between visible joints, in heatmap cells
                if seen[a] >= 0.5 and seen[b] >= 0.5:
                    ax.plot(*zip(person[a], person[b]), color="cyan", linewidth=0.8)
        _mark_points(ax, panel, image, out_h, out_w)
    people_drawn = int((visible[:images].max(axis=2) >= 0.5).sum())
    titles = {"keypoints": f"keypoint heatmaps ({method}, sigma {POSE['sigma']:g})",
              "simcc": f"SimCC labels (sigma {SIMCC['sigma']}, split ratio "
                       f"{SIMCC['simcc_split_ratio']:g})",
              "associative_embedding": "associative embedding heatmaps"
                                       f"{' (udp)' if method == 'udp' else ''}"}
    figure.suptitle(f"{titles[mode]}\n{people_drawn} people, max over 17 joints", fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return rows


def footprints(boxes: NDArray) -> NDArray[np.float64]:
    """``(N, 4, 2)``: the corners of each box's bird's-eye-view rectangle (``dx`` along its
    yaw, ``dy`` across), in continuous heatmap cells of ``NUSCENES`` (cell ``i`` spans
    ``[i, i + 1)``)."""
    x, y, dx, dy, yaw = boxes[:, 2], boxes[:, 3], boxes[:, 5], boxes[:, 6], boxes[:, 8]
    corners = np.array([(0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5)])
    along = corners[None, :, 0] * dx[:, None]
    across = corners[None, :, 1] * dy[:, None]
    cos, sin = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    xy = np.stack([x[:, None] + along * cos - across * sin,
                   y[:, None] + along * sin + across * cos], axis=2)
    low = np.array(NUSCENES["point_cloud_range"][:2])
    cell = np.array(NUSCENES["voxel_size"][:2]) * NUSCENES["out_size_factor"]
    return (xy - low) / cell


def _render_scenes(boxes: NDArray, targets, images: int, out: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    out_h, out_w = targets.heatmap.shape[2:]
    rows = [panels("centerpoint", targets, image) for image in range(images)]
    columns = min(images, 2)
    lines = -(-images // columns)
    figure, axes = plt.subplots(lines, columns, squeeze=False,
                                figsize=(4.2 * columns, 4.4 * lines))
    for ax in axes.ravel()[images:]:
        ax.axis("off")
    for image, (row, ax) in enumerate(zip(rows, axes.ravel())):
        panel = row[0]
        ax.imshow(panel_image(panel.heat), interpolation="nearest")  # cell (x, y) at (x, y)
        for corners in footprints(boxes[boxes[:, 0] == image]):  # pixel x spans [x - .5, x + .5)
            ax.add_patch(Polygon(corners - 0.5, closed=True, fill=False, edgecolor="cyan",
                                 linewidth=0.6))
        _mark_points(ax, panel, image, out_h, out_w)
        ax.set_ylim(-0.5, out_h - 0.5)  # y up: a bird's-eye view
        ax.set_title(f"scene {image}: {panel.title}", fontsize=9)
    figure.suptitle(f"CenterPoint BEV heatmaps (mmdetection3d nuScenes setting, "
                    f"{out_h} x {out_w})\n{int((boxes[:, 0] < images).sum())} boxes, "
                    f"{int(targets.mask[:images].sum())} on the map, max over the classes",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return rows


def _render_maps(mode: str, annotations: tuple, targets, images: int, out: str):
    """DeepLabCut's or OpenPose's panels, one row per image, the drawn keypoints on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [panels(mode, targets, image, annotations) for image in range(images)]
    out_h, out_w = targets[0].shape[-2:]
    figure, axes = plt.subplots(images, len(rows[0]), squeeze=False,
                                figsize=(2.6 * len(rows[0]), 3.3 * images))
    for image, (row, row_axes) in enumerate(zip(rows, axes)):
        for panel, ax in zip(row, row_axes):
            ax.imshow(panel_image(panel.heat), interpolation="nearest")  # cell (x, y) at (x, y)
            _mark_points(ax, panel, image, out_h, out_w)
    figure.suptitle(f"{mode} targets (stride {STRIDES[mode]})", fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="targets.png", help="PNG to write (default: targets.png)")
    parser.add_argument("--mode", choices=MODES, default="cornernet")
    parser.add_argument("--method", choices=("msra", "udp", "dark"), default="msra",
                        help="keypoint heatmaps' method (--mode keypoints; udp also for "
                             "--mode associative_embedding; default: msra)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=4, help="images to draw (default: 4)")
    args = parser.parse_args(argv)
    if args.images < 1:
        parser.error("--images must be >= 1")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("show_targets.py needs matplotlib: pip install -e .[plot]  (or: pip install matplotlib)",
              file=sys.stderr)
        return 2
    detections, targets = encode(args.mode, args.seed, args.images, args.method)
    render(args.mode, detections, targets, args.images, args.out, args.method)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
