"""The README's Python blocks that need mmpose run on their own, as a reader copies them."""

import subprocess
import sys

import pytest

import test_readme

BLOCKS = [block for block in test_readme.ALL_BLOCKS if test_readme.needs_mmpose(block)]


def test_readme_has_mmpose_blocks():
    assert BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_mmpose_block_runs(block, tmp_path):
    script = tmp_path / "block.py"
    script.write_text(block)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
