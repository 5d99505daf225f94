"""fastheat: Gaussian keypoint heatmap training targets (CornerNet, CenterNet), fast."""

from ._threads import default_num_threads
from .corners import CornerEncoder, CornerHeatmaps, encode_corners
from ._warmup import warmup
from .gaussian import draw_gaussian, gaussian2d, gaussian_radius
from .targets import CenterNetTargets, CornerNetTargets, encode_centernet, encode_cornernet

__all__ = [
    "CenterNetTargets",
    "CornerEncoder",
    "CornerHeatmaps",
    "CornerNetTargets",
    "default_num_threads",
    "draw_gaussian",
    "encode_centernet",
    "encode_corners",
    "encode_cornernet",
    "gaussian2d",
    "gaussian_radius",
    "warmup",
]
__version__ = "0.1.0"
