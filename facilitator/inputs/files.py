"""Reading the files users give us (cards, registers, rosters, statements),
with errors that name the problem and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from facilitator.errors import InputError


def read_text(p: Path, what: str) -> str:
    if not p.exists():
        raise InputError(f"{what} not found: {p}; check the path")
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory; give a file")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {p} is not UTF-8 text; save it as UTF-8") from None


def parse_json(raw: str, source: str, expected: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{source}: malformed JSON at line {e.lineno} column {e.colno} ({e.msg}); expected {expected}"
        ) from None


def first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(x) for x in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown field '{where}'; remove it or check its spelling"
    if err["type"] == "missing":
        return f"missing field '{where}'; add it"
    return f"{where}: {err['msg']}"
