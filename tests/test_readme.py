"""Every Python block of the README runs on its own, as a reader copies it."""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).parent.parent / "README.md"
ALL_BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def needs_mmpose(block: str) -> bool:
    """Blocks that import mmpose run in the toolkit venv (tests_toolkits/test_readme_mmpose.py)."""
    return re.search(r"^\s*(import fastheat\.mmpose|import mmpose|from mmpose)", block, re.M) \
        is not None


BLOCKS = [block for block in ALL_BLOCKS if not needs_mmpose(block)]


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 2


def test_readme_fences_pair_up():
    """Every code block opens with a language and closes with a bare fence, so no example
    escapes the blocks tested here (a merge once moved two examples out of their fences)."""
    fences = re.findall(r"^```(.*)$", README.read_text(), re.M)
    assert len(fences) % 2 == 0
    for k, tag in enumerate(fences):
        assert (tag != "") == (k % 2 == 0), f"fence {k}: {tag!r}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(block, tmp_path):
    if re.search(r"^\s*import torch|^\s*from torch|torch\.utils", block, re.M) and \
            importlib.util.find_spec("torch") is None:
        pytest.skip("the block needs torch")
    script = tmp_path / "block.py"
    script.write_text(block)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=590, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
