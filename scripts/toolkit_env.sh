#!/usr/bin/env bash
# Create or update the toolkit venv, where tests_toolkits/ and benchmarks/test_bench_mmpose.py
# compare fastheat with the real libraries (mmpose 1.3.2); idempotent.
#
#     bash scripts/toolkit_env.sh [VENV]       # default: .venv-toolkits
#     VENV/bin/python -m pytest tests_toolkits -rs
#
# fastheat (editable, with its test extras) and torch 2.13.0 (the CPU build: pip finds it
# locally here; any other torch spec downloads gigabytes), then requirements-toolkits.txt with
# --no-deps (a complete pinned set: mmpose's own requirements are not all needed, nor
# installable), built without isolation (xtcocotools is built from source against the
# venv's NumPy, with its Cython).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-toolkits}"
[ -x "$venv/bin/python" ] || python -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" -e ".[test]" torch==2.13.0 setuptools "$(grep '^Cython==' requirements-toolkits.txt)"
"${pip[@]}" --no-deps --no-build-isolation -r requirements-toolkits.txt
"$venv/bin/python" -c "import mmpose.codecs, mmpose.datasets.transforms, fastheat.mmpose"
echo "toolkit venv ready: $venv"
