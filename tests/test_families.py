"""What the engine gives every family (``fastheat._engine.family.FAMILIES``), bit for bit.

For each registered family: its public one-shot function and encoder class, found in
``fastheat.__all__``, agree on every call of a batch sequence, and so do ``out=`` (which
overwrites every field or, when anything is wrong, leaves all of ``out`` untouched) and sparse
targets rendered by ``to_dense``, an encoder's ``render`` and ``collate``; the signatures list
the family's options; ``profile_stages`` times every stage. A new family is tested here for
free.
"""

import inspect
import pickle
from types import SimpleNamespace

import numpy as np
import pytest

import fastheat
from cases import edge_case_boxes, mixed_batch, uninitialised
from fastheat._engine import sinks, stamping
from fastheat._engine.family import FAMILIES, Encoder
from fastheat.workloads import NUSCENES, nuscenes_like_boxes

# families of detections; one with its own input (keypoints, deeplabcut, openpose) tests the
# same in its own module (tests/test_keypoints.py, test_deeplabcut.py, test_openpose.py)
FAMILY_NAMES = sorted(name for name, family in FAMILIES.items() if family.takes_detections)
SIZES = dict(num_classes=3, input_size=(96, 128), output_size=(24, 32))
REQUIRED = inspect.Parameter.empty
KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
STAGES = {"check", "pass", "stamp", "outputs"}


def public_api(family):
    """``(function, encoder_class)``: the one public function returning ``family.result`` and
    the one public ``Encoder`` subclass of ``family``."""
    public = [getattr(fastheat, name) for name in fastheat.__all__]
    functions = [obj for obj in public if inspect.isfunction(obj)
                 and inspect.signature(obj).return_annotation is family.result]
    encoders = [obj for obj in public if isinstance(obj, type) and issubclass(obj, Encoder)
                and obj.family is family]
    assert len(functions) == 1 and len(encoders) == 1, (family.name, functions, encoders)
    return functions[0], encoders[0]


def family_options(family, variant="defaults"):
    """Options for ``family``: ``SIZES``, and for ``variant``:

    * ``"defaults"``: nothing else;
    * ``"options"``: every other option changed (where the family has it), few slots, truncated;
    * ``"huge radii"``: radii beyond the Gaussian tables (which stop at the map's larger side);
    * ``"every field"``: every optional field of the result (CenterNet's ``dense_wh`` and
      ``cat_spec_wh``, mmdetection's guiding shifts; its centripetal shifts refuse zero-size
      boxes: tests/test_mmdet.py), and CenterNet's other Gaussian (``"msra"``), whose window
      is wider.
    """
    options = dict(SIZES)
    required = [name for name, default in family.options.items() if default is REQUIRED]
    assert set(required) <= set(options), f"add values for {required} to SIZES"
    if variant == "options":
        formula = {"cornernet": "centernet", "centernet": "cornernet"}
        tweaks = dict(gaussian_iou=0.5, delte=3, k=0.5, min_radius=1, dtype=np.float64,
                      radius_formula=formula.get(family.options.get("radius_formula")),
                      on_overflow="truncate", alpha=0.3, beta=0.8, wh_area_process="sqrt",
                      wh_agnostic=False)
        if family.slots_option:
            tweaks[family.slots_option] = 5
    elif variant == "huge radii":
        tweaks = dict(min_radius=40)
    elif variant == "every field":
        tweaks = dict(dense_wh=True, cat_spec_wh=True, gaussian="msra", gaussian_rad=2,
                      with_guiding_shift=True, wh_gaussian=False)
    else:
        tweaks = {}
    return {**options, **{name: value for name, value in tweaks.items() if name in family.options}}


VARIANTS = [  # (variant, num_threads)
    ("defaults", None), ("options", 1), ("huge radii", 1), ("options", 2), ("every field", 2),
]


