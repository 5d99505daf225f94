"""encode_cornernet and encode_centernet against the NumPy transcriptions (tests/naive.py), bit for bit."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastheat
import naive
from cases import SIZES, batches, edge_case_boxes
from fastheat import encode_centernet, encode_cornernet
from fastheat.workloads import CORNERNET, coco_like_detections

ENCODERS = {"cornernet": (encode_cornernet, naive.encode_cornernet, "max_tag_len"),
            "centernet": (encode_centernet, naive.encode_centernet, "max_objs")}


def assert_same(mode, detections, batch_size, num_classes, input_size, output_size,
                num_threads=None, on_overflow="error", **options):
    encode, transcription, _ = ENCODERS[mode]
    got = encode(detections, batch_size=batch_size, num_classes=num_classes,
                 input_size=input_size, output_size=output_size, num_threads=num_threads,
                 on_overflow=on_overflow, **options)
    want = transcription(detections, batch_size, num_classes, input_size, output_size, **options)
    assert len(got) == len(want)
    for name, g, w in zip(got._fields, got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        mismatches = np.argwhere(g != w)
        assert mismatches.size == 0, f"{name}: {len(mismatches)} differ, first at {mismatches[0]}"
    return got


@pytest.mark.parametrize("mode", ENCODERS)
@pytest.mark.parametrize("input_size, output_size", SIZES)
def test_random_coco_batches(rng, mode, input_size, output_size):
    for batch_size in range(1, 9):
        detections = coco_like_detections(int(rng.integers(1 << 30)), batch_size=batch_size,
                                          num_classes=7, input_size=input_size,
                                          boxes_per_image=rng.choice([0, 3, 20]))
        rng.shuffle(detections)  # any order: slots follow input order within an image
        assert_same(mode, detections, batch_size, 7, input_size, output_size)


@pytest.mark.parametrize("mode", ENCODERS)
@pytest.mark.parametrize("input_size, output_size", SIZES)
def test_edge_case_boxes(rng, mode, input_size, output_size):
    """Tiny, zero-size, image-sized, border-hugging, off-image and huge boxes."""
    detections = edge_case_boxes(rng, 300, 4, 3, input_size)
    assert_same(mode, detections, 4, 3, input_size, output_size, **{ENCODERS[mode][2]: 120})


@pytest.mark.parametrize("mode", ENCODERS)
def test_cornernet_batch_float32_input(mode):
    detections = coco_like_detections(7).astype(np.float32)
    assert_same(mode, detections, **CORNERNET)


@pytest.mark.parametrize("mode", ENCODERS)
@pytest.mark.parametrize("num_threads", [1, 2])
def test_thread_counts_agree(mode, num_threads):
    detections = coco_like_detections(5, batch_size=9, num_classes=6)
    assert_same(mode, detections, 9, 6, (511, 511), (128, 128), num_threads=num_threads)


@pytest.mark.parametrize("mode", ENCODERS)
def test_empty_batch_and_empty_images(mode):
    encode, _, slots = ENCODERS[mode]
    for detections in (np.zeros((0, 6)), []):
        targets = encode(detections, batch_size=3, num_classes=2, input_size=(64, 64),
                         output_size=(16, 16), **{slots: 5})
        assert all(not array.any() for array in targets)
        assert targets[0].shape == (3, 2, 16, 16) and targets[-1].shape[0] == 3
    detections = np.array([[2, 1, 8, 8, 40, 40], [0, 0, 1, 2, 30, 20], [2, 0, 3, 3, 9, 9.5]])
    got = assert_same(mode, detections, 4, 2, (64, 64), (16, 16), **{slots: 3})
    assert not got[0][1].any() and not got[0][3].any()


@pytest.mark.parametrize("mode", ENCODERS)
def test_overflow_error_names_the_image(mode):
    encode, _, slots = ENCODERS[mode]
    detections = np.array([[0, 0, 1, 1, 9, 9]] * 2 + [[2, 1, 1, 1, 9, 9]] * 4 + [[1, 0, 1, 1, 5, 5]] * 5)
    with pytest.raises(ValueError, match=rf"image 1 has 5 boxes, more than {slots}=3"):
        encode(detections, batch_size=3, num_classes=2, input_size=(32, 32), output_size=(8, 8),
               on_overflow="error", **{slots: 3})
    with pytest.raises(ValueError, match=rf"image 'b.jpg' \(batch index 1\) has 5 boxes"):
        encode(detections, batch_size=3, num_classes=2, input_size=(32, 32), output_size=(8, 8),
               on_overflow="error", image_ids=["a.jpg", "b.jpg", "c.jpg"], **{slots: 3})


@pytest.mark.parametrize("mode", ENCODERS)
def test_overflow_truncate_keeps_first_boxes(rng, mode):
    encode, _, slots = ENCODERS[mode]
    detections = edge_case_boxes(rng, 200, 3, 4, (96, 128))
    detections[:, 0] = np.minimum(detections[:, 0], 1)  # image 2 empty, images 0 and 1 crowded
    got = assert_same(mode, detections, 3, 4, (96, 128), (24, 32), on_overflow="truncate",
                      **{slots: 17})
    first = np.concatenate([np.flatnonzero(detections[:, 0] == b)[:17] for b in (0, 1)])
    full = encode(detections[np.sort(first)], batch_size=3, num_classes=4, input_size=(96, 128),
                  output_size=(24, 32), on_overflow="error", **{slots: 17})
    for g, f in zip(got, full):
        np.testing.assert_array_equal(g, f)


def test_cornernet_heatmaps_are_encode_corners(rng):
    detections = edge_case_boxes(rng, 150, 3, 2, (200, 300))
    options = dict(batch_size=3, num_classes=2, input_size=(200, 300), output_size=(50, 75))
    for extra in ({"radius_formula": "centernet"}, {"min_radius": 3}, {"gaussian_rad": 4},
                  {"gaussian_rad": 1026}, {"delte": 3, "k": 0.5}):
        got = encode_cornernet(detections, **options, **extra)
        want = fastheat.encode_corners(detections, **options, **extra)
        np.testing.assert_array_equal(got.tl_heatmaps, want.tl_heatmaps)
        np.testing.assert_array_equal(got.br_heatmaps, want.br_heatmaps)


def test_cornernet_off_map_corners_mask_their_slot():
    """CornerNet's formula would give tags -42 (outside the map) and 204 (the wrong cell, as
    x = 22 wraps into the next row): those slots stay 0, masked; their heatmaps are stamped."""
    detections = np.array([[0, 0, -40.0, -8.0, 10.0, 12.0], [0, 0, 50.0, 20.0, 90.0, 50.0],
                           [0, 0, 4.0, 8.0, 20.0, 24.0]])
    got = encode_cornernet(detections, batch_size=1, num_classes=1, input_size=(64, 64),
                           output_size=(16, 16), max_tag_len=3)
    assert got.tl_tags[0].tolist() == [0, 0, 2 * 16 + 1]
    assert got.br_tags[0].tolist() == [0, 0, 6 * 16 + 5]
    assert got.tag_masks[0].tolist() == [0, 0, 1] and got.tag_lens.tolist() == [3]
    assert not got.tl_regrs[0, :2].any() and not got.br_regrs[0, :2].any()
    assert got.tl_heatmaps[0, 0, 5, 12] == 1.0  # a masked box still stamps its visible corners


def test_cornernet_clip_is_cornernets_clip_detections(rng):
    """Random crops leave boxes partly or wholly off the image: clip=True clips them in input
    pixels and drops the empty ones (they take no slot), as CornerNet does."""
    sizes = dict(batch_size=4, num_classes=3, input_size=(96, 128), output_size=(24, 32))
    detections = edge_case_boxes(rng, 120, 4, 3, (96, 128))
    got = encode_cornernet(detections, **sizes, clip=True)
    want = naive.encode_cornernet(detections, 4, 3, (96, 128), (24, 32), clip=True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got.tag_lens.sum() == len(naive.clip_detections(detections, (96, 128))) < len(detections)
    assert got.tag_masks.sum() == got.tag_lens.sum()  # every clipped corner is on the map
    heatmaps = fastheat.encode_corners(detections, **sizes, clip=True)
    for g, w in zip(heatmaps, naive.encode_corners(detections, 4, 3, (96, 128), (24, 32), clip=True)):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("mode", ENCODERS)
def test_overflow_default_keeps_first_boxes_and_warns_once(rng, mode, monkeypatch):
    from fastheat._engine import runtime
    monkeypatch.setattr(runtime, "_warned_once", set())
    encode, _, slots = ENCODERS[mode]
    detections = np.array([[0, 0, 1, 1, 9, 9]] * 5 + [[1, 0, 1, 1, 5, 5]] * 2)
    sizes = dict(batch_size=2, num_classes=1, input_size=(32, 32), output_size=(8, 8))
    with pytest.warns(RuntimeWarning, match=rf"2 boxes did not fit in {slots}=3"):
        got = encode(detections, **sizes, **{slots: 3})
    want = encode(detections, **sizes, on_overflow="truncate", **{slots: 3})
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode(detections, **sizes, **{slots: 3})  # once per process


def test_centernet_worked_example():
    """One box, scaled by 1/4: (10, 6)-(30, 20) on the output map."""
    got = encode_centernet(np.array([[1, 2, 40.0, 24.0, 120.0, 80.0]]), batch_size=2,
                           num_classes=3, input_size=(128, 128), output_size=(32, 32), max_objs=4)
    radius = max(0, int(fastheat.gaussian_radius(14, 20, 0.7, radius_formula="centernet")))
    assert got.wh[1, 0].tolist() == [20.0, 14.0] and got.reg[1, 0].tolist() == [0.0, 0.0]
    assert got.ind[1].tolist() == [13 * 32 + 20, 0, 0, 0] and got.reg_mask.sum() == 1
    peak = np.unravel_index(np.argmax(got.hm[1, 2]), (32, 32))
    assert peak == (13, 20) and got.hm[1, 2, 13, 20] == 1.0
    assert got.hm[1, 2, 13, 20 + radius] > 0 and got.hm[1, 2, 13, 20 + radius + 1] == 0


def test_centernet_unstamped_boxes_keep_their_slot():
    detections = np.array([[0, 0, 5, 5, 5, 9],  # zero width
                           [0, 0, -50, -50, -10, -10],  # wholly off the map: clipped to a point
                           [0, 0, 8, 8, 24, 24]])
    got = assert_same("centernet", detections, 1, 1, (64, 64), (16, 16), max_objs=3)
    assert got.reg_mask[0].tolist() == [0, 0, 1] and got.ind[0, :2].tolist() == [0, 0]
    assert got.ind[0, 2] == 4 * 16 + 4 and got.hm[0, 0].max() == 1.0


#: CenterNet's options (``mse_loss`` is ``gaussian="msra"`` with ``gaussian_rad`` its
#: ``hm_gauss``), alone and together; radii beyond the tables (1025 for umich, sigma 300 for
#: msra: windows wider than the map) take the NumPy path.
CENTERNET_OPTIONS = [
    {"radius_formula": "cornernet"}, {"gaussian_iou": 0.3}, {"delte": 3, "k": 0.5},
    {"min_radius": 2}, {"min_radius": 1025}, {"gaussian_rad": 3},
    {"gaussian": "msra", "gaussian_rad": 1}, {"gaussian": "msra", "gaussian_rad": 4},
    {"gaussian": "msra", "gaussian_rad": 300}, {"cat_spec_wh": True}, {"dense_wh": True},
    {"dense_wh": True, "cat_spec_wh": True, "radius_formula": "cornernet"},
    {"dense_wh": True, "gaussian": "msra", "gaussian_rad": 2},
    {"dense_wh": True, "gaussian": "msra", "gaussian_rad": 300, "cat_spec_wh": True},
    {"dense_wh": True, "delte": 3, "k": 0.5}, {"dense_wh": True, "min_radius": 1025},
    {"dense_wh": True, "gaussian_rad": 0},
]


@pytest.mark.parametrize("options", CENTERNET_OPTIONS)
def test_centernet_options(rng, options):
    detections = edge_case_boxes(rng, 60, 2, 2, (200, 300))
    got = assert_same("centernet", detections, 2, 2, (200, 300), (50, 75), **options)
    assert (got.dense_wh is None) != options.get("dense_wh", False)
    assert (got.cat_spec_wh is None) != options.get("cat_spec_wh", False)


@pytest.mark.parametrize("options", [o for o in CENTERNET_OPTIONS if "gaussian" in o or "dense_wh" in o])
@pytest.mark.parametrize("input_size, output_size", SIZES)
def test_centernet_options_on_crowded_coco_batches(rng, options, input_size, output_size):
    """Many overlapping boxes of several classes: ``dense_wh`` depends on the order of the
    boxes and on the maximum over classes at each box's turn."""
    detections = coco_like_detections(int(rng.integers(1 << 30)), batch_size=3, num_classes=4,
                                      input_size=input_size, boxes_per_image=40)
    rng.shuffle(detections)
    got = assert_same("centernet", detections, 3, 4, input_size, output_size, **options)
    if options.get("dense_wh"):
        assert got.dense_wh.any() and (got.dense_wh_mask[:, 0] == got.hm.max(axis=1)).all()


