"""mmpose codecs whose targets fastheat computes, built from a config (needs mmpose 1.x).

In an mmpose config::

    custom_imports = dict(imports=["fastheat.mmpose"])
    codec = dict(type="fastheat.MSRAHeatmap", input_size=(192, 256), heatmap_size=(48, 64),
                 sigma=2)

Importing this module adds a child registry of scope ``fastheat`` to mmpose's
``KEYPOINT_CODECS`` (mmengine's scoped names), holding:

* ``fastheat.MSRAHeatmap``: mmpose's ``MSRAHeatmap`` (``unbiased=False``: ``method="msra"``;
  ``unbiased=True``, DarkPose: ``method="dark"``);
* ``fastheat.UDPHeatmap``: mmpose's ``UDPHeatmap`` with ``heatmap_type="gaussian"``
  (``method="udp"``);
* ``fastheat.SimCCLabel``: mmpose's ``SimCCLabel`` (``fastheat.encode_simcc``);
* ``fastheat.AssociativeEmbedding``: mmpose's ``AssociativeEmbedding``
  (``fastheat.encode_associative_embedding``).

Each subclasses mmpose's codec (same constructor arguments and attributes; ``decode`` and the
mapping tables are mmpose's). ``encode(keypoints, keypoints_visible)`` returns mmpose's dict,
same keys, dtypes and bits, computed by the fastheat family; ``batch_encode`` takes a batch,
``(B, N, K, 2)`` and ``(B, N, K)``, and returns the same keys with a batch axis, equal to
``encode`` image by image, in one call.

The bits are mmpose's for keypoints that mmpose computes in float32: for the heatmap codecs and
``AssociativeEmbedding``, whose division by the codec's float32 scale mmpose computes in
float32, float32 keypoints (what mmpose's pipeline holds), and float16 or 8/16-bit integers;
for ``SimCCLabel``, which multiplies them by a Python float, float32 keypoints only (float16
stays float16, integers become float64). Keypoints of any other dtype are encoded by mmpose's
own code, as it computes them (a ``RuntimeWarning`` once per process says so: cast them to
float32 for fastheat's speed), and so are images of no keypoints (``K == 0``).

Adding a codec: subclass ``FastheatCodec`` and mmpose's codec, check the options fastheat
cannot reproduce in ``__init__`` (``unsupported``, ``check_options``), implement
``_encode_batch`` (the batch from the fastheat family, in mmpose's keys, ``keypoint_weights``
through ``mmpose_weights``), set ``single_instance = False`` if mmpose's ``encode`` takes
several instances, override ``computes_as_mmpose`` if mmpose computes the keypoints otherwise
than by a float32 scale, and add the class to ``CODECS`` at the bottom of this file: that
registers it as ``fastheat.<its name>``.
"""

from __future__ import annotations

import numbers
import warnings
from typing import ClassVar

import numpy as np

try:
    from mmengine.registry import Registry
    from mmpose import codecs as mmpose_codecs
    from mmpose.registry import KEYPOINT_CODECS
except ImportError as error:  # mmpose is not a dependency of fastheat
    raise ImportError(
        f"fastheat.mmpose needs mmpose (tested with 1.3.2) and the packages its codecs import "
        f"({error}): pip install --no-deps mmpose==1.3.2 && pip install mmengine mmcv-lite "
        f"opencv-python-headless munkres scipy torch") from error

from .associative_embedding import ASSOCIATIVE_EMBEDDING, encode_associative_embedding
from .keypoints import MAX_SIGMA, MIN_SIGMA, encode_keypoints
from .simcc import SIMCC, encode_simcc

__all__ = ["AssociativeEmbedding", "CODECS", "FASTHEAT_CODECS", "FastheatCodec", "MSRAHeatmap",
           "SimCCLabel", "UDPHeatmap"]

#: mmpose's ``KEYPOINT_CODECS``' child of scope ``fastheat`` (the existing one if a module
#: already made it): ``dict(type="fastheat.MSRAHeatmap")`` builds from it.
FASTHEAT_CODECS = KEYPOINT_CODECS.children.get("fastheat")
if FASTHEAT_CODECS is None:  # (an empty Registry is falsy: no ``or``)
    FASTHEAT_CODECS = Registry("KEYPOINT_CODECS", parent=KEYPOINT_CODECS, scope="fastheat",
                               locations=["fastheat.mmpose"])

