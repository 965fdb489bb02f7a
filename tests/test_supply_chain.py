"""The environment the product runs in: no known-compromised release, no stray start-up code."""

from __future__ import annotations

import site
from importlib import metadata
from pathlib import Path

# Published advisories: these litellm releases were compromised on PyPI.
COMPROMISED = {"litellm": {"1.82.7", "1.82.8"}}
# A .pth file's lines that start with "import" run at every interpreter start (the
# compromised litellm releases shipped one). Only these known ones may do that.
KNOWN_CODE_PTH = {"distutils-precedence.pth", "_virtualenv.pth"}


def test_no_known_compromised_release_is_installed():
    for dist, bad in COMPROMISED.items():
        assert metadata.version(dist) not in bad, f"{dist} {metadata.version(dist)} is a compromised release"


def test_the_lock_never_resolves_a_compromised_release():
    lock = (Path(__file__).resolve().parent.parent / "uv.lock").read_text()
    for dist, bad in COMPROMISED.items():
        for version in bad:
            assert f'name = "{dist}"\nversion = "{version}"' not in lock


def test_no_pth_file_runs_unexpected_code():
    dirs = {Path(p) for p in site.getsitepackages() if Path(p).is_dir()}
    running = {
        f.name
        for d in dirs
        for f in d.glob("*.pth")
        if any(line.lstrip().startswith("import") for line in f.read_text(errors="replace").splitlines())
    }
    assert not running - KNOWN_CODE_PTH, f".pth files that run code at start-up: {sorted(running - KNOWN_CODE_PTH)}"