def test_msra_gaussian_is_centernets_as_shipped_not_issue_483s_fix(rng):
    """CenterNet issue #483: ``draw_msra_gaussian`` names the height ``w`` and the width ``h``,
    but bounds x by ``h`` and y by ``w`` everywhere, so it is right: fastheat's msra heatmap
    equals it on non-square maps, centres on and near every border. The fix the issue proposes
    (swapping the names on that one line) would break those maps."""
    broken = 0
    for height, width in [(7, 19), (19, 7), (32, 96), (1, 40), (40, 1), (24, 24)]:
        for sigma in (1, 2, 5):
            for _ in range(20):
                center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
                if center[0] < width - 1 and center[1] < height - 1:  # a box centred there
                    box = [[0, center[0], center[1], center[0] + 1.0, center[1] + 1.0]]
                    got = encode_centernet(box, batch_size=None, num_classes=1,
                                           input_size=(height, width),
                                           output_size=(height, width), gaussian="msra",
                                           gaussian_rad=sigma).hm[0]
                    want = naive.draw_msra_gaussian(np.zeros((height, width), np.float32),
                                                    center, sigma)
                    np.testing.assert_array_equal(got, want)
                    assert want[center[1], center[0]] == 1.0
                try:
                    fixed = naive.draw_msra_gaussian(np.zeros((height, width), np.float32),
                                                     center, sigma, issue_483_fix=True)
                except ValueError:  # operands could not be broadcast together
                    broken += 1
                    continue
                shipped = naive.draw_msra_gaussian(np.zeros((height, width), np.float32),
                                                   center, sigma)
                broken += not np.array_equal(fixed, shipped)
                if height == width:
                    np.testing.assert_array_equal(fixed, shipped)
    assert broken > 100


