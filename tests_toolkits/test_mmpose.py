"""fastheat.mmpose against mmpose 1.3.2 itself: codecs built through mmpose's KEYPOINT_CODECS,
called directly and by mmpose's GenerateTarget transform, give mmpose's targets bit for bit."""

import copy
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmengine.config import Config
from mmpose import codecs as mmpose_codecs
from mmpose.datasets.transforms import GenerateTarget
from mmpose.registry import KEYPOINT_CODECS

import fastheat
import fastheat.mmpose
import naive

#: (fastheat config type, mmpose's, method, extra options)
CODECS = [("MSRAHeatmap", "msra", {}), ("MSRAHeatmap", "dark", dict(unbiased=True)),
          ("UDPHeatmap", "udp", {})]
IDS = [method for _, method, _ in CODECS]


def configs(name, extra, input_size, heatmap_size, sigma):
    """``(fastheat's config, mmpose's config)``; sizes ``[w, h]`` as mmpose's."""
    config = dict(type=name, input_size=input_size, heatmap_size=heatmap_size, sigma=sigma,
                  **extra)
    return dict(config, type=f"fastheat.{name}"), config


def build_pair(name, extra, input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0):
    ours, theirs = configs(name, extra, input_size, heatmap_size, sigma)
    return KEYPOINT_CODECS.build(ours), KEYPOINT_CODECS.build(theirs)


def assert_identical(got, expected, where="encoded"):
    """The same keys, types, dtypes, shapes and bits (lists and dicts compared item by item)."""
    assert type(got) is type(expected), where
    if isinstance(expected, dict):
        assert list(got) == list(expected), where
        for key in expected:
            assert_identical(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), where
        for i, (a, b) in enumerate(zip(got, expected)):
            assert_identical(a, b, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), where
        assert np.array_equal(got, expected, equal_nan=True), where
    else:
        assert got == expected, where


# --- hypothesis strategies ------------------------------------------------------------------------

VISIBLE_DTYPES = [np.float32, np.float64, np.int64, np.uint8, np.bool_]


@st.composite
def geometries(draw, method):
    """``(input_size [w, h], heatmap_size [w, h], sigma)``: non-square, tiny to mid-size maps,
    integer and fractional ratios, int and float sigmas (fractional ``3 * sigma`` too)."""
    low = 2 if method == "udp" else 1
    heatmap = [draw(st.integers(low, 40)), draw(st.integers(low, 40))]
    if draw(st.booleans()):
        factor = draw(st.sampled_from([1, 2, 3, 4]))
        image = [side * factor for side in heatmap]
    else:
        image = [draw(st.integers(max(low, 1), 200)), draw(st.integers(max(low, 1), 200))]
    sigma = draw(st.one_of(st.sampled_from([1, 2, 3, 1.5, 2.0, 0.7, 2.5, 0.3]),
                           st.floats(0.2, 4.0)))
    return image, heatmap, sigma


@st.composite
def keypoint_coordinate(draw, size, scale, sigma):
    """One float coordinate in input pixels: anywhere near or on the map, on cell centres and
    halves (mmpose's rounding), on its borders, and beyond its 3-sigma window."""
    reach = 3 * sigma + 3
    cell = draw(st.integers(-int(reach) - 2, size + int(reach) + 2))
    offset = draw(st.sampled_from([0.0, 0.5, -0.5, 0.4999, -0.4999, 0.25]) | st.floats(-1, 1))
    if draw(st.integers(0, 9)) == 0:  # far off the map
        return draw(st.floats(-1e4, 1e4))
    return (cell + offset) * scale