def assert_identical(got, want):
    """Same result type, and every field the same dtype, shape and bits."""
    assert type(got) is type(want)
    for name, g, w in zip(got._fields, got, want):
        assert (g.dtype, g.shape) == (w.dtype, w.shape), name
        bits = f"u{g.itemsize}"
        differ = np.argwhere(g.view(bits) != w.view(bits))
        assert differ.size == 0, f"{name}: {len(differ)} cells differ, first at {differ[0]}"


def garbage(result):
    """Arrays of ``result``'s shapes and dtypes, full of 7s (a tuple)."""
    return tuple(np.full_like(array, 7) for array in result)


def test_named_families_are_public():
    assert public_api(FAMILIES["corners"]) == (fastheat.encode_corners, fastheat.CornerEncoder)
    assert public_api(FAMILIES["cornernet"]) == (fastheat.encode_cornernet,
                                                 fastheat.CornerNetEncoder)
    assert public_api(FAMILIES["centernet"]) == (fastheat.encode_centernet,
                                                 fastheat.CenterNetEncoder)
    # families with their own input: tested in their own modules (test_keypoints.py,
    # test_centerpoint.py)
    assert public_api(FAMILIES["keypoints"]) == (fastheat.encode_keypoints,
                                                 fastheat.KeypointEncoder)
    assert public_api(FAMILIES["centerpoint"]) == (fastheat.encode_centerpoint,
                                                   fastheat.CenterPointEncoder)

    assert public_api(FAMILIES["mmdet_centernet"]) == (fastheat.encode_mmdet_centernet,
                                                       fastheat.MmdetCenterNetEncoder)
    assert public_api(FAMILIES["mmdet_corner"]) == (fastheat.encode_mmdet_corner,
                                                    fastheat.MmdetCornerEncoder)
    assert public_api(FAMILIES["ttfnet"]) == (fastheat.encode_ttfnet, fastheat.TTFNetEncoder)

    assert public_api(FAMILIES["deeplabcut"]) == (fastheat.encode_deeplabcut,
                                                  fastheat.DeepLabCutEncoder)
    assert public_api(FAMILIES["openpose"]) == (fastheat.encode_openpose, fastheat.OpenPoseEncoder)


BATCH_SIZES = [2, 2, 5, 1, 3, 7, 7, 1, 4, 8, 2, 6]  # grow, shrink, grow again


@pytest.mark.parametrize("variant, threads", VARIANTS)
@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_encoder_out_and_sparse_equal_one_shot_on_every_call(rng, name, variant, threads):
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family, variant)
    encoder = Encoder(**options, num_threads=threads)
    kept = []  # arrays of the previous call that the caller owns, with their expected values
    for call, batch_size in enumerate(BATCH_SIZES):
        detections = mixed_batch(rng, batch_size, SIZES["num_classes"], SIZES["input_size"],
                                 kind=call % 4)
        fresh = encode(detections, batch_size=batch_size, **options)

        copy = call % 3 == 2
        got = encoder(detections, batch_size, copy=copy)
        assert_identical(got, fresh)
        rendered = family.dense(encoder.spec)  # maps and cell fields: reused buffers
        for array in got[:rendered]:
            assert array.flags.writeable == copy and (array.base is None) == copy
        for array in got[rendered:]:  # slot arrays: fresh, the caller's
            assert array.flags.writeable and array.base is None
        for array, want in kept:  # untouched by this call
            assert not any(np.shares_memory(array, new) for new in got)
            np.testing.assert_array_equal(array, want)
        owned = got if copy else got[rendered:]
        kept = [(array, array.copy()) for array in owned]

        out = garbage(fresh)
        if call % 2:
            out = type(fresh)(*out)
        result = encode(detections, batch_size=batch_size, **options, out=out,
                        num_threads=threads)
        assert type(result) is type(fresh) and all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)

        sparse = encode(detections, batch_size=batch_size, **options, sparse=True)
        sparse = pickle.loads(pickle.dumps(sparse))  # as from a DataLoader worker
        assert_identical(sparse.to_dense(num_threads=threads), fresh)
        out = garbage(fresh)
        result = sparse.to_dense(out)
        assert all(r is o for r, o in zip(result, out))
        assert_identical(result, fresh)
        assert_identical(encoder.render(sparse, copy=copy), fresh)  # the next call clears it

        if call == 6:  # a failed call leaves the encoder as it was
            bad = np.array([[0, 0, 1.0, 1.0, 9.0, 9.0], [0, 0, 1.0, np.nan, 9.0, 9.0]])
            with pytest.raises(ValueError, match="row 1 is not finite"):
                encoder(bad, batch_size)


