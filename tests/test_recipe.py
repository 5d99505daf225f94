"""The README's "adding a family" recipe, as a tested example: its toy family, exactly the
README's block, registered for this module only, gets everything the README promises."""

import contextlib
import importlib
import inspect
import io
import pathlib
import pickle
import pydoc
import re
import sys
import types
import warnings

import numpy as np
import pytest

import fastheat
import naive
from cases import edge_case_boxes
from fastheat._engine.api import REQUIRED
from fastheat._engine.registry import FAMILIES
from fastheat._engine.sparse_check import check_sparse
from test_sparse_check import corruptions, renderings

README = pathlib.Path(__file__).parent.parent / "README.md"
SIZES = dict(num_classes=3, input_size=(96, 128), output_size=(24, 32))


@pytest.fixture(scope="module")
def recipe():
    """The README's recipe block run as the module ``readme_recipe``: its family is registered
    until this module's tests end (other tests count the registered families)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    block, = [block for block in blocks if 'name="toy_centres"' in block]
    module = types.ModuleType("readme_recipe")
    sys.modules[module.__name__] = module  # pickle finds the result type there
    try:
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            exec(compile(block, "README.md", "exec"), module.__dict__)
        module.printed = printed.getvalue()
        yield module
    finally:
        FAMILIES.pop("toy_centres", None)
        del sys.modules[module.__name__]


def naive_encode_centres(detections, batch_size, num_classes, input_size, output_size,
                         gaussian_rad=2, max_objs=16):
    """The toy family in plain NumPy: each image's first ``max_objs`` boxes (input order) as
    a CornerNet Gaussian of radius ``gaussian_rad`` at its scaled centre's cell, and its
    scaled size in its slot."""
    (in_h, in_w), (out_h, out_w) = input_size, output_size
    width_ratio, height_ratio = out_w / in_w, out_h / in_h
    heatmap = np.zeros((batch_size, num_classes, out_h, out_w), np.float32)
    sizes = np.zeros((batch_size, max_objs, 2), np.float32)
    for b in range(batch_size):
        for t, (_, category, x1, y1, x2, y2) in enumerate(
                detections[detections[:, 0] == b][:max_objs]):
            x = int((x1 + x2) / 2 * width_ratio)
            y = int((y1 + y2) / 2 * height_ratio)
            sizes[b, t] = (x2 - x1) * width_ratio, (y2 - y1) * height_ratio
            naive.draw_gaussian(heatmap[b, int(category)], [x, y], gaussian_rad)
    return heatmap, sizes


def boxes(rng, batch_size=3):
    return edge_case_boxes(rng, 6 * batch_size, batch_size, SIZES["num_classes"],
                           SIZES["input_size"])


def assert_identical(got, want):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(g), w)
        assert np.asarray(g).dtype == w.dtype


def test_the_block_runs_as_the_readme_says(recipe):
    assert recipe.printed.splitlines() == [
        "(2, 2, 32, 32) [10.  5.]",
        "detections row 2 (image 'dog.jpg' (batch index 1)) has a category outside [0, 2): "
        "[1.0, 5.0, 0.0, 0.0, 1.0, 1.0]"]


def test_one_shot_equals_the_numpy_transcription(recipe, rng):
    for _ in range(20):
        detections = boxes(rng)
        got = recipe.encode_centres(detections, batch_size=3, **SIZES)
        assert type(got) is recipe.CentreTargets
        assert_identical(got, naive_encode_centres(detections, 3, **SIZES))
    got = recipe.encode_centres(detections, batch_size=3, **SIZES, gaussian_rad=0, max_objs=2,
                                on_overflow="truncate")
    assert_identical(got, naive_encode_centres(detections, 3, **SIZES, gaussian_rad=0,
                                               max_objs=2))


def test_the_one_shot_function_is_made_from_the_options(recipe):
    family = FAMILIES["toy_centres"]
    signature = inspect.signature(recipe.encode_centres)
    assert signature == family.signature()
    parameters = list(signature.parameters.values())
    assert [p.name for p in parameters[:2]] == ["detections", "batch_size"]
    assert {p.name: p.default for p in parameters[2:-4]} == {
        name: inspect.Parameter.empty if default is REQUIRED else default
        for name, default in family.options.items()}
    assert [p.name for p in parameters[-4:]] == ["out", "sparse", "image_ids", "num_threads"]
    shown = pydoc.render_doc(recipe.encode_centres, renderer=pydoc.plaintext)
    assert "Encode box centres as heatmaps of a fixed radius" in shown and "max_objs=16" in shown
    assert inspect.signature(recipe.CentreEncoder) == family.signature(encoder=True)
    with pytest.raises(TypeError, match="unexpected option 'sigma'"):
        recipe.encode_centres(np.zeros((0, 6)), batch_size=1, **SIZES, sigma=2)
    with pytest.raises(TypeError, match="missing required option 'num_classes'"):
        recipe.encode_centres(np.zeros((0, 6)), batch_size=1, input_size=8, output_size=8)


def test_image_ids_name_the_image_in_errors(recipe):
    bad = np.array([[0, 0, 1.0, 1.0, 5.0, 5.0], [1, 7, 1.0, 1.0, 5.0, 5.0]])
    for call in (lambda: recipe.encode_centres(bad, batch_size=2, **SIZES,
                                               image_ids=["a.jpg", "b.jpg"]),
                 lambda: recipe.CentreEncoder(**SIZES)(bad, 2, image_ids=["a.jpg", "b.jpg"])):
        with pytest.raises(ValueError, match=r"row 1 \(image 'b.jpg' \(batch index 1\)\)"):
            call()


def test_encoder_reuses_its_maps_with_a_sparse_reset(recipe, rng):
    encoder = recipe.CentreEncoder(**SIZES)
    for batch_size in (3, 3, 2, 3):  # each call clears only what the previous one stamped
        detections = boxes(rng, batch_size)
        want = recipe.encode_centres(detections, batch_size=batch_size, **SIZES)
        got = encoder(detections, batch_size)
        assert_identical(got, want)
        assert not got.heatmap.flags.writeable
    assert_identical(encoder(detections, batch_size, copy=True), want)


def test_out_is_overwritten_entirely(recipe, rng):
    detections = boxes(rng)
    want = recipe.encode_centres(detections, batch_size=3, **SIZES)
    out = tuple(np.full_like(field, 7) for field in want)
    got = recipe.encode_centres(detections, batch_size=3, **SIZES, out=out)
    assert all(g is o for g, o in zip(got, out))
    assert_identical(got, want)


def test_sparse_targets_render_collate_and_cross_to_torch(recipe, rng):
    detections = boxes(rng)
    want = recipe.encode_centres(detections, batch_size=3, **SIZES)
    sparse = recipe.encode_centres(detections, batch_size=3, **SIZES, sparse=True)
    assert sparse.family == "toy_centres"
    check_sparse(sparse)
    assert_identical(sparse.to_dense(), want)
    assert_identical(recipe.CentreEncoder(**SIZES).render(sparse), want)
    assert_identical(pickle.loads(pickle.dumps(sparse)).to_dense(), want)
    images = [recipe.encode_centres(detections[detections[:, 0] == b] * [0, 1, 1, 1, 1, 1],
                                    batch_size=1, **SIZES, sparse=True) for b in range(3)]
    assert_identical(fastheat.collate(images).to_dense(), want)
    torch = pytest.importorskip("torch")
    to_dense = importlib.import_module("fastheat.torch").to_dense
    for method in ("numba", "scatter"):
        got = to_dense(sparse, method=method)
        assert all(isinstance(field, torch.Tensor) for field in got)
        assert_identical([field.numpy() for field in got], want)


def test_corrupted_sparse_targets_are_refused_at_every_door(recipe, rng):
    sparse = recipe.encode_centres(boxes(rng), batch_size=3, **SIZES, sparse=True)
    encoder = recipe.CentreEncoder(**SIZES)
    for name, corrupted, message in corruptions(sparse):
        for door, render in renderings(corrupted, encoder).items():
            if door == "unpickle" and name in ("points int32", "slots a list"):
                continue  # as in test_sparse_check: pickling makes those good again
            with pytest.raises((ValueError, TypeError), match=message):
                render()


def test_warmup_prepares_the_family(recipe, monkeypatch):
    calls = []
    compiled = recipe.centre_pass
    monkeypatch.setattr(recipe, "centre_pass", lambda *args: (calls.append(args[1]),
                                                               compiled(*args)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastheat.warmup(num_threads=1)
    assert calls  # its pass ran: its kernels and the stamping kernel of its kind are ready
