"""fastheat: Gaussian keypoint heatmap training targets (CornerNet, CenterNet), fast."""

from ._threads import default_num_threads
from .corners import CornerHeatmaps, encode_corners
from .gaussian import draw_gaussian, gaussian2d, gaussian_radius

__all__ = [
    "CornerHeatmaps",
    "default_num_threads",
    "draw_gaussian",
    "encode_corners",
    "gaussian2d",
    "gaussian_radius",
]
__version__ = "0.1.0"