@pytest.mark.parametrize("cleared_bytes", [sinks.CLEARED_FRESH_BYTES, 0])
@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_fresh_outputs_are_written_everywhere(rng, name, cleared_bytes, monkeypatch):
    """Fresh outputs up to ``sinks.CLEARED_FRESH_BYTES`` are ``np.empty`` cleared by the kernels
    (here full of 0xFF bytes: ``sinks``' NumPy replaced, not NumPy's, which Numba compiles
    kernels against), larger ones zeros (``cleared_bytes`` 0): both equal the encoder's
    maps, with threads or not."""
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family, "every field")
    monkeypatch.setattr(sinks, "CLEARED_FRESH_BYTES", cleared_bytes)
    for threads in (1, 2):
        detections = mixed_batch(rng, 5, SIZES["num_classes"], SIZES["input_size"])
        want = Encoder(**options)(detections, 5, copy=True)
        sparse = encode(detections, batch_size=5, **options, sparse=True)
        with monkeypatch.context() as patch:
            patch.setattr(sinks, "np", SimpleNamespace(empty=uninitialised))
            assert_identical(encode(detections, batch_size=5, **options, num_threads=threads),
                             want)
            assert_identical(sparse.to_dense(num_threads=threads), want)


def own_input_call(name, rng):
    """A one-shot call of the family ``name`` that takes its own input, on a small batch
    with keypoints inside, on the edge of and beyond the map, some not visible."""
    keypoints = rng.uniform(-20, 280, (3, 4, 17, 2)).astype(np.float32)
    visible = (rng.uniform(size=(3, 4, 17)) < 0.8).astype(np.float32)
    calls = {
        "keypoints": lambda **kw: [fastheat.encode_keypoints(
            keypoints, visible, input_size=(256, 192), heatmap_size=(64, 48), method=method,
            **kw) for method in ("msra", "udp", "dark")],
        "associative_embedding": lambda **kw: fastheat.encode_associative_embedding(
            keypoints, visible, input_size=(256, 192), heatmap_size=(64, 48), **kw),
        "simcc": lambda **kw: fastheat.encode_simcc(keypoints, visible, input_size=(256, 192),
                                                    **kw),
        "deeplabcut": lambda **kw: fastheat.encode_deeplabcut(
            keypoints, visible, heatmap_size=(24, 32), stride=8, **kw),
        "openpose": lambda **kw: fastheat.encode_openpose(
            keypoints, visible, limbs=((0, 1), (1, 2), (2, 0), (3, 3)), input_size=(96, 128),
            stride=4, sigma=3.0, **kw),
        "centerpoint": lambda **kw: fastheat.encode_centerpoint(
            nuscenes_like_boxes(1, batch_size=2), batch_size=2, **NUSCENES, **kw),
    }
    return calls[name]


@pytest.mark.parametrize("name", sorted(set(FAMILIES) - set(FAMILY_NAMES)))
def test_fresh_outputs_of_families_with_their_own_input(rng, name, monkeypatch):
    """``test_fresh_outputs_are_written_everywhere`` for the families with their own input:
    ``np.empty`` full of 0xFF bytes, cleared by the kernels, equals zeros."""
    call = own_input_call(name, rng)
    with monkeypatch.context() as patch:
        patch.setattr(sinks, "CLEARED_FRESH_BYTES", 0)
        want = call()
    for threads in (1, 2):
        with monkeypatch.context() as patch:
            patch.setattr(sinks, "np", SimpleNamespace(empty=uninitialised))
            got = call(num_threads=threads)
        for g, w in zip(got if name == "keypoints" else [got],
                        want if name == "keypoints" else [want]):
            assert_identical(g, w)


