"""CenterNet's optional targets: the NumPy transcription of its ctdet loop against fastheat.

    python -m pytest benchmarks/test_bench_centernet.py --benchmark-enable --benchmark-columns=min,median,max,rounds

One 32-image batch of COCO-like boxes (512x512 input, 128x128 output, 80 classes), one
thread, fresh outputs every call (the encoder: reused heatmaps), in one run side by side:

- ``centernet-every-field``: ``dense_wh=True`` and ``cat_spec_wh=True`` (CenterNet's
  ``draw_dense_reg`` after every box, and the class-specific sizes);
- ``centernet-msra``: ``gaussian="msra"``, ``gaussian_rad=4`` (CenterNet's ``mse_loss``,
  ``draw_msra_gaussian`` with ``hm_gauss=4``);
- ``centernet-default``: the default five fields, for what the options add.
"""

import pytest

import fastheat
import naive
from fastheat.workloads import coco_like_detections

SIZES = dict(num_classes=80, input_size=(512, 512), output_size=(128, 128), num_threads=1)
KINDS = {"every-field": dict(dense_wh=True, cat_spec_wh=True),
         "msra": dict(gaussian="msra", gaussian_rad=4), "default": {}}


@pytest.fixture(scope="module")
def detections():
    return coco_like_detections(0, batch_size=32, input_size=(512, 512))


@pytest.mark.parametrize("kind", KINDS)
def test_transcription(benchmark, detections, kind):
    benchmark.group = f"centernet-{kind}"
    benchmark.pedantic(naive.encode_centernet,
                       args=(detections, 32, 80, (512, 512), (128, 128)), kwargs=KINDS[kind],
                       rounds=3, warmup_rounds=0)


@pytest.mark.parametrize("kind", KINDS)
def test_encode_centernet(benchmark, detections, kind):
    benchmark.group = f"centernet-{kind}"
    benchmark(fastheat.encode_centernet, detections, batch_size=32, **SIZES, **KINDS[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_centernet_encoder(benchmark, detections, kind):
    benchmark.group = f"centernet-{kind}"
    encoder = fastheat.CenterNetEncoder(**SIZES, **KINDS[kind])
    encoder(detections, 32)
    benchmark(encoder, detections, 32)