def test_centernet_msra_is_draw_msra_gaussian():
    """One box on a non-square map: the heatmap is CenterNet's draw_msra_gaussian of sigma
    ``gaussian_rad`` at the box's centre, cut by the map's right and bottom borders."""
    got = encode_centernet(np.array([[1, 40.0, 30.0, 57.0, 40.0]]), batch_size=None,
                           num_classes=2, input_size=(44, 60), output_size=(44, 60),
                           gaussian="msra", gaussian_rad=3, dense_wh=True)
    want = naive.draw_msra_gaussian(np.zeros((44, 60), np.float32), (48, 35), 3)
    np.testing.assert_array_equal(got.hm[1], want)
    assert not got.hm[0].any() and got.hm[1, 35, 48] == 1.0 and got.hm[1, 43, 57] > 0
    # dense_wh compares the umich Gaussian of radius 3 (sigma 7/6) with the msra peak
    assert got.dense_wh[:, 35, 48].tolist() == [17.0, 10.0]
    assert np.count_nonzero(got.dense_wh[0]) == 1


@pytest.mark.parametrize("options, error, match", [
    ({"gaussian": "gauss"}, ValueError, r"gaussian must be one of \['umich', 'msra'\]"),
    ({"gaussian": None}, ValueError, "gaussian must be one of"),
    ({"gaussian": "msra"}, ValueError, r"gaussian='msra' needs gaussian_rad.*got -1"),
    ({"gaussian": "msra", "gaussian_rad": 0}, ValueError, "hm_gauss"),
    ({"gaussian": "msra", "gaussian_rad": 2**30}, ValueError, "needs gaussian_rad"),
    ({"gaussian": "msra", "gaussian_rad": 2.0}, TypeError, "gaussian_rad must be an integer"),
    ({"gaussian": "msra", "gaussian_rad": 2, "k": 0.5}, ValueError,
     r"^k shape gaussian='umich' only \(gaussian='msra' stamps every box with sigma "
     r"gaussian_rad\): leave it at the default$"),
    ({"gaussian": "msra", "gaussian_rad": 2, "min_radius": 1, "delte": 3}, ValueError,
     "^min_radius, delte shape gaussian='umich' only.*leave them at the default$"),
    ({"gaussian": "msra", "gaussian_rad": 2, "gaussian_iou": 0.5}, ValueError, "^gaussian_iou shape"),
    ({"gaussian": "msra", "gaussian_rad": 2, "radius_formula": "cornernet"}, ValueError,
     "^radius_formula shape"),
    ({"dense_wh": 1}, TypeError, "dense_wh must be True or False"),
    ({"cat_spec_wh": "yes"}, TypeError, "cat_spec_wh must be True or False"),
    ({"gaussian_rad": -2}, ValueError, "gaussian_rad must be >= -1"),
])
def test_centernet_options_are_checked(options, error, match):
    with pytest.raises(error, match=match):
        encode_centernet(np.array([[0, 0, 1, 1, 9, 9]]), batch_size=1, num_classes=2,
                         input_size=32, output_size=8, **options)
    with pytest.raises(error, match=match):
        fastheat.CenterNetEncoder(num_classes=2, input_size=32, output_size=8, **options)


