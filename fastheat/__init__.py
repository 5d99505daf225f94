"""fastheat: Gaussian keypoint heatmap training targets (CornerNet, CenterNet, human pose,
DeepLabCut, OpenPose), fast.

Layout: ``fastheat/_engine/`` is the engine every family plugs into (spec, stamps, the one
stamping kernel, sinks, process state); each family is one module (``cornernet.py``,
``centernet.py``, ``centerpoint.py``, ``keypoints.py``, ``simcc.py``,
``associative_embedding.py``, ``mmdet_centernet.py``, ``mmdet_corner.py``, ``ttfnet.py``,
``deeplabcut.py``, ``openpose.py``);
``gaussian.py`` holds the reference's Gaussian helpers.
"""

from . import workloads
from ._engine.parallel import default_num_threads
from ._engine.profiling import profile_stages
from ._engine.sparse import SparseTargets, collate
from ._warmup import warmup
from .associative_embedding import (AssociativeEmbeddingEncoder, AssociativeEmbeddingTargets,
                                    encode_associative_embedding)
from .centerpoint import CenterPointEncoder, CenterPointTargets, encode_centerpoint
from .centernet import (CenterNetAllTargets, CenterNetCatSpecTargets, CenterNetDenseTargets,
                        CenterNetEncoder, CenterNetTargets, encode_centernet)
from .deeplabcut import (DeepLabCutEncoder, DeepLabCutHeatmaps, DeepLabCutTargets,
                         encode_deeplabcut)
from .cornernet import (CornerEncoder, CornerHeatmaps, CornerNetEncoder, CornerNetTargets,
                        encode_corners, encode_cornernet)
from .gaussian import draw_gaussian, gaussian2d, gaussian_radius
from .keypoints import KeypointEncoder, KeypointTargets, encode_keypoints
from .mmdet_centernet import MmdetCenterNetEncoder, MmdetCenterNetTargets, encode_mmdet_centernet
from .mmdet_corner import (MmdetCornerAllTargets, MmdetCornerCentripetalTargets,
                           MmdetCornerEncoder, MmdetCornerGuidingTargets, MmdetCornerTargets,
                           encode_mmdet_corner)
from .openpose import OpenPoseEncoder, OpenPoseTargets, encode_openpose
from .simcc import SimCCEncoder, SimCCTargets, encode_simcc
from .ttfnet import TTFNetEncoder, TTFNetTargets, encode_ttfnet

__all__ = [
    "AssociativeEmbeddingEncoder",
    "AssociativeEmbeddingTargets",
    "CenterNetAllTargets",
    "CenterNetCatSpecTargets",
    "CenterNetDenseTargets",
    "CenterNetEncoder",
    "CenterNetTargets",
    "CenterPointEncoder",
    "CenterPointTargets",
    "CornerEncoder",
    "CornerHeatmaps",
    "CornerNetEncoder",
    "CornerNetTargets",
    "DeepLabCutEncoder",
    "DeepLabCutHeatmaps",
    "DeepLabCutTargets",
    "KeypointEncoder",
    "KeypointTargets",
    "MmdetCenterNetEncoder",
    "MmdetCenterNetTargets",
    "MmdetCornerAllTargets",
    "MmdetCornerCentripetalTargets",
    "MmdetCornerEncoder",
    "MmdetCornerGuidingTargets",
    "MmdetCornerTargets",
    "OpenPoseEncoder",
    "OpenPoseTargets",
    "SimCCEncoder",
    "SimCCTargets",
    "SparseTargets",
    "TTFNetEncoder",
    "TTFNetTargets",
    "collate",
    "default_num_threads",
    "draw_gaussian",
    "encode_associative_embedding",
    "encode_centernet",
    "encode_centerpoint",
    "encode_cornernet",
    "encode_corners",
    "encode_deeplabcut",
    "encode_keypoints",
    "encode_mmdet_centernet",
    "encode_mmdet_corner",
    "encode_openpose",
    "encode_simcc",
    "encode_ttfnet",
    "gaussian2d",
    "gaussian_radius",
    "profile_stages",
    "warmup",
    "workloads",
]
__version__ = "0.2.0"
