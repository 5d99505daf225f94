"""fastheat.mmpose's SimCCLabel and AssociativeEmbedding against mmpose 1.3.2's own codecs:
built through mmpose's KEYPOINT_CODECS, called directly and by mmpose's GenerateTarget, they
give mmpose's dicts bit for bit (test_mmpose.py does the same for the heatmap codecs)."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmpose import codecs as mmpose_codecs
from mmpose.registry import KEYPOINT_CODECS
from test_mmpose import assert_identical, generate_target

import fastheat.mmpose

VISIBLE_DTYPES = [np.float32, np.float64, np.int64, np.uint8, np.bool_]
NAMES = ["SimCCLabel", "AssociativeEmbedding"]
DEFAULTS = {"SimCCLabel": dict(input_size=(192, 256), sigma=(4.9, 5.66)),
            "AssociativeEmbedding": dict(input_size=(512, 512), heatmap_size=(128, 128))}


def build_pair(name, **options):
    """``(fastheat's codec, mmpose's codec)`` built from the same config."""
    config = dict(DEFAULTS[name], **options)
    return (KEYPOINT_CODECS.build(dict(config, type=f"fastheat.{name}")),
            KEYPOINT_CODECS.build(dict(config, type=name)))


def by_fastheat(call):
    """``call()``, failing if mmpose's own code encoded (the fallback's warning)."""
    fastheat.mmpose._warned_fallback = False
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return call()


def mmpose_encode(codec, keypoints, visible=None):
    """mmpose's ``encode``, quiet: it casts the NaN of invisible keypoints to int64, and divides
    by ``W - 1 == 0`` for a one-cell standard label (both harmless there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return codec.encode(keypoints, visible)


# --- hypothesis strategies ------------------------------------------------------------------------


@st.composite
def simcc_options(draw):
    """SimCCLabel's options: non-square inputs, split ratios (fractional too), a float or int
    sigma or a pair, both smoothing types, label_smooth_weight, normalize."""
    smoothing = draw(st.sampled_from(["gaussian", "standard"]))
    number = st.sampled_from([6.0, 4.9, 5.66, 2, 7, 0.7]) | st.floats(0.3, 9.0)
    return dict(
        input_size=(draw(st.integers(2, 300)), draw(st.integers(2, 300))),
        smoothing_type=smoothing,
        sigma=draw(number | st.tuples(number, number) | st.lists(number, min_size=2, max_size=2)),
        simcc_split_ratio=draw(st.sampled_from([2.0, 1.0, 1.5, 2.5, 0.5, 1.7, 3.0, 2])),
        label_smooth_weight=draw(st.sampled_from([0.0, 0.1, 1.0, 0]) | st.floats(0.0, 1.0))
        if smoothing == "standard" else 0.0,
        normalize=draw(st.booleans()))


@st.composite
def associative_embedding_options(draw):
    """AssociativeEmbedding's options: non-square heatmaps, integer and fractional input
    ratios, mmpose's default sigma or a float or int one, with and without UDP."""
    heatmap = (draw(st.integers(2, 100)), draw(st.integers(2, 100)))
    factor = draw(st.sampled_from([1, 2, 4]) | st.floats(1.0, 5.0))
    sigma = draw(st.none() | st.sampled_from([1, 2, 1.5]) | st.floats(0.5, 4.0))
    return dict(input_size=tuple(max(2, int(side * factor)) for side in heatmap),
                heatmap_size=heatmap, sigma=sigma, use_udp=draw(st.booleans()))


@st.composite
def coordinates(draw, size, cell):
    """One float coordinate in input pixels over an axis of ``size`` pixels whose cells (label
    cells, heatmap cells) are ``cell`` pixels: inside, on the borders, on and beside half
    cells (the rounding), off the axis, and far off."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.floats(-1e4, 1e4))
    cells = int(size / cell)
    index = draw(st.integers(-30, cells + 30) | st.sampled_from([0, -1, cells - 1, cells]))
    offset = draw(st.sampled_from([0.0, 0.5, -0.5, 0.4999, -0.4999, 0.25]) | st.floats(-1, 1))
    return (index + offset) * cell


@st.composite
def instances(draw, input_size, cell, batch=None):
    """``(keypoints (N, K, 2) float32, visible (N, K) or None)``; ``batch``: ``(B, N, K)``, a
    batch of that shape. Invisible keypoints may be NaN."""
    shape = batch or (draw(st.integers(0, 4)), draw(st.integers(1, 8)))
    count = int(np.prod(shape))
    points = [[draw(coordinates(input_size[0], cell[0])), draw(coordinates(input_size[1], cell[1]))]
              for _ in range(count)]
    keypoints = np.array(points, np.float32).reshape(*shape, 2)
    if draw(st.integers(0, 4)) == 0:
        return keypoints, None
    values = draw(st.lists(st.sampled_from([0.0, 1.0, 0.5, 0.49, 0.51, 2.0, 1.0]),
                           min_size=count, max_size=count))
    visible = np.array(values).reshape(shape).astype(draw(st.sampled_from(VISIBLE_DTYPES)))
    if draw(st.booleans()):
        keypoints[visible < 0.5] = np.nan
    return keypoints, visible


def cell_of(name, options):
    """The input pixels per label or heatmap cell, ``(x, y)``."""
    if name == "SimCCLabel":
        return (1 / options["simcc_split_ratio"],) * 2
    udp = options["use_udp"]
    return tuple((i - udp) / (h - udp) for i, h in zip(options["input_size"],
                                                        options["heatmap_size"]))


OPTIONS = {"SimCCLabel": simcc_options, "AssociativeEmbedding": associative_embedding_options}
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the codecs, called as mmpose's codecs ---------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_built_through_keypoint_codecs(name):
    ours, theirs = build_pair(name)
    assert type(ours) is getattr(fastheat.mmpose, name)
    assert isinstance(ours, getattr(mmpose_codecs, name))
    assert type(ours).decode is getattr(mmpose_codecs, name).decode
    assert type(ours).batch_decode is getattr(mmpose_codecs, name).batch_decode
    for attribute in ("field_mapping_table", "label_mapping_table", "instance_mapping_table",
                      "auxiliary_encode_keys"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    for attribute, value in vars(theirs).items():
        assert_identical(getattr(ours, attribute), value, attribute)


@pytest.mark.parametrize("name", NAMES)
@SETTINGS
@given(data=st.data())
def test_encode_is_mmpose(name, data):
    options = data.draw(OPTIONS[name]())
    ours, theirs = build_pair(name, **options)
    keypoints, visible = data.draw(instances(options["input_size"], cell_of(name, options)))
    assert_identical(by_fastheat(lambda: ours.encode(keypoints, visible)),
                     mmpose_encode(theirs, keypoints, visible))


def test_encode_coco(rng):
    """RTMPose's SimCC (COCO, 256x192) on single people and HigherHRNet's associative
    embedding (512x512, heatmaps 128x128) on crowds of up to 30, 100 random images each."""
    for name in NAMES:
        ours, theirs = build_pair(name)
        width, height = DEFAULTS[name]["input_size"]
        for _ in range(100):
            count = 1 if name == "SimCCLabel" else rng.integers(0, 31)
            keypoints = rng.uniform(-20, [width + 20, height + 20], (count, 17, 2))
            visible = (rng.uniform(size=(count, 17)) > 0.2).astype(np.float32)
            keypoints = keypoints.astype(np.float32)
            assert_identical(by_fastheat(lambda: ours.encode(keypoints, visible)),
                             theirs.encode(keypoints, visible))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_encode_is_encode_image_by_image(name, data):
    options = data.draw(OPTIONS[name]())
    ours, theirs = build_pair(name, **options)
    shape = (data.draw(st.integers(1, 5)), data.draw(st.integers(0, 3)),
             data.draw(st.integers(1, 6)))
    keypoints, visible = data.draw(instances(options["input_size"], cell_of(name, options),
                                             shape))
    got = by_fastheat(lambda: ours.batch_encode(keypoints, visible))
    assert list(got) == list(mmpose_encode(theirs, keypoints[0]))
    for b in range(shape[0]):
        image_visible = None if visible is None else visible[b]
        image = {key: value[b] for key, value in got.items()}
        assert_identical(image, mmpose_encode(theirs, keypoints[b], image_visible))
        assert_identical(image, ours.encode(keypoints[b], image_visible))


#: The keypoint dtypes mmpose computes as fastheat does; mmpose's own code encodes the others.
FASTHEAT_DTYPES = {"SimCCLabel": [np.float32],
                   "AssociativeEmbedding": [np.float32, np.float16, np.int16, np.uint8]}


@pytest.mark.parametrize("name", NAMES)
def test_keypoint_dtypes(name, rng):
    """SimCC multiplies by a Python float: fastheat computes float32 keypoints only (float16
    stays float16 in mmpose, integers become float64); the associative embedding divides by a
    float32 scale, as the heatmap codecs. The others are mmpose's own code's (a warning), for
    ``encode`` and ``batch_encode`` alike."""
    ours, theirs = build_pair(name)
    for dtype in (np.float32, np.float16, np.int16, np.uint8, np.float64, np.int64):
        keypoints = rng.uniform(0, 190, (3, 2, 17, 2)).astype(dtype)
        if dtype in FASTHEAT_DTYPES[name]:
            got = by_fastheat(lambda: ours.batch_encode(keypoints))
        else:
            fastheat.mmpose._warned_fallback = False
            with pytest.warns(RuntimeWarning, match="mmpose's own code"):
                got = ours.batch_encode(keypoints)
        for b in range(3):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                assert_identical(ours.encode(keypoints[b]), theirs.encode(keypoints[b]))
            assert_identical({key: value[b] for key, value in got.items()},
                             theirs.encode(keypoints[b]))


@pytest.mark.parametrize("keypoints, ratio", [
    (np.array([[[5.75 - 1e-10, 40.0]]]), 2.0),  # float64: mmpose's product 11.4999... -> 11
    (np.array([[[20.875, 40.0]]], np.float16), 1.7),  # float16: mmpose's product rounds to 36
], ids=["float64", "float16"])
def test_simcc_keypoints_mmpose_computes_in_another_precision(keypoints, ratio):
    """mmpose multiplies these by the ratio in their own dtype, and its label centre differs
    from the float32 keypoint's: the codec gives mmpose's (its own code, a warning)."""
    ours, theirs = build_pair("SimCCLabel", simcc_split_ratio=ratio)
    expected = theirs.encode(keypoints)
    float32_labels = theirs.encode(keypoints.astype(np.float32))["keypoint_x_labels"]
    assert not np.array_equal(float32_labels, expected["keypoint_x_labels"])  # the case matters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert_identical(ours.encode(keypoints), expected)
    assert_identical(by_fastheat(lambda: ours.encode(keypoints.astype(np.float32))),
                     theirs.encode(keypoints.astype(np.float32)))


@pytest.mark.parametrize("name", NAMES)
def test_no_keypoints_or_instances(name):
    """K == 0 (mmpose's own code) and N == 0 (fastheat's: empty labels or indices)."""
    ours, theirs = build_pair(name)
    for shape in ((1, 0, 2), (0, 17, 2), (2, 0, 2)):
        keypoints = np.zeros(shape, np.float32)
        expected = theirs.encode(keypoints)
        assert_identical(ours.encode(keypoints), expected)
        assert_identical(ours.batch_encode(keypoints[None].repeat(2, 0)),
                         {key: np.stack([value, value]) for key, value in expected.items()})


@pytest.mark.parametrize("options", [dict(), dict(use_dark=True), dict(decode_visibility=True),
                                     dict(decode_visibility=True, decode_beta=50.0)])
def test_simcc_decode_is_mmpose(options, rng):
    """The decoding options leave the labels as they are and reach mmpose's decode."""
    ours, theirs = build_pair("SimCCLabel", **options)
    keypoints = rng.uniform(10, 180, (1, 17, 2)).astype(np.float32)
    encoded = ours.encode(keypoints)
    assert_identical(encoded, theirs.encode(keypoints))
    labels = encoded["keypoint_x_labels"], encoded["keypoint_y_labels"]
    assert_identical(ours.decode(*(a.copy() for a in labels)),
                     theirs.decode(*(a.copy() for a in labels)))


def test_associative_embedding_decode_options(rng):
    """The decode_* options leave the targets as they are and are mmpose's attributes."""
    options = dict(decode_keypoint_order=list(range(17)), decode_nms_kernel=3,
                   decode_gaussian_kernel=5, decode_keypoint_thr=0.2, decode_tag_thr=2.0,
                   decode_topk=10, decode_center_shift=0.5, decode_max_instances=5)
    ours, theirs = build_pair("AssociativeEmbedding", **options)
    keypoints = rng.uniform(10, 500, (3, 17, 2)).astype(np.float32)
    assert_identical(ours.encode(keypoints), theirs.encode(keypoints))
    for attribute, value in vars(theirs).items():
        assert_identical(getattr(ours, attribute), value, attribute)


@pytest.mark.parametrize("name", NAMES)
def test_pickled_and_copied(name, rng):
    ours, theirs = build_pair(name)
    keypoints = rng.uniform(0, 190, (2, 17, 2)).astype(np.float32)
    for codec in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
        assert type(codec) is type(ours)
        assert_identical(codec.encode(keypoints), theirs.encode(keypoints))


# --- mmpose's pipeline ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_generate_target(name, rng):
    """mmpose's GenerateTarget with the fastheat codec's config gives mmpose's results dict:
    (N, K) visibilities or (N, K, 2), transformed keypoints or not, dataset weights or not."""
    config = dict(DEFAULTS[name], type=name)
    width, height = config["input_size"]
    for case in range(8):
        count = 1 if name == "SimCCLabel" else int(rng.integers(0, 6))
        keypoints = rng.uniform(-20, [width + 20, height + 20], (count, 17, 2))
        visible = (rng.uniform(size=(count, 17)) > 0.2).astype(np.float32)
        if case % 2:
            visible = np.stack([visible, np.full_like(visible, 0.5)], axis=-1)
        key = "transformed_keypoints" if case % 4 >= 2 else "keypoints"
        results = {key: keypoints.astype(np.float32), "keypoints_visible": visible,
                   "dataset_keypoint_weights": np.linspace(0.5, 1.5, 17).astype(np.float32)}
        options = dict(use_dataset_keypoint_weights=case >= 4)
        assert_identical(generate_target(dict(config, type=f"fastheat.{name}"), results,
                                         **options),
                         generate_target(config, results, **options), "results")


# --- what fastheat does not reproduce ---------------------------------------------------------


@pytest.mark.parametrize("options, error, match", [
    (dict(type="fastheat.SimCCLabel", sigma=np.float64(6.0)), TypeError,
     "SimCCLabel: sigma must be a Python int or float.*float64"),
    (dict(type="fastheat.SimCCLabel", sigma=(np.float32(6.0), 6.0)), TypeError, "sigma"),
    (dict(type="fastheat.SimCCLabel", sigma=(6.0, 6.0, 6.0)), ValueError, "sigma must be"),
    (dict(type="fastheat.SimCCLabel", sigma=True), TypeError, "sigma.*bool"),
    (dict(type="fastheat.SimCCLabel", sigma=0.0), ValueError, "sigma"),
    (dict(type="fastheat.SimCCLabel", simcc_split_ratio=np.float64(2.0)), TypeError,
     "simcc_split_ratio must be a Python int or float"),
    (dict(type="fastheat.SimCCLabel", simcc_split_ratio=0.001), ValueError,
     "SimCCLabel: simcc_split_ratio=0.001 makes labels"),
    (dict(type="fastheat.SimCCLabel", smoothing_type="standard",
          label_smooth_weight=np.float32(0.1)), TypeError, "label_smooth_weight"),
    (dict(type="fastheat.SimCCLabel", label_smooth_weight=0.1), ValueError,
     "label_smooth_weight is only used with smoothing_type='standard'"),
    (dict(type="fastheat.SimCCLabel", smoothing_type="laplace"), ValueError,
     "SimCCLabel: smoothing_type must be one of"),
    (dict(type="fastheat.SimCCLabel", normalize=1), TypeError, "normalize must be True or"),
    (dict(type="fastheat.SimCCLabel", input_size=(192.0, 256.0)), ValueError,
     "SimCCLabel: input_size must be"),
    (dict(type="fastheat.AssociativeEmbedding", sigma=[2.0, 3.0]), TypeError,
     "AssociativeEmbedding: sigma must be a Python int or float.*list"),
    (dict(type="fastheat.AssociativeEmbedding", sigma=np.float64(2.0)), TypeError, "sigma"),
    (dict(type="fastheat.AssociativeEmbedding", sigma=-1.0), ValueError, "sigma must be in"),
    (dict(type="fastheat.AssociativeEmbedding", heatmap_size=(128, 1), use_udp=True),
     ValueError, "AssociativeEmbedding: use_udp=True needs"),
    (dict(type="fastheat.AssociativeEmbedding", heatmap_size=(0, 128)), ValueError,
     "heatmap_size must be"),
    (dict(type="fastheat.AssociativeEmbedding", use_udp="yes"), TypeError,
     "use_udp must be True or False"),
])
def test_construction_errors(options, error, match):
    name = options["type"].removeprefix("fastheat.")
    with pytest.raises(error, match=match):
        KEYPOINT_CODECS.build(dict(DEFAULTS[name], **options))


@pytest.mark.parametrize("name", NAMES)
def test_encode_errors(name):
    """The shapes ``encode`` and ``batch_encode`` take, and the non-finite visible values
    fastheat rejects (mmpose would cast them to undefined integers)."""
    ours, _ = build_pair(name)
    with pytest.raises(ValueError, match=r"keypoints must be \(N, K, 2\)"):
        ours.encode(np.zeros((17, 2), np.float32))
    with pytest.raises(ValueError, match=r"keypoints_visible must be \(N, K\)"):
        ours.encode(np.zeros((2, 17, 2), np.float32), np.ones((1, 17)))
    with pytest.raises(ValueError, match=r"B >= 1"):
        ours.batch_encode(np.zeros((0, 2, 17, 2), np.float32))
    with pytest.raises(ValueError, match="not finite"):
        ours.encode(np.full((2, 17, 2), np.nan, np.float32))
