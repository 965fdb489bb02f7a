"""The published JSON Schemas of the command line's input and output.

``python -m facilitator.schemas`` rewrites ``schemas/``; a test fails when the
files drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import TypeAdapter

from facilitator.models import Analysis, CardSet, Register, StatementCoverage

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMAS = {
    "cards.schema.json": CardSet,
    "register.schema.json": Register,
    "analysis.schema.json": Analysis,
    "coverage.schema.json": list[StatementCoverage],
}


def render() -> dict[str, str]:
    out = {}
    for name, model in SCHEMAS.items():
        schema = TypeAdapter(model).json_schema(mode="serialization")
        schema["$id"] = f"https://github.com/retro-facilitator/retro-facilitator/schemas/{name}"
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


if __name__ == "__main__":
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote schemas/{name}")
