"""Families see the engine through one module, ``fastheat._engine.api``, and get their public
one-shot function from their options (``api.one_shot``)."""

import ast
import inspect
import pathlib
import pydoc
import sys

import pytest

import fastheat
from fastheat._engine import api
from fastheat._engine.family import FAMILIES

COMMON = ["out", "sparse", "image_ids", "num_threads"]

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


def one_shot_of(family):
    """The one public function of ``fastheat`` that returns ``family``'s results."""
    functions = [getattr(fastheat, name) for name in fastheat.__all__
                 if inspect.isfunction(getattr(fastheat, name))
                 and inspect.signature(getattr(fastheat, name)).return_annotation is family.result]
    assert len(functions) == 1, (family.name, functions)
    return functions[0]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_one_shot_signature_is_its_familys_options(name):
    family = FAMILIES[name]
    function = one_shot_of(family)
    parameters = list(inspect.signature(function).parameters.values())
    inputs = len(family.inputs) or 2
    options = parameters[inputs:inputs + len(family.options)]
    assert [(p.name, p.kind, p.default) for p in options] == [
        (option, inspect.Parameter.KEYWORD_ONLY, default)
        for option, default in family.options.items()]
    assert all(p.default is inspect.Parameter.empty for p in options
               if family.options[p.name] is api.REQUIRED)
    assert [p.name for p in parameters[inputs + len(family.options):]] == COMMON
    head = [p.name for p in parameters[:inputs]]
    assert head == ([p.name for p in family.inputs] or ["detections", "batch_size"])
    code = function.__code__  # what the function really takes: its inputs, the common ones
    assert code.co_varnames[:code.co_argcount + code.co_kwonlyargcount] == (*head, *COMMON)
    assert function.__doc__ and function.__doc__.startswith("Encode")
    assert function.__module__ == family.result.__module__
    shown = pydoc.render_doc(function, renderer=pydoc.plaintext)  # what help() shows
    assert f"{function.__name__}{inspect.signature(function)}" in shown.replace("\n", "")
    assert function.__doc__.splitlines()[0] in shown


def test_one_shot_takes_its_parameters_from_the_family_only():
    with pytest.raises(TypeError, match="declares parameters"):
        @api.one_shot(FAMILIES["corners"])
        def encode_again(detections):
            """Encode."""