@pytest.mark.parametrize("options", [{"gaussian_rad": 3}, {"gaussian_iou": 0.7},
                                     {"delte": 3, "k": 0.5}])
def test_cornernet_options(rng, options):
    detections = edge_case_boxes(rng, 60, 2, 2, (200, 300))
    assert_same("cornernet", detections, 2, 2, (200, 300), (50, 75), **options)


@pytest.mark.parametrize("mode", ENCODERS)
@pytest.mark.parametrize("name, value, error", [
    ("slots", 0, ValueError), ("slots", -3, ValueError), ("slots", 1.5, TypeError),
    ("slots", True, TypeError), ("slots", "8", TypeError),
    ("on_overflow", "clip", ValueError), ("on_overflow", None, ValueError),
    ("gaussian_iou", 1.0, ValueError), ("batch_size", 0, ValueError),
    ("min_radius", -1, ValueError), ("radius_formula", "x", ValueError),
    ("num_threads", 0, ValueError),
])
def test_options_are_checked(mode, name, value, error):
    encode, _, slots = ENCODERS[mode]
    name = slots if name == "slots" else name
    options = dict(batch_size=2, num_classes=2, input_size=(32, 32), output_size=(8, 8))
    with pytest.raises(error, match=name):
        encode(np.array([[0, 0, 1, 1, 9, 9]]), **{**options, name: value})


