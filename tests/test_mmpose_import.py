"""``import fastheat.mmpose`` without mmpose says what to install (tests_toolkits/ compares the
codecs with mmpose itself, in the toolkit venv)."""

import subprocess
import sys


def test_import_without_mmpose_says_what_to_install():
    script = ("import sys\n"
              "sys.modules['mmpose'] = None  # as if mmpose were not installed\n"
              "try:\n"
              "    import fastheat.mmpose\n"
              "except ImportError as error:\n"
              "    print(error)\n"
              "else:\n"
              "    raise SystemExit('imported')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fastheat.mmpose needs mmpose" in done.stdout
    assert "pip install --no-deps mmpose==1.3.2" in done.stdout
