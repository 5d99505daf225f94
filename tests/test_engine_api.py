"""Families see the engine through one module, ``fastheat._engine.api``."""

import ast
import pathlib
import sys

import fastheat
from fastheat._engine import api
from fastheat._engine.family import FAMILIES

PACKAGE = pathlib.Path(fastheat.__file__).parent


def family_modules() -> list[pathlib.Path]:
    """The file of every registered family's module."""
    names = {family.result.__module__ for family in FAMILIES.values()}
    return sorted(pathlib.Path(sys.modules[name].__file__) for name in names)


def engine_imports(path: pathlib.Path) -> dict[str, set[str]]:
    """Engine module -> the names ``path`` imports from it, wherever the import stands."""
    imports: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module \
                and node.module.split(".")[0] == "_engine":
            imports.setdefault(node.module, set()).update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.startswith("fastheat._engine"):
            imports.setdefault(node.module[len("fastheat."):], set()).update(
                alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            imports.update({alias.name: set() for alias in node.names
                            if alias.name.startswith("fastheat._engine")})
    return imports


def test_every_family_module_is_found():
    assert [path.stem for path in family_modules()] == sorted(
        ["associative_embedding", "centernet", "centerpoint", "cornernet", "deeplabcut",
         "keypoints", "mmdet_centernet", "mmdet_corner", "openpose", "simcc", "ttfnet"])


def test_families_import_from_the_engine_api_only():
    for path in family_modules():
        imports = engine_imports(path)
        assert set(imports) == {"_engine.api"}, f"{path.name} imports from {sorted(imports)}"


def test_the_api_exports_what_the_families_use_and_no_more():
    used = set().union(*(engine_imports(path)["_engine.api"] for path in family_modules()))
    assert used == set(api.__all__)
    assert len(api.__all__) == len(set(api.__all__))
    assert all(hasattr(api, name) for name in api.__all__)
