"""What per-image pipelines need: the single-image form, square sizes as one int, image_ids."""

import pickle

import numpy as np
import pytest

import fastheat
from fastheat._engine.registry import FAMILIES
from fastheat.workloads import coco_like_detections

SIZES = dict(num_classes=5, input_size=(120, 96), output_size=(30, 24))
ONE_SHOT = {"corners": fastheat.encode_corners, "cornernet": fastheat.encode_cornernet,
            "centernet": fastheat.encode_centernet}
ENCODERS = {"corners": fastheat.CornerEncoder, "cornernet": fastheat.CornerNetEncoder,
            "centernet": fastheat.CenterNetEncoder}


def one_image(seed):
    rows = coco_like_detections(seed, batch_size=1, num_classes=5, input_size=(120, 96),
                                boxes_per_image=8)
    return np.vstack([rows, [[0, 1, -30.0, 50.0, 20.0, 70.0]]])  # and one box partly off


@pytest.mark.parametrize("family, options", [
    *((family, {}) for family in sorted(ONE_SHOT)),
    ("centernet", dict(dense_wh=True, cat_spec_wh=True, gaussian="msra", gaussian_rad=3)),
])
def test_single_image_form_is_the_batch_of_one_without_its_axis(family, options):
    options = {**SIZES, **options}
    encode, encoder = ONE_SHOT[family], ENCODERS[family](**options)
    for seed in range(3):
        rows = one_image(seed)
        batched = encode(rows, batch_size=1, **options)
        single = encode(rows[:, 1:], batch_size=None, **options)
        reused = encoder(rows[:, 1:], None, copy=True)
        for got in (single, reused):
            assert type(got) is type(batched)
            assert len(got) == len(batched)
            for g, b in zip(got, batched):
                assert g.shape == b.shape[1:] and g.dtype == b.dtype
                np.testing.assert_array_equal(g, b[0])
        out = tuple(np.full_like(field, 7) for field in single)
        again = encode(rows[:, 1:], batch_size=None, **options, out=out)
        assert all(a is o for a, o in zip(again, out))
        for a, s in zip(again, single):
            np.testing.assert_array_equal(a, s)
        sparse = encode(rows[:, 1:], batch_size=None, **options, sparse=True)
        assert sparse.batch_size == 1  # kept, to be collated
        for s, b in zip(sparse.to_dense(), batched):
            np.testing.assert_array_equal(s, b)


def test_single_image_rows_have_five_columns():
    with pytest.raises(ValueError, match=r"5 columns \(category, x1, y1, x2, y2\)"):
        fastheat.encode_corners(np.zeros((2, 6)), batch_size=None, **SIZES)
    bad = [[0, 1.0, 1.0, 5.0, 5.0], [1, 50.5, np.nan, 90.0, 75.0]]
    with pytest.raises(ValueError, match=r"row 1 \(image 7 \(batch index 0\)\) is not finite: "
                                         r"\[1.0, 50.5, nan, 90.0, 75.0\]$"):
        fastheat.encode_corners(bad, batch_size=None, **SIZES, image_ids=7)
    empty = fastheat.encode_centernet([], batch_size=None, **SIZES)
    assert empty.hm.shape == (5, 30, 24) and not empty.hm.any() and not empty.reg_mask.any()


def test_one_int_is_a_square():
    rows = coco_like_detections(3, batch_size=2, num_classes=5, input_size=(512, 512))
    square = fastheat.encode_centernet(rows, batch_size=2, num_classes=5, input_size=512,
                                       output_size=128)
    pairs = fastheat.encode_centernet(rows, batch_size=2, num_classes=5, input_size=(512, 512),
                                      output_size=(128, 128))
    for a, b in zip(square, pairs):
        np.testing.assert_array_equal(a, b)
    for bad in (512.0, True, "512"):
        with pytest.raises(TypeError, match="input_size"):
            fastheat.encode_centernet(rows, batch_size=2, num_classes=5, input_size=bad,
                                      output_size=128)


@pytest.mark.parametrize("family", ["cornernet", "centernet"])
def test_image_ids_name_the_crowded_image(family):
    slots = FAMILIES[family].slots_option
    crowded = np.array([[0, 0, 1.0, 1.0, 9.0, 9.0]] * 3)
    options = {**SIZES, slots: 2, "on_overflow": "error"}
    with pytest.raises(ValueError, match=r"image 1234 \(batch index 0\) has 3 boxes"):
        ONE_SHOT[family](crowded[:, 1:], batch_size=None, **options, image_ids=1234)
    with pytest.raises(ValueError, match=r"image 'x.jpg' \(batch index 0\) has 3 boxes"):
        ENCODERS[family](**options)(crowded, 1, image_ids=["x.jpg"])
    with pytest.raises(ValueError, match="image_ids must be a sequence of batch_size=1"):
        ONE_SHOT[family](crowded, batch_size=1, **options, image_ids=[1, 2])


@pytest.mark.parametrize("options, fields", [
    ({}, ()), ({"dense_wh": True}, ("dense_wh", "dense_wh_mask")),
    ({"cat_spec_wh": True}, ("cat_spec_wh", "cat_spec_mask")),
    ({"dense_wh": True, "cat_spec_wh": True},
     ("dense_wh", "dense_wh_mask", "cat_spec_wh", "cat_spec_mask")),
])
def test_centernet_fields_are_the_options_own(options, fields):
    """A result holds only the fields its options fill, the others are None, and it pickles
    and goes through torch's default collate as the default five fields do."""
    rows = one_image(4)[:, 1:]
    targets = fastheat.encode_centernet(rows, batch_size=None, **SIZES, **options)
    assert isinstance(targets, fastheat.CenterNetTargets)
    assert targets._fields == ("hm", "wh", "reg", "ind", "reg_mask") + fields
    for name in ("dense_wh", "dense_wh_mask", "cat_spec_wh", "cat_spec_mask"):
        assert (getattr(targets, name) is None) == (name not in fields)
    hm, wh, reg, ind, reg_mask, *rest = targets
    assert len(rest) == len(fields)
    back = pickle.loads(pickle.dumps(targets))
    assert type(back) is type(targets) and back._fields == targets._fields
    for b, t in zip(back, targets):
        np.testing.assert_array_equal(b, t)
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate

    batch = default_collate([targets, targets])
    assert type(batch) is type(targets) and isinstance(batch.hm, torch.Tensor)
    assert batch.hm.shape == (2, *targets.hm.shape)
