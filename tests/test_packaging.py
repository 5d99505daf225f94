"""The package as built lists every subpackage (a wheel without fastheat/_engine cannot import)."""

import pathlib

import pytest

import fastheat

ROOT = pathlib.Path(__file__).parent.parent


def test_every_subpackage_is_packaged():
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "fastheat").rglob("__init__.py")}
    assert found == listed


def test_version_has_one_source():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fastheat.__version__"}
    assert fastheat.__version__