@pytest.mark.parametrize("row_bytes", [0, 10**15])
@pytest.mark.parametrize("name", FAMILY_NAMES + ["keypoints"])
def test_encoders_clear_window_by_window_or_whole(rng, name, row_bytes, monkeypatch):
    """An encoder clears the previous call's cells or, where cheaper, its whole buffers
    (``stamping.clearing_all_is_cheaper``): forced either way (``ROW_BYTES`` 0: by window
    unless the windows cover everything; huge: whole), every call of a sequence of batches
    of growing and shrinking size equals the one-shot function."""
    monkeypatch.setattr(stamping, "ROW_BYTES", row_bytes)
    if name == "keypoints":
        for method in ("msra", "udp", "dark"):  # dark's windows cover about 60% of its maps
            options = dict(input_size=(256, 192), heatmap_size=(64, 48), method=method)
            encoder = fastheat.KeypointEncoder(**options)
            for batch_size in BATCH_SIZES:
                keypoints = rng.uniform(-20, 280, (batch_size, 1, 17, 2)).astype(np.float32)
                assert_identical(encoder(keypoints),
                                 fastheat.encode_keypoints(keypoints, **options))
        return
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family, "every field")
    encoder = Encoder(**options)
    for call, batch_size in enumerate(BATCH_SIZES):
        detections = mixed_batch(rng, batch_size, SIZES["num_classes"], SIZES["input_size"],
                                 kind=call % 4)
        assert_identical(encoder(detections, batch_size),
                         encode(detections, batch_size=batch_size, **options))


def test_huge_boxes_leave_nothing_behind_in_the_encoders():
    """A box far bigger than the map, then an empty batch: every map is zero again, and every
    field as for an empty batch (TTFNet's ``box_target`` is -1)."""
    huge = np.array([[0, 1, -5000.0, -4000.0, 9000.0, 7000.0], [1, 0, 10.0, 10.0, 20.0, 20.0]])
    for family in map(FAMILIES.get, FAMILY_NAMES):
        encode, Encoder = public_api(family)
        encoder = Encoder(**family_options(family))
        assert_identical(encoder(huge, 2), encode(huge, batch_size=2, **family_options(family)))
        result = encoder(np.zeros((0, 6)), 2)
        assert not any(array.any() for array in result[:family.maps]), family.name
        assert_identical(result, encode(np.zeros((0, 6)), batch_size=2, **family_options(family)))


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_pickled_encoder_carries_its_options(rng, name):
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family, "options")
    encoder = Encoder(**options)
    detections = edge_case_boxes(rng, 30, 3, SIZES["num_classes"], SIZES["input_size"])
    encoder(detections, 3)
    clone = pickle.loads(pickle.dumps(encoder))
    assert_identical(clone(detections[::-1], 3), encode(detections[::-1], batch_size=3, **options))