_warned_fallback = False


def unsupported(codec: str, option: str, value, reason: str) -> ValueError:
    """The construction error for an option fastheat does not reproduce."""
    return ValueError(f"fastheat.{codec}: {option}={value!r} is not supported ({reason}); use "
                      f"mmpose's own {codec} for it")


def check_size(codec: str, name: str, value, minimum: int) -> tuple[int, int]:
    """mmpose's ``[w, h]`` size as fastheat's ``(height, width)``: two integers >= ``minimum``."""
    if not (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 2 and all(
            isinstance(side, numbers.Integral) and not isinstance(side, (bool, np.bool_))
            and side >= minimum for side in value)):
        raise ValueError(f"fastheat.{codec}: {name} must be [w, h], two integers >= {minimum}, "
                         f"got {value!r}")
    return int(value[1]), int(value[0])


def check_sigma(codec: str, sigma) -> None:
    """A Python int or float sigma: mmpose's arithmetic with a NumPy scalar (float64 or float32)
    is not the one fastheat reproduces."""
    if type(sigma) not in (int, float):
        raise TypeError(f"fastheat.{codec}: sigma must be a Python int or float, got "
                        f"{type(sigma).__name__} {sigma!r} (mmpose computes a NumPy scalar "
                        f"sigma's Gaussian in its dtype: pass float(sigma))")
    if not MIN_SIGMA <= sigma <= MAX_SIGMA:
        raise ValueError(f"fastheat.{codec}: sigma must be in [{MIN_SIGMA}, {MAX_SIGMA:g}], "
                         f"got {sigma!r}")


def check_python_number(codec: str, name: str, value) -> None:
    """A Python int or float: mmpose computes float32 keypoints with a NumPy scalar in another
    precision than the one fastheat reproduces (NEP 50)."""
    if type(value) not in (int, float):
        raise TypeError(f"fastheat.{codec}: {name} must be a Python int or float, got "
                        f"{type(value).__name__} {value!r} (mmpose computes with a NumPy "
                        f"scalar {name} in its dtype: pass float({name}))")


def check_options(codec: str, family, options: dict) -> None:
    """The fastheat family's own check of the options (its errors, named after the codec)."""
    try:
        family.spec(options)
    except (TypeError, ValueError) as error:
        raise type(error)(f"fastheat.{codec}: {error}") from error


def computed_in_float32(keypoints: np.ndarray) -> bool:
    """Whether mmpose divides these keypoints by its float32 scale factor in float32."""
    return keypoints.dtype.kind in "fiu" and np.promote_types(keypoints.dtype,
                                                              np.float32) == np.float32


def exact_in_float64(visible: np.ndarray) -> bool:
    """Whether fastheat's float64 copy of the visibilities compares with 0.5 as they do."""
    return visible.dtype.kind in "biu" or (visible.dtype.kind == "f" and visible.itemsize <= 8)


