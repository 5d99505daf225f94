"""fastheat: Gaussian keypoint heatmap training targets (CornerNet, CenterNet), fast."""

from ._threads import default_num_threads
from .corners import CornerEncoder, CornerHeatmaps, encode_corners
from ._warmup import warmup
from .gaussian import draw_gaussian, gaussian2d, gaussian_radius

__all__ = [
    "CornerEncoder",
    "CornerHeatmaps",
    "default_num_threads",
    "draw_gaussian",
    "encode_corners",
    "gaussian2d",
    "gaussian_radius",
    "warmup",
]
__version__ = "0.1.0"
