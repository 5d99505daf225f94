"""Draw CornerNet or CenterNet training targets of a COCO-like batch into a PNG.

    python scripts/show_targets.py [--out targets.png] [--mode cornernet|centernet]
                                   [--seed 0] [--images 4]

One row per image; one panel per heatmap (CornerNet: top-left and bottom-right corners,
CenterNet: centres), each the per-pixel maximum over the classes, with the boxes scaled to the
output map and the points decoded from the tags / indices (``x = ind % out_w``,
``y = ind // out_w``) on top. Needs matplotlib: ``pip install -e .[plot]``.
"""

from __future__ import annotations

import argparse
import sys
from typing import NamedTuple, Sequence

import numpy as np
from numpy.typing import NDArray

import fastheat
from fastheat.workloads import CORNERNET, coco_like_detections

SIZES = {key: CORNERNET[key] for key in ("num_classes", "input_size", "output_size")}
COLORMAP = "inferno"  # brightness grows with the value: the hottest cells are the brightest


class Panel(NamedTuple):
    """One heatmap of one image, and the points encoded for it."""

    title: str
    heat: NDArray[np.float32]  # (H, W): maximum over the classes
    points: NDArray[np.int64]  # (P, 2): decoded (x, y) grid cells of the image's boxes


def encode(mode: str, seed: int, images: int) -> tuple[NDArray, tuple]:
    """A seeded COCO-like batch of ``images`` images and its targets (CornerNet's sizes)."""
    detections = coco_like_detections(seed, batch_size=images)
    encoder = fastheat.encode_cornernet if mode == "cornernet" else fastheat.encode_centernet
    return detections, encoder(detections, batch_size=images, **SIZES)


def decode(ind: NDArray[np.int64], mask: NDArray, out_w: int) -> NDArray[np.int64]:
    """``(x, y)`` of the flat indices ``ind`` where ``mask`` is set."""
    ind = ind[mask.astype(bool)]
    return np.column_stack([ind % out_w, ind // out_w])


def panels(mode: str, targets: tuple, image: int) -> list[Panel]:
    """The heatmap panels of one image."""
    out_w = targets[0].shape[-1]
    if mode == "cornernet":
        return [Panel(f"{corner} corners", heat[image].max(axis=0),
                      decode(tags[image], targets.tag_masks[image], out_w))
                for corner, heat, tags in (("top-left", targets.tl_heatmaps, targets.tl_tags),
                                           ("bottom-right", targets.br_heatmaps, targets.br_tags))]
    return [Panel("centres", targets.hm[image].max(axis=0),
                  decode(targets.ind[image], targets.reg_mask[image], out_w))]


def panel_image(heat: NDArray) -> NDArray[np.uint8]:
    """The RGB picture of a heatmap (one pixel per cell), as the figure shows it."""
    from matplotlib import colormaps

    return colormaps[COLORMAP](np.clip(heat, 0.0, 1.0), bytes=True)[..., :3]


def render(mode: str, detections: NDArray, targets: tuple, images: int, out: str) -> list[list[Panel]]:
    """Draw the first ``images`` images' panels, boxes and points into the PNG ``out``.

    Returns the panels drawn, one list per image.
    """
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
            ax.scatter(panel.points[:, 0], panel.points[:, 1], s=14, marker="+", c="lime",
                       linewidths=0.8)
            ax.set_xlim(-0.5, out_w - 0.5)
            ax.set_ylim(out_h - 0.5, -0.5)
            ax.set_title(f"image {image}: {panel.title}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    figure.suptitle(f"{mode} targets\n{len(detections)} boxes, max over {SIZES['num_classes']} classes",
                    fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="targets.png", help="PNG to write (default: targets.png)")
    parser.add_argument("--mode", choices=("cornernet", "centernet"), default="cornernet")
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
    detections, targets = encode(args.mode, args.seed, args.images)
    render(args.mode, detections, targets, args.images, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