def mmpose_weights(visible: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """mmpose's ``keypoint_weights``: a copy of ``visible`` (its dtype), 0 where a keypoint was
    visible (``>= 0.5``) but fastheat's ``weights`` are 0 (its window missed the map)."""
    result = visible.copy()
    result[(visible >= 0.5) & (weights == 0)] = 0
    return result


class FastheatCodec:
    """What every fastheat codec adds to its mmpose codec (put it first among the bases):
    ``encode`` and ``batch_encode`` through ``_encode_batch``, with the input checks and
    mmpose's own code for keypoints fastheat does not compute as mmpose does."""

    #: mmpose's ``encode`` takes one instance only (``keypoints.shape[0] == 1``).
    single_instance: ClassVar[bool] = True

    @staticmethod
    def computes_as_mmpose(keypoints: np.ndarray) -> bool:
        """Whether fastheat computes these keypoints in mmpose's precision (else mmpose's own
        code encodes them): the heatmap codecs' division by a float32 scale."""
        return computed_in_float32(keypoints)

    def encode(self, keypoints, keypoints_visible=None) -> dict:
        """mmpose's ``encode``, computed by fastheat: see the module docstring.

        Parameters
        ----------
        keypoints : np.ndarray, shape (N, K, 2)
            In input pixels (``N == 1`` for the heatmap codecs, as for mmpose's).
        keypoints_visible : np.ndarray, shape (N, K), optional
            Default: float32 ones. ``keypoint_weights`` has its dtype.
        """
        keypoints, visible = self._checked(keypoints, keypoints_visible, batched=False)
        if left_to_mmpose(keypoints, visible, self.computes_as_mmpose):
            return super().encode(keypoints, visible)
        return {key: value[0] for key, value in self._encode_batch(keypoints[None],
                                                                   visible[None]).items()}

    def batch_encode(self, keypoints, keypoints_visible=None, *, num_threads=None) -> dict:
        """``encode`` of every image of a batch in one call, its outputs stacked.

        Parameters
        ----------
        keypoints : np.ndarray, shape (B, N, K, 2)
        keypoints_visible : np.ndarray, shape (B, N, K), optional
            Default: float32 ones.
        num_threads : int, optional
            As for ``fastheat.encode_keypoints`` (default: fastheat's thread policy).

        Returns
        -------
        dict
            ``encode``'s keys, each value with a batch axis first (e.g. ``heatmaps`` ``(B, K,
            H, W)``, ``keypoint_weights`` ``(B, N, K)``): equal to
            ``np.stack([encode(keypoints[b], keypoints_visible[b])[key] for b in range(B)])``.
        """
        keypoints, visible = self._checked(keypoints, keypoints_visible, batched=True)
        if left_to_mmpose(keypoints, visible, self.computes_as_mmpose):
            encoded = [super(FastheatCodec, self).encode(k, v) for k, v in zip(keypoints, visible)]
            return {key: np.stack([e[key] for e in encoded]) for key in encoded[0]}
        return self._encode_batch(keypoints, visible, num_threads)

    def _encode_batch(self, keypoints: np.ndarray, visible: np.ndarray,
                      num_threads=None) -> dict:
        """mmpose's keys for a batch: ``keypoints`` ``(B, N, K, 2)`` of a dtype fastheat computes
        as mmpose, ``visible`` ``(B, N, K)``, on ``num_threads`` threads."""
        raise NotImplementedError

    def _checked(self, keypoints, keypoints_visible, batched: bool):
        """``(keypoints, visible)`` as arrays of the shapes ``encode`` (``batched=False``) or
        ``batch_encode`` takes, the visibilities defaulting to float32 ones (mmpose's)."""
        name = f"fastheat.{type(self).__name__}.{'batch_encode' if batched else 'encode'}"
        keypoints = np.asarray(keypoints)
        shape, visible_shape = (("(B, N, K, 2)", "(B, N, K)") if batched
                                else ("(N, K, 2)", "(N, K)"))
        if keypoints.ndim != 3 + batched or keypoints.shape[-1] != 2:
            raise ValueError(f"{name}: keypoints must be {shape}, got shape {keypoints.shape}")
        if batched and keypoints.shape[0] == 0:
            raise ValueError(f"{name}: keypoints must hold at least one image (B >= 1 in "
                             f"{shape}), got shape {keypoints.shape}")
        if self.single_instance and keypoints.shape[-3] != 1:
            raise ValueError(f"{name}: keypoints must hold one instance (N == 1 in {shape}), as "
                             f"mmpose's {type(self).__name__} takes, got shape {keypoints.shape}")
        if keypoints_visible is None:
            return keypoints, np.ones(keypoints.shape[:-1], np.float32)
        visible = np.asarray(keypoints_visible)
        if visible.shape != keypoints.shape[:-1]:
            raise ValueError(f"{name}: keypoints_visible must be {visible_shape} = "
                             f"{keypoints.shape[:-1]} like keypoints, got shape {visible.shape}")
        return keypoints, visible


def left_to_mmpose(keypoints: np.ndarray, visible: np.ndarray, computes_as_mmpose) -> bool:
    """Whether mmpose's own code encodes these: no keypoints (``K == 0``: empty maps), or
    dtypes mmpose computes in another precision than the one fastheat reproduces
    (``computes_as_mmpose(keypoints)`` false; a warning, once per process)."""
    if keypoints.shape[-2] == 0:
        return True
    if computes_as_mmpose(keypoints) and exact_in_float64(visible):
        return False
    global _warned_fallback
    if not _warned_fallback:
        _warned_fallback = True
        warnings.warn(
            f"fastheat.mmpose: keypoints of dtype {keypoints.dtype} (visibilities "
            f"{visible.dtype}) are encoded by mmpose's own code, which computes them in another "
            f"precision than the float32 fastheat reproduces: pass float32 keypoints, as "
            f"mmpose's pipeline does, for fastheat's speed", RuntimeWarning, stacklevel=3)
    return True


class _HeatmapCodec(FastheatCodec):
    """A codec whose targets are ``encode_keypoints(..., method=self._method)``."""

    _method: str
    _sizes: dict

    def _encode_batch(self, keypoints: np.ndarray, visible: np.ndarray,
                      num_threads=None) -> dict:
        targets = encode_keypoints(keypoints, visible.astype(np.float64), sigma=self.sigma,
                                   method=self._method, num_threads=num_threads, **self._sizes)
        return dict(heatmaps=targets.heatmaps,
                    keypoint_weights=mmpose_weights(visible, targets.weights))


class MSRAHeatmap(_HeatmapCodec, mmpose_codecs.MSRAHeatmap):
    """mmpose's ``MSRAHeatmap`` (``unbiased=True``: DarkPose), targets by
    ``fastheat.encode_keypoints`` (``method="msra"`` or ``"dark"``).

    Parameters are mmpose's: ``input_size`` and ``heatmap_size`` ``[w, h]`` (integers),
    ``sigma`` (a Python int or float; mmpose also takes a per-instance list, which fastheat
    does not), ``unbiased``, ``blur_kernel_size`` (decoding only).
    """

    def __init__(self, input_size, heatmap_size, sigma, unbiased=False, blur_kernel_size=11):
        name = type(self).__name__
        check_sigma(name, sigma)
        self._sizes = dict(input_size=check_size(name, "input_size", input_size, 1),
                           heatmap_size=check_size(name, "heatmap_size", heatmap_size, 1))
        self._method = "dark" if unbiased else "msra"
        super().__init__(input_size=input_size, heatmap_size=heatmap_size, sigma=sigma,
                         unbiased=unbiased, blur_kernel_size=blur_kernel_size)


class UDPHeatmap(_HeatmapCodec, mmpose_codecs.UDPHeatmap):
    """mmpose's ``UDPHeatmap`` with ``heatmap_type="gaussian"``, targets by
    ``fastheat.encode_keypoints(..., method="udp")``.

    Parameters are mmpose's: ``input_size`` and ``heatmap_size`` ``[w, h]`` (integers >= 2),
    ``heatmap_type`` (``"gaussian"`` only: ``"combined"``, the offset maps, raises),
    ``sigma`` (a Python int or float), ``radius_factor`` (used by ``"combined"`` only),
    ``blur_kernel_size`` (decoding only).
    """

    def __init__(self, input_size, heatmap_size, heatmap_type="gaussian", sigma=2.0,
                 radius_factor=0.0546875, blur_kernel_size=11):
        name = type(self).__name__
        if heatmap_type != "gaussian":
            raise unsupported(name, "heatmap_type", heatmap_type,
                              "fastheat computes the Gaussian heatmaps only, not the offset maps")
        check_sigma(name, sigma)
        self._sizes = dict(input_size=check_size(name, "input_size", input_size, 2),
                           heatmap_size=check_size(name, "heatmap_size", heatmap_size, 2))
        self._method = "udp"
        super().__init__(input_size=input_size, heatmap_size=heatmap_size,
                         heatmap_type=heatmap_type, sigma=sigma, radius_factor=radius_factor,
                         blur_kernel_size=blur_kernel_size)


class SimCCLabel(FastheatCodec, mmpose_codecs.SimCCLabel):
    """mmpose's ``SimCCLabel`` (RTMPose), labels by ``fastheat.encode_simcc``.

    Parameters are mmpose's: ``input_size`` ``[w, h]`` (integers), ``smoothing_type``,
    ``sigma`` (a Python int or float, or a pair of them), ``simcc_split_ratio`` and
    ``label_smooth_weight`` (Python ints or floats), ``normalize``, and ``use_dark``,
    ``decode_visibility``, ``decode_beta`` (decoding only). ``encode`` takes several instances;
    only float32 keypoints are computed by fastheat (see the module docstring).
    """

    single_instance = False

    @staticmethod
    def computes_as_mmpose(keypoints: np.ndarray) -> bool:
        """mmpose multiplies the keypoints by a Python float: float32 only stays float32."""
        return keypoints.dtype == np.float32

    def __init__(self, input_size, smoothing_type="gaussian", sigma=6.0, simcc_split_ratio=2.0,
                 label_smooth_weight=0.0, normalize=True, use_dark=False,
                 decode_visibility=False, decode_beta=150.0):
        name = type(self).__name__
        for value in sigma if isinstance(sigma, (tuple, list)) else (sigma,):
            check_python_number(name, "sigma", value)
        check_python_number(name, "simcc_split_ratio", simcc_split_ratio)
        check_python_number(name, "label_smooth_weight", label_smooth_weight)
        self._options = dict(input_size=check_size(name, "input_size", input_size, 1),
                             sigma=tuple(sigma) if isinstance(sigma, list) else sigma,
                             simcc_split_ratio=simcc_split_ratio, smoothing_type=smoothing_type,
                             label_smooth_weight=label_smooth_weight, normalize=normalize)
        check_options(name, SIMCC, self._options)
        super().__init__(input_size=input_size, smoothing_type=smoothing_type, sigma=sigma,
                         simcc_split_ratio=simcc_split_ratio,
                         label_smooth_weight=label_smooth_weight, normalize=normalize,
                         use_dark=use_dark, decode_visibility=decode_visibility,
                         decode_beta=decode_beta)

    def _encode_batch(self, keypoints: np.ndarray, visible: np.ndarray,
                      num_threads=None) -> dict:
        targets = encode_simcc(keypoints, visible.astype(np.float64), num_threads=num_threads,
                               **self._options)
        return dict(keypoint_x_labels=targets.x_labels, keypoint_y_labels=targets.y_labels,
                    keypoint_weights=mmpose_weights(visible, targets.weights))


class AssociativeEmbedding(FastheatCodec, mmpose_codecs.AssociativeEmbedding):
    """mmpose's ``AssociativeEmbedding`` (HigherHRNet), targets by
    ``fastheat.encode_associative_embedding``.

    Parameters are mmpose's: ``input_size`` and ``heatmap_size`` ``[w, h]`` (integers, >= 2
    with ``use_udp``), ``sigma`` (a Python int or float, default mmpose's ``sqrt(W * H) / 64``;
    mmpose also takes a per-instance list, which fastheat does not), ``use_udp``, and the
    ``decode_*`` options (decoding only). ``encode`` takes several instances.
    """

    single_instance = False

    def __init__(self, input_size, heatmap_size, sigma=None, use_udp=False,
                 decode_keypoint_order=[],  # mmpose's default (its __init__ copies it)
                 decode_nms_kernel=5, decode_gaussian_kernel=3, decode_keypoint_thr=0.1,
                 decode_tag_thr=1.0, decode_topk=30, decode_center_shift=0.0,
                 decode_max_instances=None):
        name = type(self).__name__
        if sigma is not None:
            check_sigma(name, sigma)
        self._options = dict(input_size=check_size(name, "input_size", input_size, 1),
                             heatmap_size=check_size(name, "heatmap_size", heatmap_size, 1),
                             sigma=sigma, use_udp=use_udp)  # (use_udp's sizes: the family's)
        check_options(name, ASSOCIATIVE_EMBEDDING, self._options)
        super().__init__(input_size=input_size, heatmap_size=heatmap_size, sigma=sigma,
                         use_udp=use_udp, decode_keypoint_order=decode_keypoint_order,
                         decode_nms_kernel=decode_nms_kernel,
                         decode_gaussian_kernel=decode_gaussian_kernel,
                         decode_keypoint_thr=decode_keypoint_thr, decode_tag_thr=decode_tag_thr,
                         decode_topk=decode_topk, decode_center_shift=decode_center_shift,
                         decode_max_instances=decode_max_instances)

    def _encode_batch(self, keypoints: np.ndarray, visible: np.ndarray,
                      num_threads=None) -> dict:
        targets = encode_associative_embedding(keypoints, visible.astype(np.float64),
                                               num_threads=num_threads, **self._options)
        return dict(heatmaps=targets.heatmaps, keypoint_indices=targets.keypoint_indices,
                    keypoint_weights=mmpose_weights(visible, targets.keypoint_weights))


#: Every fastheat codec, registered in ``FASTHEAT_CODECS`` under its class name. Add new
#: codecs here (see the module docstring).
CODECS = (MSRAHeatmap, UDPHeatmap, SimCCLabel, AssociativeEmbedding)
for _codec in CODECS:
    FASTHEAT_CODECS.register_module(module=_codec, force=True)
