"""The command line: output shapes, and one-line errors for bad input."""

import json
import re
import subprocess
import sys

import pytest

from facilitator.cli import main

from .conftest import DATA, ROOT

REG = str(DATA / "demo_register.md")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_json_shape(capsys):
    code, out, _ = run(capsys, "analyze", str(DATA / "demo_retro.json"), "--commitments", REG, "--today", "2026-11-28")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"themes", "coverage", "actions", "meta"}
    assert set(data["themes"][0]) == {"id", "label", "kind", "card_ids", "summary"}
    assert data["meta"]["engine"] == "local"
    assert {"prompt_versions", "timings_ms", "model"} <= set(data["meta"])
    for a in data["actions"]:
        assert {"id", "title", "kind", "theme_ids", "commitment_ids", "owner_role", "due"} <= set(a)


def test_analyze_csv_to_markdown_file(capsys, tmp_path):
    out_file = tmp_path / "summary.md"
    code, _, _ = run(
        capsys, "analyze", str(DATA / "demo_retro.csv"), "--commitments", REG, "--format", "markdown",
        "--output", str(out_file), "--roster", str(DATA / "demo_roster.txt"),
    )
    assert code == 0
    md = out_file.read_text()
    assert md.startswith("# ") and "## Trust gaps" in md and "## Actions" in md
    for name in (DATA / "demo_roster.txt").read_text().split():
        assert not re.search(rf"\b{name}\b", md), name


def test_coverage_command(capsys, tmp_path):
    f = tmp_path / "fears.json"
    f.write_text(json.dumps(["I'm afraid I'll be blamed for the outage", "Will contractors lose their jobs?"]))
    code, out, _ = run(capsys, "coverage", str(f), "--commitments", REG, "--format", "json", "--today", "2026-11-28")
    assert code == 0
    answers = json.loads(out)
    # Offline, coverage is never asserted: candidates with their limits, or a gap.
    assert [a["status"] in ("needs_review", "uncovered") for a in answers] == [True, True]
    blame = answers[0]
    assert blame["status"] == "needs_review" and blame["candidates"][0]["commitment_id"] == "BL-1"
    assert "limits" in blame["candidates"][0] and "scope" in blame["candidates"][0]


def test_commitments_check_flags_stale_and_draft(capsys):
    code, out, _ = run(capsys, "commitments", "check", REG, "--today", "2026-11-28")
    assert code == 0
    flagged = [line for line in out.splitlines() if line.startswith("FLAGGED")]
    assert any("JS-2" in line and "review overdue" in line for line in flagged)
    assert any("RO-1" in line and "draft" in line for line in flagged)


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        (None, ".json", "not found"),
        ("{not json", ".json", "malformed JSON"),
        ('{"cards": [{"id": "1", "text": ""}]}', ".json", "empty"),
        ('{"cards": [{"id": "1", "text": "' + "a" * 600 + '"}]}', ".json", "600 characters"),
        ('{"cards": [{"id": "1", "text": "a"}, {"id": "1", "text": "b"}]}', ".json", "Duplicate card id"),
        ('text\n"unclosed', ".csv", None),
    ],
)
def test_bad_cards_give_one_line_error(capsys, tmp_path, content, suffix, message):
    path = tmp_path / f"cards{suffix}"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "analyze", str(path), "--commitments", REG)
    if message is None:  # csv module tolerates this one: it must still not crash
        assert code in (0, 2)
        return
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_unknown_register_field_is_named(capsys, tmp_path):
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps({"commitments": [{"id": "A", "title": "t", "text": "x", "colour": "red"}]}))
    code, _, err = run(capsys, "commitments", "check", str(reg))
    assert code == 2 and "unknown field 'colour'" in err


def test_real_process_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    p = subprocess.run(
        [sys.executable, "-m", "facilitator", "analyze", str(bad), "--commitments", REG],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and p.stderr.startswith("error: bad.json: malformed JSON")


def test_help_lists_commands():
    p = subprocess.run([sys.executable, "-m", "facilitator", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0
    for cmd in ("analyze", "coverage", "commitments"):
        assert cmd in p.stdout


def test_bad_setting_is_a_one_line_error(capsys, monkeypatch):
    monkeypatch.setenv("RETRO_TOP_K", "abc")
    code, _, err = run(capsys, "commitments", "check", REG)
    assert code == 0  # commitments check needs no settings
    code, _, err = run(capsys, "analyze", str(DATA / "demo_retro.json"), "--commitments", REG)
    assert code == 2 and err.startswith("error: RETRO_TOP_K") and err.count("\n") == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("[" * 100_000 + "]" * 100_000, "nests too deeply"),
        ('{"cards": [{"id": "1", "text": "a", "column": ' + "9" * 10_000 + "}]}", "unreadable JSON"),
        ('{"cards": [{"id": "1", "text": "\\ud800 lone"}]}', "lone surrogate"),
        ('{"cards": [{"id": "1", "text": "a\\u0000b"}]}', "NUL character"),
    ],
)
def test_hostile_files_get_one_line_and_exit_2(capsys, tmp_path, content, message):
    f = tmp_path / "cards.json"
    f.write_text(content)
    code, out, err = run(capsys, "analyze", str(f), "--commitments", REG)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null"])
def test_special_files_get_one_line_and_exit_2(capsys, special):
    code, _, err = run(capsys, "analyze", special, "--commitments", REG)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
