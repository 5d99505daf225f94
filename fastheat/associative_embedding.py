"""The associative-embedding family: bottom-up (HigherHRNet) heatmaps and keypoint indices,
bit-identical to mmpose's ``AssociativeEmbedding`` codec (``encode_associative_embedding``,
``AssociativeEmbeddingEncoder``).

Its heatmaps are mmpose's ``generate_gaussian_heatmaps`` (or, with ``use_udp``,
``generate_udp_gaussian_heatmaps``): the generators of the keypoints family's ``"msra"`` and
``"udp"`` methods, so the family reuses that family's spec, input check and compiled pass
(``fastheat.keypoints``) and adds the keypoint indices, ``[y * W + x, visible]`` of each
keypoint's heatmap cell, in a second compiled pass.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ._engine.api import (CHANNELS, REQUIRED, SLOTS, Encoder, Family, Stamps, check_flag,
                          check_map_size, encode, expand_cells, jit, one_shot, register, runtime)
from .keypoints import (KEYPOINTS, KeypointSpec, keypoint_input, make_keypoint_spec,
                        run_keypoint_pass)

#: What NumPy's float-to-int64 cast gives on x86-64 for NaN, infinities and values beyond
#: int64 (the hardware's "integer indefinite"; the cast is undefined in C).
INT64_INDEFINITE = np.iinfo(np.int64).min


class AssociativeEmbeddingTargets(NamedTuple):
    """Associative-embedding targets for ``B`` images of ``N`` instances of ``K`` keypoints."""

    heatmaps: NDArray[np.float32]  #: (B, K, H, W)
    keypoint_indices: NDArray[np.int64]  #: (B, N, K, 2)
    keypoint_weights: NDArray[np.float32]  #: (B, N, K)


@dataclass(frozen=True)
class AssociativeEmbeddingSpec(KeypointSpec):
    """The keypoints family's spec (``method`` ``"udp"`` with ``use_udp``, else ``"msra"``)
    and ``use_udp``."""

    use_udp: bool = False


def _make_spec(values: dict) -> AssociativeEmbeddingSpec:
    use_udp = check_flag("use_udp", values["use_udp"])
    height, width = check_map_size("heatmap_size", values["heatmap_size"])
    if use_udp and min(*check_map_size("input_size", values["input_size"]), height, width) < 2:
        raise ValueError(f"use_udp=True needs input_size and heatmap_size of at least 2 on each "
                         f"side (its scale is (input - 1) / (heatmap - 1)), got "
                         f"input_size={values['input_size']}, heatmap_size={values['heatmap_size']}")
    sigma = values["sigma"]
    if sigma is None:  # mmpose's default, from the heatmap's [w, h]
        sigma = (width * height)**0.5 / 64
    spec = make_keypoint_spec(dict(values, sigma=sigma, method="udp" if use_udp else "msra"))
    fields = {field.name: getattr(spec, field.name) for field in dataclasses.fields(spec)}
    return AssociativeEmbeddingSpec(**fields, use_udp=use_udp)


def _unbound(spec: AssociativeEmbeddingSpec) -> AssociativeEmbeddingSpec:
    return dataclasses.replace(spec, num_keypoints=0, max_slots=0)


@jit
def _truncated(value):
    """NumPy's ``astype(np.int64)`` of a float on x86-64: truncation, and
    ``INT64_INDEFINITE`` for NaN and values beyond int64."""
    if -9.223372036854775808e18 <= value < 9.223372036854775808e18:
        return np.int64(value)
    return np.int64(INT64_INDEFINITE)


@jit
def _keypoint_indices(keypoints, visible, scale_x, scale_y, width, height, indices):
    """mmpose's ``_encode_keypoint_indices`` for every keypoint, invisible ones too: the cell
    ``(kp / scale + 0.5).astype(np.int64)`` (float32 division and sum, truncated), its index
    ``y * W + x`` (int64, wrapping as NumPy's), and ``visible > 0.5`` with the cell on the map."""
    half = np.float32(0.5)
    batch_size, instances, count = visible.shape
    for b in range(batch_size):
        for n in range(instances):
            for k in range(count):
                x = _truncated(keypoints[b, n, k, 0] / scale_x + half)
                y = _truncated(keypoints[b, n, k, 1] / scale_y + half)
                indices[b, n, k, 0] = y * width + x
                indices[b, n, k, 1] = visible[b, n, k] > 0.5 and 0 <= x < width \
                    and 0 <= y < height


def _run_pass(spec: AssociativeEmbeddingSpec, data, batch_size: int, slots, labels) -> Stamps:
    indices, weights = slots
    stamps = run_keypoint_pass(spec, data, batch_size, (weights,), labels)  # checks the input
    keypoints, visible = data
    scale_x, scale_y = spec.scale
    runtime.call(_keypoint_indices, _keypoint_indices, keypoints, visible, np.float32(scale_x),
                 np.float32(scale_y), spec.output_size[1], spec.output_size[0], indices)
    return stamps


def _warmup(num_threads: int) -> None:
    """Compile (or load) the passes and both Gaussians' kernels, and on one thread the cell
    expansion of fastheat.torch's scatter path."""
    keypoints = np.array([[[[3.0, 5.0], [-40.0, np.nan]]]])
    visible = np.array([[[1.0, 0.0]]])
    for use_udp in (False, True):
        options = dict(input_size=(16, 16), heatmap_size=(8, 8), use_udp=use_udp)
        encode(ASSOCIATIVE_EMBEDDING, (keypoints, visible), None, options, None, num_threads,
               False)
        if num_threads == 1:
            sparse = encode(ASSOCIATIVE_EMBEDDING, (keypoints, visible), None, options, None, 1,
                            True)
            expand_cells(sparse.stamps, 1, sparse.spec.map_shape(1), sparse.spec.gaussian,
                         sparse.spec.dtype)


_POSITIONAL = inspect.Parameter.POSITIONAL_OR_KEYWORD
ASSOCIATIVE_EMBEDDING = register(Family(
    name="associative_embedding", result=AssociativeEmbeddingTargets, maps=1,
    run_pass=_run_pass,
    options=dict(input_size=REQUIRED, heatmap_size=REQUIRED, sigma=None, use_udp=False),
    slots=(((SLOTS, CHANNELS, 2), np.int64), ((SLOTS, CHANNELS), np.float32)),
    make_spec=_make_spec, as_input=keypoint_input, unbound=_unbound, warmup=_warmup,
    spec_type=AssociativeEmbeddingSpec, stamp_arrays=KEYPOINTS.stamp_arrays,
    rendering=("output_size", "dtype", "sigma", "use_udp"),
    inputs=(inspect.Parameter("keypoints", _POSITIONAL),
            inspect.Parameter("visible", _POSITIONAL, default=None)),
))


@one_shot(ASSOCIATIVE_EMBEDDING)
def encode_associative_embedding() -> AssociativeEmbeddingTargets:
    """Encode keypoints as associative-embedding targets (HigherHRNet, bottom-up), bit-identical
    to mmpose's ``AssociativeEmbedding`` codec.

    Image ``b``'s targets are mmpose 1.3.2's ``AssociativeEmbedding(input_size=(w, h),
    heatmap_size=(W, H), sigma=sigma, use_udp=use_udp).encode(keypoints[b], visible[b])``
    (docs/references.md, mmpose associative embedding) for float32 keypoints:

    * ``heatmaps``: ``encode_keypoints(..., method="msra")`` (or ``"udp"`` with ``use_udp``),
      the Gaussians of all instances max-merged per keypoint type, and ``keypoint_weights``
      its weights;
    * ``keypoint_indices``: per keypoint ``[y * W + x, v]``, ``(x, y)`` its heatmap cell
      ``int(kp / scale + 0.5)`` and ``v = 1`` if ``visible > 0.5`` (strictly) and the cell is
      on the map, else 0; invisible keypoints get their index too.

    Parameters
    ----------
    keypoints : array_like, shape (B, N, K, 2)
        ``(x, y)`` in input pixels, as for ``encode_keypoints`` (rounded to float32; keypoints
        with ``visible < 0.5`` may be anything, NaN included).
    visible : array_like, shape (B, N, K), optional
        Visibilities (default all 1).
    input_size, heatmap_size : (int, int) or int
        ``(height, width)`` (mmpose writes ``[w, h]``); with ``use_udp`` every side >= 2.
    sigma : float, optional
        The Gaussian's standard deviation in heatmap cells, in ``[1e-6, 1e6]``; default
        mmpose's ``sqrt(W * H) / 64``.
    use_udp : bool, default False
        UDP's scale ``(input - 1) / (heatmap - 1)`` and sub-pixel Gaussian centres.
    out : AssociativeEmbeddingTargets or tuple of 3 arrays, optional
        Arrays of the result's shapes and dtypes, overwritten entirely and returned.
    sparse, image_ids, num_threads
        As for ``encode_corners``.

    Returns
    -------
    AssociativeEmbeddingTargets or SparseTargets
        ``heatmaps`` float32 ``(B, K, H, W)``, ``keypoint_indices`` int64 ``(B, N, K, 2)``,
        ``keypoint_weights`` float32 ``(B, N, K)``.

    Raises
    ------
    TypeError, ValueError
        On any invalid argument, naming it (for ``keypoints`` and ``visible``, the first
        offending entry ``[b, n, k]``); ``out`` is then left untouched.

    Notes
    -----
    The index of a keypoint whose cell is NaN or beyond int64 (possible for invisible ones
    only) comes from a float-to-int64 cast that C leaves undefined; fastheat gives NumPy's
    result on x86-64 (``-2**63`` for the coordinate) on every machine.
    """


class AssociativeEmbeddingEncoder(Encoder):
    """``encode_associative_embedding`` into a reused heatmap buffer: see ``CornerEncoder``.

    ``encoder(keypoints, visible=None, copy=False, image_ids=None)`` returns
    ``AssociativeEmbeddingTargets`` bit-identical to ``encode_associative_embedding`` with the
    same options; the heatmaps are a read-only view valid until the next call (a fresh array
    with ``copy=True``), the indices and weights are fresh every call.
    """

    family = ASSOCIATIVE_EMBEDDING

    def __call__(self, keypoints, visible=None, *, copy: bool = False, image_ids=None):
        return self._encode_own((keypoints, visible), image_ids, copy)