@pytest.mark.parametrize("mode", ENCODERS)
def test_bad_rows_are_named(mode):
    with pytest.raises(ValueError, match="row 1 has a category outside"):
        ENCODERS[mode][0](np.array([[0, 0, 1, 1, 9, 9], [0, 5, 1, 1, 9, 9]]), batch_size=1,
                          num_classes=2, input_size=(32, 32), output_size=(8, 8))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.sampled_from(list(ENCODERS)), st.integers(1, 12))
def test_property_matches_transcription(batch, mode, max_slots):
    assert_same(mode, *batch, on_overflow="truncate", **{ENCODERS[mode][2]: max_slots})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.integers(1, 12), st.sampled_from(CENTERNET_OPTIONS), st.booleans())
def test_property_centernet_options_match_transcription(batch, max_objs, options, dense_wh):
    options = {**options, "dense_wh": dense_wh or options.get("dense_wh", False)}
    assert_same("centernet", *batch, on_overflow="truncate", max_objs=max_objs, **options)


def test_centernet_render_and_collate_name_the_gaussian_option():
    sizes = dict(num_classes=2, input_size=32, output_size=8)
    rows = np.array([[0, 0, 1, 1, 9, 9]])
    umich = encode_centernet(rows, batch_size=1, **sizes, sparse=True)
    msra = encode_centernet(rows, batch_size=1, **sizes, gaussian="msra", gaussian_rad=2,
                            sparse=True)
    with pytest.raises(ValueError, match="other gaussian than this CenterNetEncoder's"):
        fastheat.CenterNetEncoder(**sizes, gaussian="msra", gaussian_rad=1).render(msra)
    with pytest.raises(ValueError, match="other gaussian than this CenterNetEncoder's"):
        fastheat.CenterNetEncoder(**sizes).render(msra)
    with pytest.raises(ValueError, match=r"items\[1\] was encoded with other gaussian_rad, gaussian"):
        fastheat.collate([umich, msra])
    fixed = fastheat.CenterNetEncoder(**sizes, gaussian_rad=3)  # shaped the stamps only
    np.testing.assert_array_equal(fixed.render(umich).hm, umich.to_dense().hm)
