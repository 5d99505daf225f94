"""fastheat: Gaussian keypoint heatmap training targets (CornerNet, CenterNet, human pose), fast.

Layout: ``fastheat/_engine/`` is the engine every family plugs into (spec, stamps, the one
stamping kernel, sinks, process state); ``cornernet.py``, ``centernet.py``, ``centerpoint.py``,
``keypoints.py``, ``simcc.py`` and ``associative_embedding.py`` are the families;
``gaussian.py`` holds the reference's Gaussian helpers.
"""

from . import workloads
from ._engine.runtime import default_num_threads, profile_stages
from ._engine.sparse import SparseTargets, collate
from ._warmup import warmup
from .associative_embedding import (AssociativeEmbeddingEncoder, AssociativeEmbeddingTargets,
                                    encode_associative_embedding)
from .centerpoint import CenterPointEncoder, CenterPointTargets, encode_centerpoint
from .centernet import (CenterNetAllTargets, CenterNetCatSpecTargets, CenterNetDenseTargets,
                        CenterNetEncoder, CenterNetTargets, encode_centernet)
from .cornernet import (CornerEncoder, CornerHeatmaps, CornerNetEncoder, CornerNetTargets,
                        encode_corners, encode_cornernet)
from .gaussian import draw_gaussian, gaussian2d, gaussian_radius
from .keypoints import KeypointEncoder, KeypointTargets, encode_keypoints
from .simcc import SimCCEncoder, SimCCTargets, encode_simcc

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
    "KeypointEncoder",
    "KeypointTargets",
    "SimCCEncoder",
    "SimCCTargets",
    "SparseTargets",
    "collate",
    "default_num_threads",
    "draw_gaussian",
    "encode_associative_embedding",
    "encode_centernet",
    "encode_centerpoint",
    "encode_corners",
    "encode_cornernet",
    "encode_keypoints",
    "encode_simcc",
    "gaussian2d",
    "gaussian_radius",
    "profile_stages",
    "warmup",
    "workloads",
]
__version__ = "0.2.0"