@st.composite
def single_inputs(draw, image, heatmap, sigma, method, count=None):
    """``(keypoints (1, K, 2), visible (1, K) or None)`` for one image."""
    scale = naive.keypoint_scale_factor(image[::-1], heatmap[::-1], method)
    count = count or draw(st.integers(1, 6))
    points = [[draw(keypoint_coordinate(heatmap[0], float(scale[0]), sigma)),
               draw(keypoint_coordinate(heatmap[1], float(scale[1]), sigma))]
              for _ in range(count)]
    keypoints = np.array([points], np.float32)
    if draw(st.integers(0, 4)) == 0:
        return keypoints, None
    dtype = draw(st.sampled_from(VISIBLE_DTYPES))
    values = draw(st.lists(st.sampled_from([0.0, 1.0, 0.5, 0.49, 2.0, 1.0]), min_size=count,
                           max_size=count))
    return keypoints, np.array([values]).astype(dtype)


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the codecs, called as mmpose's codecs ----------------------------------------------------------


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
def test_built_through_keypoint_codecs(name, method, extra):
    ours, theirs = build_pair(name, extra)
    assert type(ours) is getattr(fastheat.mmpose, name)
    assert isinstance(ours, getattr(mmpose_codecs, name))
    assert type(ours).decode is getattr(mmpose_codecs, name).decode
    for attribute in ("input_size", "heatmap_size", "sigma", "blur_kernel_size",
                      "field_mapping_table", "label_mapping_table", "instance_mapping_table",
                      "auxiliary_encode_keys"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    assert_identical(ours.scale_factor, theirs.scale_factor)


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_encode_is_mmpose(name, method, extra, data):
    image, heatmap, sigma = data.draw(geometries(method))
    ours, theirs = build_pair(name, extra, image, heatmap, sigma)
    keypoints, visible = data.draw(single_inputs(image, heatmap, sigma, method))
    assert_identical(ours.encode(keypoints, visible), theirs.encode(keypoints, visible))
    if visible is None:
        assert_identical(ours.encode(keypoints), theirs.encode(keypoints))


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
def test_encode_coco_top_down(name, method, extra, rng):
    """The COCO top-down configuration of mmpose's configs, 200 random people, 17 keypoints."""
    ours, theirs = build_pair(name, extra)
    for _ in range(200):
        keypoints = rng.uniform(-20, [212, 276], (1, 17, 2)).astype(np.float32)
        visible = (rng.uniform(size=(1, 17)) > 0.2).astype(np.float32)
        assert_identical(ours.encode(keypoints, visible), theirs.encode(keypoints, visible))


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_encode_is_encode_image_by_image(name, method, extra, data):
    image, heatmap, sigma = data.draw(geometries(method))
    ours, theirs = build_pair(name, extra, image, heatmap, sigma)
    count, batch = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 6))
    images = [data.draw(single_inputs(image, heatmap, sigma, method, count))
              for _ in range(batch)]
    keypoints = np.stack([k for k, _ in images])
    with_visible = all(v is not None for _, v in images) and len({v.dtype for _, v in images}) == 1
    visible = np.stack([v for _, v in images]) if with_visible else None
    got = ours.batch_encode(keypoints, visible)
    for b in range(batch):
        expected = theirs.encode(keypoints[b], None if visible is None else visible[b])
        assert_identical({key: value[b] for key, value in got.items()}, expected)
        assert_identical({key: value[b] for key, value in got.items()},
                         ours.encode(keypoints[b], None if visible is None else visible[b]))
    assert all(value.shape[0] == batch for value in got.values())


def test_batch_encode_coco_batch(rng):
    """B=64 people: one call equals mmpose's codec looped over the batch, for each codec."""
    keypoints = rng.uniform(0, [192, 256], (64, 1, 17, 2)).astype(np.float32)
    visible = (rng.uniform(size=(64, 1, 17)) > 0.2).astype(np.float32)
    for name, _, extra in CODECS:
        ours, theirs = build_pair(name, extra)
        got = ours.batch_encode(keypoints, visible)
        expected = [theirs.encode(k, v) for k, v in zip(keypoints, visible)]
        assert_identical(got, {key: np.stack([e[key] for e in expected]) for key in got})


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
def test_keypoint_dtypes(name, method, extra, rng):
    """float16 and small integers are divided in float32 by mmpose too (fastheat computes them);
    float64 and int64 keypoints, divided in float64 by mmpose, are encoded by mmpose's own code
    (one warning per process), for ``encode`` and ``batch_encode`` alike."""
    ours, theirs = build_pair(name, extra)
    for dtype in (np.float16, np.int16, np.uint8, np.float64, np.int64):
        keypoints = rng.uniform(0, 190, (3, 1, 17, 2)).astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            got = ours.batch_encode(keypoints)
            for b in range(3):
                assert_identical(ours.encode(keypoints[b]), theirs.encode(keypoints[b]))
                assert_identical({key: value[b] for key, value in got.items()},
                                 theirs.encode(keypoints[b]))


