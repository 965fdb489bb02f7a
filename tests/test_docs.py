"""Docs that tests keep true: every setting documented, schemas current,
README commands match CI."""

from facilitator.schemas import SCHEMA_DIR, render
from facilitator.settings import Settings

from .conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented_in_readme():
    missing = [f"RETRO_{name.upper()}" for name in Settings.model_fields if f"RETRO_{name.upper()}" not in README]
    assert not missing, f"document these in README.md: {missing}"


def test_published_schemas_are_current():
    for name, text in render().items():
        assert (SCHEMA_DIR / name).read_text() == text, f"run: uv run python -m facilitator.schemas ({name})"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci
    first_screen = "\n".join(README.splitlines()[:30])
    assert "./scripts/test" in first_screen and "./scripts/app" in first_screen


def test_cli_help_matches_readme():
    from facilitator.cli import build_parser

    sub = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for name in sub:
        assert f"facilitator {name}" in README or f"retro-facilitator {name}" in README
