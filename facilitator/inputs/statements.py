"""Reading a file of fear statements for the ``coverage`` command."""

from __future__ import annotations

from pathlib import Path

from facilitator.errors import InputError
from facilitator.inputs.files import parse_json, read_text

MAX_STATEMENT_CHARS = 500


def load_statements(path: Path) -> list[str]:
    raw = read_text(path, "statements file")
    if path.suffix.lower() == ".json":
        data = parse_json(raw, path.name, "a list of strings")
        if not isinstance(data, list) or not all(isinstance(s, str) for s in data):
            raise InputError(f"{path.name}: expected a JSON list of strings")
        items = data
    else:
        items = raw.splitlines()
    statements = [s.strip() for s in items if s.strip()]
    if not statements:
        raise InputError(f"{path.name}: no statements; write one fear per line or a JSON list of strings")
    for s in statements:
        if len(s) > MAX_STATEMENT_CHARS:
            raise InputError(f"{path.name}: a statement has {len(s)} characters, more than {MAX_STATEMENT_CHARS}; shorten it")
    return statements
