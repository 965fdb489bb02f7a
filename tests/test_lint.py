import subprocess
import sys

from .conftest import ROOT


def test_no_undefined_or_unused_names():
    p = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