def test_float64_keypoints_get_mmpose_float64_arithmetic():
    """A float64 keypoint a hair below a half cell: mmpose rounds it in float64 to the cell
    below, fastheat's float32 arithmetic (the float32 keypoint) to the cell above; the codec
    gives mmpose's (its own code) and warns once."""
    ours, theirs = build_pair("MSRAHeatmap", {})
    keypoints = np.array([[[4 * 10.5 - 1e-9, 40.0]]])  # scale 4: cell 10.4999...
    float32_target = theirs.encode(keypoints.astype(np.float32))["heatmaps"]
    expected = theirs.encode(keypoints)
    assert not np.array_equal(float32_target, expected["heatmaps"])  # the case matters
    fastheat.mmpose._warned_fallback = False
    with pytest.warns(RuntimeWarning, match="float64"):
        got = ours.encode(keypoints)
    assert_identical(got, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_identical(ours.encode(keypoints), expected)  # once per process


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
def test_decode_is_mmpose(name, method, extra, rng):
    ours, theirs = build_pair(name, extra)
    keypoints = rng.uniform(10, 180, (1, 17, 2)).astype(np.float32)
    heatmaps = ours.encode(keypoints)["heatmaps"]
    assert_identical(ours.decode(heatmaps.copy()), theirs.decode(heatmaps.copy()))


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
def test_pickled_and_copied(name, method, extra, rng):
    """DataLoader workers receive pickled pipelines, mmengine deep-copies configs."""
    ours, theirs = build_pair(name, extra)
    keypoints = rng.uniform(0, 190, (1, 17, 2)).astype(np.float32)
    for codec in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
        assert type(codec) is type(ours)
        assert_identical(codec.encode(keypoints), theirs.encode(keypoints))


# --- mmpose's pipeline ------------------------------------------------------------------------


def generate_target(encoder, results, **options):
    transform = GenerateTarget(encoder=encoder, **options)
    return transform(copy.deepcopy(results))


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generate_target(name, method, extra, data):
    """mmpose's GenerateTarget with the fastheat codec's config gives mmpose's results dict,
    with (N, K) visibilities or (N, K, 2) (visibility and weight), keypoints transformed by
    TopdownAffine or not, and the dataset's keypoint weights."""
    image, heatmap, sigma = data.draw(geometries(method))
    ours, theirs = configs(name, extra, image, heatmap, sigma)
    keypoints, visible = data.draw(single_inputs(image, heatmap, sigma, method, 17))
    visible = np.ones((1, 17), np.float32) if visible is None else visible.astype(np.float32)
    if data.draw(st.booleans()):
        visible = np.stack([visible, np.full_like(visible, 0.5)], axis=-1)
    key = data.draw(st.sampled_from(["keypoints", "transformed_keypoints"]))
    results = {key: keypoints, "keypoints_visible": visible,
               "dataset_keypoint_weights": np.linspace(0.5, 1.5, 17).astype(np.float32)}
    options = dict(use_dataset_keypoint_weights=data.draw(st.booleans()))
    assert_identical(generate_target(ours, results, **options),
                     generate_target(theirs, results, **options), "results")


def test_generate_target_several_encoders(rng):
    """A list of encoders: multilevel (several sigmas) and combined targets."""
    results = {"keypoints": rng.uniform(0, 190, (1, 17, 2)).astype(np.float32),
               "keypoints_visible": np.ones((1, 17), np.float32)}
    sizes = dict(input_size=(192, 256), heatmap_size=(48, 64))
    levels = [dict(type="MSRAHeatmap", sigma=s, **sizes) for s in (2, 3)]
    fastheat_levels = [dict(c, type="fastheat.MSRAHeatmap") for c in levels]
    assert_identical(generate_target(fastheat_levels, results, multilevel=True),
                     generate_target(levels, results, multilevel=True), "results")


def test_config_file_with_custom_imports(tmp_path):
    """The config lines of the README, in a fresh process: custom_imports imports
    fastheat.mmpose, and the codec and the pipeline build from the config."""
    config = tmp_path / "config.py"
    config.write_text(
        'custom_imports = dict(imports=["fastheat.mmpose"], allow_failed_imports=False)\n'
        'codec = dict(type="fastheat.MSRAHeatmap", input_size=(192, 256), heatmap_size=(48, 64),\n'
        '             sigma=2)\n'
        'train_pipeline = [dict(type="GenerateTarget", encoder=codec)]\n')
    script = (
        "import sys, numpy as np\n"
        "from mmengine.config import Config\n"
        "from mmengine.registry import init_default_scope\n"
        "from mmpose.registry import KEYPOINT_CODECS, TRANSFORMS\n"
        "init_default_scope('mmpose')  # as mmpose's Runner does\n"
        "assert 'fastheat.mmpose' not in sys.modules\n"
        "cfg = Config.fromfile(sys.argv[1])\n"
        "codec = KEYPOINT_CODECS.build(cfg.codec)\n"
        "transform = TRANSFORMS.build(cfg.train_pipeline[0])\n"
        "print(type(codec).__module__, type(transform.encoder).__module__)\n")
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["fastheat.mmpose", "fastheat.mmpose"]
    assert Config.fromfile(config).codec["type"] == "fastheat.MSRAHeatmap"


# --- what fastheat does not reproduce ---------------------------------------------------------


@pytest.mark.parametrize("options, error, match", [
    (dict(type="fastheat.UDPHeatmap", heatmap_type="combined"), ValueError,
     "heatmap_type='combined' is not supported"),
    (dict(type="fastheat.MSRAHeatmap", sigma=np.float64(2.0)), TypeError,
     "sigma must be a Python int or float.*float64"),
    (dict(type="fastheat.MSRAHeatmap", sigma=np.float32(2.0)), TypeError, "sigma"),
    (dict(type="fastheat.MSRAHeatmap", sigma=[2.0]), TypeError, "sigma.*list"),
    (dict(type="fastheat.MSRAHeatmap", sigma=True), TypeError, "sigma.*bool"),
    (dict(type="fastheat.MSRAHeatmap", sigma=0.0), ValueError, "sigma must be in"),
    (dict(type="fastheat.MSRAHeatmap", input_size=192), ValueError, "input_size must be"),
    (dict(type="fastheat.MSRAHeatmap", input_size=(192.0, 256.0)), ValueError, "input_size"),
    (dict(type="fastheat.MSRAHeatmap", heatmap_size=(48, 64, 1)), ValueError, "heatmap_size"),
    (dict(type="fastheat.MSRAHeatmap", heatmap_size=(0, 64)), ValueError, "heatmap_size"),
    (dict(type="fastheat.UDPHeatmap", heatmap_size=(1, 64)), ValueError,
     "heatmap_size must be.*>= 2"),
])
def test_construction_errors(options, error, match):
    config = dict(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)
    config.update(options)
    with pytest.raises(error, match=match):
        KEYPOINT_CODECS.build(config)


def test_options_that_only_decoding_uses_are_mmpose_s(rng):
    """blur_kernel_size (decoding) and UDP's radius_factor (its offset maps) leave the targets
    as they are and reach mmpose's decode."""
    keypoints = rng.uniform(10, 180, (1, 17, 2)).astype(np.float32)
    for name, _, extra in CODECS:
        options = dict(extra, blur_kernel_size=7)
        if name == "UDPHeatmap":
            options["radius_factor"] = 0.1
        ours, theirs = build_pair(name, options)
        encoded = ours.encode(keypoints)
        assert_identical(encoded, theirs.encode(keypoints))
        assert_identical(ours.decode(encoded["heatmaps"]), theirs.decode(encoded["heatmaps"]))


@pytest.mark.parametrize("call, match", [
    (lambda c: c.encode(np.zeros((2, 17, 2), np.float32)), r"one instance \(N == 1"),
    (lambda c: c.encode(np.zeros((1, 17, 3), np.float32)), r"keypoints must be \(N, K, 2\)"),
    (lambda c: c.encode(np.zeros((1, 17, 2), np.float32), np.ones(17)),
     r"keypoints_visible must be \(N, K\)"),
    (lambda c: c.batch_encode(np.zeros((1, 17, 2), np.float32)),
     r"keypoints must be \(B, N, K, 2\)"),
    (lambda c: c.batch_encode(np.zeros((4, 2, 17, 2), np.float32)), "one instance"),
    (lambda c: c.encode(np.full((1, 17, 2), np.nan, np.float32)), "not finite"),
    (lambda c: c.encode(np.zeros((1, 17, 2), np.float32), np.full((1, 17), np.inf)),
     "visible.* is not finite"),
])
def test_encode_errors(call, match):
    """mmpose asserts one instance (AssertionError); fastheat raises a ValueError there, and on
    the non-finite values it rejects (mmpose turns them into undefined integer casts)."""
    codec, _ = build_pair("MSRAHeatmap", {})
    with pytest.raises(ValueError, match=match):
        call(codec)


# --- the transcription in tests/naive.py is mmpose's --------------------------------------------


@pytest.mark.parametrize("name, method, extra", CODECS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_naive_transcription_is_mmpose(name, method, extra, data):
    """tests/naive.py, against which the main suite checks fastheat, is mmpose's codec."""
    image, heatmap, sigma = data.draw(geometries(method))
    _, theirs = build_pair(name, extra, image, heatmap, sigma)
    keypoints, visible = data.draw(single_inputs(image, heatmap, sigma, method))
    visible = np.ones((1, keypoints.shape[1]), np.float32) if visible is None \
        else visible.astype(np.float32)
    heatmaps, weights = naive.encode_keypoints(keypoints[None], visible[None], image[::-1],
                                               heatmap[::-1], sigma, method)
    expected = theirs.encode(keypoints, visible)
    assert_identical(heatmaps[0], expected["heatmaps"])
    assert_identical(weights[0], expected["keypoint_weights"])
