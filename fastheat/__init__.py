"""fastheat: Gaussian keypoint heatmap training targets (CornerNet, CenterNet, human pose,
DeepLabCut, OpenPose), fast.

Layout: ``fastheat/_engine/`` is the engine every family plugs into (spec, stamps, the one
stamping kernel, sinks, process state); ``cornernet.py``, ``centernet.py``, ``keypoints.py``,
``deeplabcut.py`` and ``openpose.py`` are the families;
``gaussian.py`` holds the reference's Gaussian helpers.
"""

from . import workloads
from ._engine.runtime import default_num_threads, profile_stages
from ._engine.sparse import SparseTargets, collate
from ._warmup import warmup
from .centernet import (CenterNetAllTargets, CenterNetCatSpecTargets, CenterNetDenseTargets,
                        CenterNetEncoder, CenterNetTargets, encode_centernet)
from .deeplabcut import (DeepLabCutEncoder, DeepLabCutHeatmaps, DeepLabCutTargets,
                         encode_deeplabcut)
from .cornernet import (CornerEncoder, CornerHeatmaps, CornerNetEncoder, CornerNetTargets,
                        encode_corners, encode_cornernet)
from .gaussian import draw_gaussian, gaussian2d, gaussian_radius
from .keypoints import KeypointEncoder, KeypointTargets, encode_keypoints
from .openpose import OpenPoseEncoder, OpenPoseTargets, encode_openpose

__all__ = [
    "CenterNetAllTargets",
    "CenterNetCatSpecTargets",
    "CenterNetDenseTargets",
    "CenterNetEncoder",
    "CenterNetTargets",
    "CornerEncoder",
    "CornerHeatmaps",
    "CornerNetEncoder",
    "CornerNetTargets",
    "DeepLabCutEncoder",
    "DeepLabCutHeatmaps",
    "DeepLabCutTargets",
    "KeypointEncoder",
    "KeypointTargets",
    "OpenPoseEncoder",
    "OpenPoseTargets",
    "SparseTargets",
    "collate",
    "default_num_threads",
    "draw_gaussian",
    "encode_centernet",
    "encode_corners",
    "encode_cornernet",
    "encode_deeplabcut",
    "encode_keypoints",
    "encode_openpose",
    "gaussian2d",
    "gaussian_radius",
    "profile_stages",
    "warmup",
    "workloads",
]
__version__ = "0.2.0"
