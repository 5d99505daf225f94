"""encode_simcc and encode_associative_embedding against mmpose 1.3.2's own SimCCLabel and
AssociativeEmbedding codecs, image by image, bit for bit (tests/ compares them with the
transcriptions in tests/naive.py; this compares with the library itself)."""

import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmpose.codecs import AssociativeEmbedding, SimCCLabel

import fastheat


def assert_same(got, want, where):
    assert (got.dtype, got.shape) == (want.dtype, want.shape), where
    assert got.tobytes() == want.tobytes(), where


def keypoints_of(rng, shape, width, height):
    """float32 keypoints inside, near and off an image ``width x height``, some exactly on
    half cells, and visibilities around 0.5 (NaN keypoints where invisible)."""
    keypoints = rng.uniform(-0.3, 1.3, (*shape, 2)) * [width, height]
    halves = rng.uniform(size=(*shape, 2)) < 0.3
    keypoints[halves] = np.floor(keypoints[halves]) + 0.5
    visible = rng.choice([1.0, 1.0, 0.0, 0.5, 0.49, 0.51, 2.0], shape).astype(np.float32)
    keypoints = keypoints.astype(np.float32)
    keypoints[(visible < 0.5) & (rng.uniform(size=shape) < 0.2)] = np.nan
    return keypoints, visible


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), height=st.integers(2, 300), width=st.integers(2, 300),
       ratio=st.sampled_from([1.0, 2.0, 1.5, 2.5, 0.5, 1.7, 3.0]),
       sigma=st.one_of(st.sampled_from([6.0, 4.9, 2, 7]), st.floats(0.3, 9.0),
                       st.tuples(st.floats(0.3, 9.0), st.floats(0.3, 9.0))),
       smoothing=st.sampled_from(["gaussian", "standard"]), weight=st.floats(0.0, 1.0),
       normalize=st.booleans(), instances=st.integers(0, 4), count=st.integers(1, 17))
def test_simcc_equals_mmpose(seed, height, width, ratio, sigma, smoothing, weight, normalize,
                             instances, count):
    rng = np.random.default_rng(seed)
    weight = weight if smoothing == "standard" else 0.0
    keypoints, visible = keypoints_of(rng, (2, instances, count), width, height)
    keypoints[np.isnan(keypoints)] = 0.0  # (mmpose casts NaN to int64 with a warning: skip)
    codec = SimCCLabel(input_size=(width, height), smoothing_type=smoothing, sigma=sigma,
                       simcc_split_ratio=ratio, label_smooth_weight=weight, normalize=normalize)
    got = fastheat.encode_simcc(keypoints, visible, input_size=(height, width), sigma=sigma,
                                simcc_split_ratio=ratio, smoothing_type=smoothing,
                                label_smooth_weight=weight, normalize=normalize)
    for b in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a 1-cell standard label
            want = codec.encode(keypoints[b], visible[b])
        for name, key in (("x_labels", "keypoint_x_labels"), ("y_labels", "keypoint_y_labels"),
                          ("weights", "keypoint_weights")):
            assert_same(getattr(got, name)[b], want[key], (name, b))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), heatmap=st.tuples(st.integers(2, 140), st.integers(2, 140)),
       factor=st.sampled_from([1.0, 2.0, 4.0, 3.3]),
       sigma=st.one_of(st.none(), st.floats(0.5, 4.0)), use_udp=st.booleans(),
       instances=st.integers(0, 12), count=st.integers(1, 17))
def test_associative_embedding_equals_mmpose(seed, heatmap, factor, sigma, use_udp, instances,
                                             count):
    rng = np.random.default_rng(seed)
    height, width = heatmap
    in_h, in_w = max(2, int(height * factor)), max(2, int(width * factor))
    keypoints, visible = keypoints_of(rng, (2, instances, count), in_w, in_h)
    options = dict(input_size=(in_w, in_h), heatmap_size=(width, height), use_udp=use_udp)
    codec = AssociativeEmbedding(**options, **({} if sigma is None else dict(sigma=sigma)))
    got = fastheat.encode_associative_embedding(keypoints, visible, input_size=(in_h, in_w),
                                                heatmap_size=heatmap, sigma=sigma,
                                                use_udp=use_udp)
    for b in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NaN keypoints cast to int64
            want = codec.encode(keypoints[b], visible[b])
        for name in got._fields:
            assert_same(getattr(got, name)[b], want[name], (name, b))
