"""The import boundaries in pyproject's ``[tool.importlinter]``, checked by ``lint-imports``.

A broken contract fails with import-linter's report: each forbidden import
chain, module by module, with line numbers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    beside = Path(sys.executable).parent / "lint-imports"
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if not found:
        pytest.fail("lint-imports is not installed: `uv sync` installs the dev group, which has import-linter")
    return found


def test_import_contracts_are_kept():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert len(contracts) >= 5
    # --no-cache: nothing written into the checkout.
    p = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    report = p.stdout + p.stderr
    if p.returncode != 0:
        pytest.fail(f"lint-imports exited {p.returncode}:\n{report}", pytrace=False)
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report