def bad_arrays(array):
    """``(bad array, error, message)``: ``array`` spoiled in each way ``out`` is checked."""
    other = np.float64 if array.dtype != np.float64 else np.float32
    wider = np.full((*array.shape[:-1], 2 * array.shape[-1]), 7, array.dtype)
    read_only = np.full_like(array, 7)
    read_only.flags.writeable = False
    return [(np.full(array.shape, 7, other), TypeError, "has dtype"),
            (wider, ValueError, "has shape"),
            (wider[..., ::2], ValueError, "must be C-contiguous"),
            (read_only, ValueError, "is not writeable"),
            (array.tolist(), TypeError, "must be a numpy.ndarray")]


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_bad_out_is_named_and_left_untouched(rng, name):
    family = FAMILIES[name]
    encode, _ = public_api(family)
    options = family_options(family)
    detections = mixed_batch(rng, 3, SIZES["num_classes"], SIZES["input_size"])
    fields = encode(detections, batch_size=3, **options)

    def check(out, error, match, **extra):
        before = [np.array(array, copy=True) for array in out]
        with pytest.raises(error, match=match):
            encode(detections, batch_size=3, **options, out=out, **extra)
        for array, was in zip(out, before):
            np.testing.assert_array_equal(array, was)

    n = len(fields)
    check(garbage(fields)[:-1], TypeError, f"out must be a tuple of {n} numpy arrays")
    check(garbage(fields) + (np.zeros(1),), TypeError, f"out must be a tuple of {n}")
    with pytest.raises(TypeError, match=f"tuple of {n}"):
        encode(detections, batch_size=3, **options, out=fields[0].copy())
    for i, field in enumerate(fields):
        for bad, error, message in bad_arrays(field):
            out = list(garbage(fields))
            out[i] = bad
            check(tuple(out), error, rf"out\[{i}\] \(\w+\) {message}")
        for j in range(i):  # an earlier field of the same kind, shared
            if (fields[j].shape, fields[j].dtype) == (field.shape, field.dtype):
                out = list(garbage(fields))
                out[i] = out[j]
                check(tuple(out), ValueError,
                      rf"out\[{j}\] \(\w+\) and out\[{i}\] \(\w+\) share memory")
    check(garbage(encode(detections, batch_size=4, **options)), ValueError,
          r"out\[0\] \(\w+\) has shape")
    check(garbage(fields), ValueError, "exclude each other", sparse=True)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_bad_detections_leave_out_untouched(name):
    family = FAMILIES[name]
    encode, _ = public_api(family)
    options = family_options(family)
    boxes = np.array([[0, 0, 1.0, 1.0, 9.0, 9.0], [1, 2, 30.0, 40.0, 60.0, 50.0]])
    bad = {"row 2 is not finite": [[0, 1, np.nan, 1.0, 9.0, 9.0]],
           "row 2 has a category outside": [[0, 3, 1.0, 1.0, 9.0, 9.0]],
           "row 2 has x2 < x1": [[1, 1, 9.0, 1.0, 1.0, 9.0]]}
    if family.slots_option:
        slots = family.options[family.slots_option]
        bad["image 1 has"] = [[1, 0, 1.0, 1.0, 9.0, 9.0]] * slots
        options = {**options, "on_overflow": "error"}  # the default keeps the first boxes
    for message, rows in bad.items():
        detections = np.vstack([boxes, rows])
        out = garbage(encode(boxes, batch_size=2, **options))
        with pytest.raises(ValueError, match=message):
            encode(detections, batch_size=2, **options, out=out)
        assert all((array == 7).all() for array in out), message


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_signatures_list_the_family_options(name):
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    function, encoder = inspect.signature(encode), inspect.signature(Encoder)
    assert list(function.parameters) == ["detections", "batch_size", *family.options, "out",
                                         "sparse", "image_ids", "num_threads"]
    assert list(encoder.parameters) == [*family.options, "num_threads"]
    for signature in function, encoder:
        parameters = dict(signature.parameters)
        parameters.pop("detections", None)
        assert all(p.kind is KEYWORD_ONLY for p in parameters.values())
        defaults = {name: p.default for name, p in parameters.items()}
        assert {name: defaults[name] for name in family.options} == family.options
        assert defaults["num_threads"] is None and defaults.get("out") is None
        assert defaults.get("sparse", False) is False and defaults.get("image_ids") is None
    assert function.return_annotation is family.result


