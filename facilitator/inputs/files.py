"""Reading the files users give us (cards, registers, rosters, statements),
with errors that name the problem and the fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from facilitator.errors import InputError
from facilitator.i18n import _


MAX_FILE_BYTES = 10 * 1024 * 1024
"""No input the product reads (cards, a register, a roster, statements) is anywhere near this."""


def read_text(p: Path, what: str) -> str:
    if not p.exists():
        raise InputError(f"{what} not found: {p}; check the path")
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory; give a file")
    if not p.is_file():  # a device, a pipe or a socket (/dev/zero would be read forever)
        raise InputError(f"{what} {p} is not a regular file; save the content to a file and give that")
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise InputError(f"{what} {p} cannot be read ({e.strerror}); check its permissions") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{what} {p} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; it cannot be a {what}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {p} is not UTF-8 text; save it as UTF-8") from None


def parse_json(raw: str, source: str, expected: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise InputError(
            _("{source}: malformed JSON at line {line} column {column} ({error}); expected {expected}").format(
                source=source, line=e.lineno, column=e.colno, error=e.msg, expected=expected)
        ) from None
    except RecursionError:
        raise InputError(_("{source}: the JSON nests too deeply to read; expected {expected}").format(
            source=source, expected=expected)) from None
    except ValueError as e:  # e.g. a number of thousands of digits
        raise InputError(_("{source}: unreadable JSON ({error}); expected {expected}").format(
            source=source, error=str(e).split(";")[0], expected=expected)) from None


def first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(x) for x in err["loc"])
    if err["type"] == "extra_forbidden":
        return _("unknown field '{field}'; remove it or check its spelling").format(field=where)
    if err["type"] == "missing":
        return _("missing field '{field}'; add it").format(field=where)
    return f"{where}: {err['msg']}"
