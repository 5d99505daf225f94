"""CornerEncoder: reused buffers with sparse reset give the reference's maps on every call."""

import pickle

import numpy as np
import pytest

import fastheat
import naive
from cases import edge_case_boxes
from fastheat.workloads import coco_like_detections

OPTIONS = dict(num_classes=5, input_size=(300, 400), output_size=(75, 100))


def expected(detections, batch_size, dtype=np.float32, **options):
    return naive.encode_corners(detections, batch_size, 5, (300, 400), (75, 100), dtype=dtype,
                                **options)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_sequence_of_batches(rng, dtype, num_threads):
    encoder = fastheat.CornerEncoder(**OPTIONS, dtype=dtype, num_threads=num_threads)
    for batch_size in [3, 3, 1, 6, 2, 6, 4]:
        if rng.uniform() < 0.5:
            detections = coco_like_detections(int(rng.integers(1 << 30)), batch_size=batch_size,
                                              num_classes=5, input_size=(300, 400),
                                              boxes_per_image=rng.choice([0, 5, 40]))
        else:
            detections = edge_case_boxes(rng, 60, batch_size, 5, (300, 400))
        got = encoder(detections, batch_size)
        for g, w in zip(got, expected(detections, batch_size, dtype)):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_huge_radius_boxes_are_cleared():
    encoder = fastheat.CornerEncoder(**OPTIONS, gaussian_rad=1028)
    encoder(np.array([[0, 1, 10.0, 10.0, 50.0, 60.0]]), 1)
    tl, br = encoder(np.zeros((0, 6)), 1)
    assert not tl.any() and not br.any()


def test_views_are_read_only_and_copy_is_fresh():
    encoder = fastheat.CornerEncoder(**OPTIONS)
    detections = coco_like_detections(2, batch_size=2, num_classes=5, input_size=(300, 400))
    views = encoder(detections, 2)
    with pytest.raises(ValueError):
        views.tl_heatmaps[0, 0, 0, 0] = 1.0
    copies = encoder(detections, 2, copy=True)
    assert copies.tl_heatmaps.flags.writeable and copies.tl_heatmaps.base is None
    encoder(np.zeros((0, 6)), 2)
    assert not views.tl_heatmaps.any()  # the views saw the next call: documented
    np.testing.assert_array_equal(copies.tl_heatmaps, expected(detections, 2)[0])


def test_failed_call_leaves_encoder_usable():
    encoder = fastheat.CornerEncoder(**OPTIONS)
    detections = coco_like_detections(4, batch_size=2, num_classes=5, input_size=(300, 400))
    encoder(detections, 2)
    with pytest.raises(ValueError, match="row 0"):
        encoder(np.array([[0, 9, 1, 1, 2, 2]]), 2)
    got = encoder(detections[:3], 2)
    np.testing.assert_array_equal(got.tl_heatmaps, expected(detections[:3], 2)[0])


def test_encoder_options_are_checked():
    with pytest.raises(ValueError, match="gaussian_iou"):
        fastheat.CornerEncoder(**OPTIONS, gaussian_iou=0)
    with pytest.raises(ValueError, match="num_threads"):
        fastheat.CornerEncoder(**OPTIONS, num_threads=0)
    with pytest.raises(ValueError, match="batch_size"):
        fastheat.CornerEncoder(**OPTIONS)(np.zeros((0, 6)), 0)


def test_pickled_encoder_carries_configuration_not_buffers():
    encoder = fastheat.CornerEncoder(**OPTIONS, gaussian_iou=0.5, min_radius=1, num_threads=1)
    detections = [coco_like_detections(seed, batch_size=4, num_classes=5, input_size=(300, 400))
                  for seed in (3, 4)]
    want = encoder(detections[0], 4, copy=True)
    data = pickle.dumps(encoder)
    assert len(data) < 10_000  # no buffers inside
    clone = pickle.loads(data)
    assert clone.spec == encoder.spec and clone.num_threads == 1
    got = clone(detections[0], 4)
    np.testing.assert_array_equal(got.tl_heatmaps, want.tl_heatmaps)
    np.testing.assert_array_equal(got.br_heatmaps, want.br_heatmaps)
    np.testing.assert_array_equal(encoder(detections[1], 4).tl_heatmaps,
                                  clone(detections[1], 4).tl_heatmaps)


class LabelledEncoder(fastheat.CornerEncoder):
    """A subclass with its own attribute and value equality (so not hashable)."""

    def __init__(self, label, **options):
        super().__init__(**options)
        self.label = label

    def __eq__(self, other):
        return isinstance(other, LabelledEncoder) and self.label == other.label


def test_encoder_subclasses_pickle_their_attributes():
    encoder = LabelledEncoder("train", **OPTIONS)
    detections = coco_like_detections(5, batch_size=3, num_classes=5, input_size=(300, 400))
    want = encoder(detections, 3, copy=True)
    clone = pickle.loads(pickle.dumps(encoder))
    assert clone.label == "train" and clone == encoder
    np.testing.assert_array_equal(clone(detections, 3).tl_heatmaps, want.tl_heatmaps)