DOCUMENTED = {  # README's API table: every option's default (REQUIRED: none)
    "corners": dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                    gaussian_iou=0.3, gaussian_rad=-1, delte=6, k=1.0, clip=False,
                    dtype=np.float32, radius_formula="cornernet", min_radius=0),
    "cornernet": dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                      gaussian_iou=0.3, gaussian_rad=-1, delte=6, k=1.0, clip=False,
                      max_tag_len=128, on_overflow="warn", radius_formula="cornernet",
                      min_radius=0),
    "centernet": dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                      gaussian_iou=0.7, radius_formula="centernet", max_objs=128,
                      on_overflow="warn", gaussian="umich", gaussian_rad=-1, dense_wh=False,
                      cat_spec_wh=False, delte=6, k=1.0, min_radius=0),
    "mmdet_centernet": dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED),
    "mmdet_corner": dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED,
                         with_guiding_shift=False, with_centripetal_shift=False),
    "ttfnet": dict(num_classes=REQUIRED, input_size=REQUIRED, output_size=REQUIRED, alpha=0.54,
                   beta=0.54, wh_area_process="log", wh_gaussian=True, wh_agnostic=True),
}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_signatures_show_the_documented_defaults(name):
    for public in public_api(FAMILIES[name]):
        parameters = inspect.signature(public).parameters
        got = {option: p.default for option, p in parameters.items()
               if option not in ("detections", "batch_size", "out", "sparse", "image_ids",
                                 "num_threads")}
        assert got == DOCUMENTED[name], public.__name__


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_unknown_and_missing_options_are_named(name):
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family)
    others = {option for f in FAMILIES.values() for option in f.options} - set(family.options)
    for call in (lambda **kw: encode(np.zeros((0, 6)), batch_size=1, **kw), Encoder):
        for unknown in sorted(others) + ["gaussian_sigma"]:
            with pytest.raises(TypeError, match=f"unexpected option '{unknown}'"):
                call(**options, **{unknown: 5})
        for required in options:
            with pytest.raises(TypeError, match=f"missing required option '{required}'"):
                call(**{o: v for o, v in options.items() if o != required})
    with pytest.raises(TypeError, match="batch_size"):
        encode(np.zeros((0, 6)), **options)
    with pytest.raises(TypeError):
        encode(np.zeros((0, 6)), 1, **options)  # batch_size is keyword-only


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_profile_stages_times_every_call_inside_the_block_only(rng, name):
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family)
    detections = edge_case_boxes(rng, 20, 3, SIZES["num_classes"], SIZES["input_size"])
    encoder = Encoder(**options)

    def calls():
        encode(detections, batch_size=3, **options)
        encoder(detections, 3)
        encoder(detections, 3, copy=True)
        encode(detections, batch_size=3, **options,
               out=garbage(encode(detections, batch_size=3, **options)))

    calls()
    with fastheat.profile_stages() as times:
        calls()
    recorded = {stage: list(durations) for stage, durations in times.items()}
    calls()
    with fastheat.profile_stages() as other:
        pass
    assert times == recorded and other == {}
    assert {"check", "pass", "stamp"} <= set(times) <= STAGES
    assert all(len(durations) == 5 and min(durations) >= 0 for durations in times.values())


def test_profile_stages_records_outputs():
    options = family_options(FAMILIES["corners"])
    with fastheat.profile_stages() as times:
        fastheat.encode_corners(np.zeros((0, 6)), batch_size=1, **options)
        fastheat.CornerEncoder(**options)(np.zeros((0, 6)), 1)
    assert set(times) == STAGES and len(times["outputs"]) == 2


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_collated_sparse_images_equal_the_batch(rng, name):
    family = FAMILIES[name]
    encode, Encoder = public_api(family)
    options = family_options(family, "options")
    detections = mixed_batch(rng, 5, SIZES["num_classes"], SIZES["input_size"])
    images = [detections[detections[:, 0] == b] * [0, 1, 1, 1, 1, 1] for b in range(5)]
    items = [encode(image, batch_size=1, **options, sparse=True) for image in images]
    collated = fastheat.collate(items)
    want = encode(detections, batch_size=5, **options)
    assert_identical(collated.to_dense(), want)
    assert_identical(Encoder(**options).render(collated), want)
