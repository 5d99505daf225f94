"""scripts/show_targets.py: the PNG is written, and its heatmaps peak on the encoded points."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

SCRIPT = pathlib.Path(__file__).parent.parent / "scripts" / "show_targets.py"


@pytest.fixture(scope="module")
def show_targets():
    spec = importlib.util.spec_from_file_location("show_targets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def luminance(rgb):
    return rgb[..., :3].astype(np.float64) @ [0.2126, 0.7152, 0.0722]


@pytest.mark.parametrize("mode, columns", [("cornernet", 2), ("centernet", 1)])
def test_png_and_hottest_pixels(show_targets, tmp_path, mode, columns):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / "targets.png"
    assert show_targets.main(["--out", str(out), "--mode", mode, "--seed", "3", "--images", "3"]) == 0
    picture = imread(out)
    assert picture.ndim == 3 and picture.shape[0] > picture.shape[1] > 100

    detections, targets = show_targets.encode(mode, 3, 3)
    rows = show_targets.render(mode, detections, targets, 3, str(tmp_path / "again.png"))
    assert len(rows) == 3 and all(len(row) == columns for row in rows)
    for row in rows:
        for panel in row:
            assert len(panel.points) > 0
            # the panel as drawn, written to and read back from a PNG with one pixel per cell
            bare = tmp_path / "panel.png"
            import matplotlib.pyplot as plt
            plt.imsave(bare, show_targets.panel_image(panel.heat))
            light = luminance(imread(bare))
            hottest = np.argwhere(light == light.max())[:, ::-1]  # (x, y)
            h, w = panel.heat.shape
            inside = [(x, y) for x, y in panel.points.tolist() if 0 <= x < w and 0 <= y < h]
            assert inside and all(light[y, x] == light.max() for x, y in inside)
            distance = np.abs(hottest[:, None, :] - np.array(inside)[None, :, :]).max(axis=2)
            assert (distance.min(axis=1) <= 1).all()  # no hot pixel away from a point


def test_without_matplotlib_exits_with_2(show_targets, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # "import matplotlib" raises ImportError
    assert show_targets.main(["--out", str(tmp_path / "x.png")]) == 2
    assert "pip install -e .[plot]" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("method", ["msra", "udp", "dark"])
def test_keypoints_png_peaks_on_the_joints(show_targets, tmp_path, method):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / "keypoints.png"
    assert show_targets.main(["--out", str(out), "--mode", "keypoints", "--method", method,
                              "--seed", "5", "--images", "5"]) == 0
    picture = imread(out)
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0] > 100

    annotations, targets = show_targets.encode("keypoints", 5, 5, method)
    assert targets.heatmaps.shape == (5, 17, 64, 48) and targets.weights.shape == (5, 2, 17)
    rows = show_targets.render("keypoints", annotations, targets, 5,
                               str(tmp_path / "again.png"), method)
    assert len(rows) == 5 and all(len(row) == 1 for row in rows)
    for image, (panel,) in enumerate(rows):
        assert len(panel.points) == int((targets.weights[image] > 0).sum()) > 0
        inside = [(x, y) for x, y in panel.points.tolist() if 0 <= x < 48 and 0 <= y < 64]
        heat = panel.heat
        if method == "msra":  # every joint's Gaussian peaks at 1 on its cell, nowhere else
            assert inside and all(heat[y, x] == 1.0 for x, y in inside)
            hottest = np.argwhere(heat == 1.0)[:, ::-1]
            assert {tuple(cell) for cell in hottest.tolist()} <= set(map(tuple, inside))
        else:  # sub-pixel peaks: the joint's cell is within half a cell of each axis' centre
            assert all(heat[y, x] >= np.exp(-0.5 / 8) - 1e-6 for x, y in inside)


@pytest.mark.parametrize("mode, method", [("simcc", "msra"), ("associative_embedding", "msra"),
                                          ("associative_embedding", "udp")])
def test_simcc_and_associative_embedding_pngs_peak_on_the_joints(show_targets, tmp_path, mode,
                                                                 method):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / f"{mode}.png"
    assert show_targets.main(["--out", str(out), "--mode", mode, "--method", method,
                              "--seed", "5", "--images", "3"]) == 0
    picture = imread(out)
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0] > 100

    annotations, targets = show_targets.encode(mode, 5, 3, method)
    rows = show_targets.render(mode, annotations, targets, 3, str(tmp_path / "again.png"),
                               method)
    assert len(rows) == 3 and all(len(row) == 1 for row in rows)
    for image, (panel,) in enumerate(rows):
        if mode == "simcc":  # every labelled joint: its peak, scaled to 1, at its argmax cells
            assert panel.heat.shape == (512, 384)
            assert len(panel.points) == int((targets.weights[image] > 0).sum()) > 0
            assert all(panel.heat[y, x] == 1.0 for x, y in panel.points.tolist())
        else:  # every joint on the map (v = 1) decoded from its index, by its Gaussian's peak
            assert panel.heat.shape == (128, 96)
            assert len(panel.points) == int(targets.keypoint_indices[image, ..., 1].sum()) > 0
            sigma = (128 * 96) ** 0.5 / 64  # udp: the peak within half a cell on each axis
            peak = 1.0 if method == "msra" else np.exp(-0.5 / (2 * sigma**2))
            for x, y in panel.points.tolist():  # (mmpose's windows shift by a cell at the edges)
                assert panel.heat[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].max() >= peak - 1e-6


def test_centerpoint_png_peaks_on_the_decoded_centres(show_targets, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / "centerpoint.png"
    assert show_targets.main(["--out", str(out), "--mode", "centerpoint", "--seed", "2",
                              "--images", "3"]) == 0
    picture = imread(out)
    assert picture.ndim == 3 and picture.shape[1] > 100 and picture.shape[0] > 100

    boxes, targets = show_targets.encode("centerpoint", 2, 3)
    assert targets.heatmap.shape == (3, 10, 128, 128) and targets.anno_box.shape[1] == 6
    rows = show_targets.render("centerpoint", boxes, targets, 3, str(tmp_path / "again.png"))
    assert len(rows) == 3 and all(len(row) == 1 for row in rows)
    for image, (panel,) in enumerate(rows):
        assert len(panel.points) == int(targets.mask[image].sum()) > 0
        # every box's Gaussian peaks at 1 on its cell, nowhere else
        peaks = {tuple(cell) for cell in np.argwhere(panel.heat == 1.0)[:, ::-1].tolist()}
        assert peaks == set(map(tuple, panel.points.tolist()))
        corners = show_targets.footprints(boxes[boxes[:, 0] == image])
        centres = corners.mean(axis=1).astype(np.int64)  # the footprint's centre, in cells
        on_map = ((centres >= 0) & (centres < 128)).all(axis=1)
        assert set(map(tuple, centres[on_map].tolist())) <= peaks


@pytest.mark.parametrize("mode", ["deeplabcut", "openpose"])
def test_deeplabcut_and_openpose_pngs_peak_on_the_keypoints(show_targets, tmp_path, mode):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / f"{mode}.png"
    assert show_targets.main(["--out", str(out), "--mode", mode, "--seed", "2",
                              "--images", "3"]) == 0
    picture = imread(out)
    assert picture.ndim == 3 and picture.shape[0] > picture.shape[1] > 100

    annotations, targets = show_targets.encode(mode, 2, 3)
    rows = show_targets.render(mode, annotations, targets, 3, str(tmp_path / "again.png"))
    assert len(rows) == 3 and all(len(row) == 2 for row in rows)
    for image, (maps, other) in enumerate(rows):
        drawn = int((annotations[1][image] > 0).sum())
        assert len(maps.points) == drawn > 0
        h, w = maps.heat.shape
        inside = [(x, y) for x, y in maps.points.tolist() if 0 <= x < w and 0 <= y < h]
        # each drawn keypoint's cell is within a cell's reach of its Gaussian's centre
        assert inside and all(maps.heat[y, x] > 0.5 for x, y in inside)
        assert other.heat.max() == 1  # a locref mask, or a unit vector's length
