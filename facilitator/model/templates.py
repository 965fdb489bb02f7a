"""Prompt templates: versioned files in ``facilitator/model/prompts/``, one per model task.

A prompt file is Markdown with a small front-matter header and one or two
sections::

    ---
    name: coverage
    version: 3
    description: Judge each fear against the retrieved commitments.
    variables: fears, commitments
    ---
    ## system
    ...instructions...
    ## user
    ...$fears ... $commitments...

Variables are ``$name`` (``string.Template``), so the JSON examples inside a
prompt need no escaping. The header is parsed into a strict model (unknown keys
fail, like simonw/llm templates); the declared variables must be exactly the
ones the text uses, and rendering with one missing or one unknown is an error.
Every rendered prompt carries its name, version and the sha256 of the file, so
an analysis records which prompt produced it (``meta.prompt_versions``).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from string import Template
from typing import Any

from pydantic import Field, ValidationError, field_validator

from facilitator.errors import ConfigError
from facilitator.inputs.files import first_error
from facilitator.models import PromptVersion, Strict

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"  # package data: ships in the wheel

_FRONT = re.compile(r"\A---\n(?P<head>.*?)\n---\n(?P<body>.*)\Z", re.S)
_SECTION = re.compile(r"^## (system|user)\s*$", re.M)


class PromptError(ConfigError):
    """A prompt file is malformed, or rendered with the wrong variables."""


class Prompt(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    version: str = Field(min_length=1)
    description: str = ""
    variables: list[str] = Field(default_factory=list)
    system: str = ""
    user: str = Field(min_length=1)
    sha256: str

    @field_validator("variables", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [x.strip() for x in v.split(",") if x.strip()]
        return v

    @property
    def info(self) -> PromptVersion:
        return PromptVersion(name=self.name, version=self.version, sha256=self.sha256)

    def render(self, **values: str) -> list[dict[str, str]]:
        """The chat messages for these values: a system message (if any) and a user message."""
        missing = [v for v in self.variables if v not in values]
        unknown = [v for v in values if v not in self.variables]
        if missing or unknown:
            raise PromptError(
                f"prompt {self.name} v{self.version}: "
                + (f"missing variable(s) {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown variable(s) {', '.join(unknown)}" if unknown else "")
            )
        out = []
        if self.system:
            out.append({"role": "system", "content": Template(self.system).substitute(values)})
        out.append({"role": "user", "content": Template(self.user).substitute(values)})
        return out


def parse_prompt(text: str, *, source: str = "<prompt>") -> Prompt:
    m = _FRONT.match(text.replace("\r\n", "\n"))
    if not m:
        raise PromptError(f"{source}: no front matter; start the file with ---, name:, version:, ---")
    header: dict[str, Any] = {}
    for line in m["head"].splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PromptError(f"{source}: front-matter line {line!r} is not 'key: value'")
        header[key.strip()] = value.strip()
    parts = _SECTION.split(m["body"])
    # parts = [preamble, "system", text, "user", text] (sections optional, in any order)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    if parts[0].strip() or "user" not in sections:
        raise PromptError(f"{source}: the body must be '## system' (optional) and '## user' sections")
    try:
        prompt = Prompt(
            **header,
            system=sections.get("system", ""),
            user=sections["user"],
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        )
    except ValidationError as e:
        raise PromptError(f"{source}: {first_error(e)}") from None
    used = set()
    for part in (prompt.system, prompt.user):
        t = Template(part)
        if not t.is_valid():
            raise PromptError(f"{source}: a '$' that is not a variable; write $$ for a literal dollar sign")
        used.update(t.get_identifiers())
    if used != set(prompt.variables):
        raise PromptError(
            f"{source}: declared variables {sorted(prompt.variables)} but the text uses {sorted(used)}"
        )
    return prompt


def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    path = (directory or PROMPTS_DIR) / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise PromptError(f"prompt file {path} not found; reinstall or restore prompts/{name}.md") from None
    prompt = parse_prompt(text, source=str(path))
    if prompt.name != name:
        raise PromptError(f"{path}: front matter says name {prompt.name!r}, expected {name!r}")
    return prompt


def fence(tag: str, data: Any) -> str:
    """Untrusted data as JSON between explicit delimiters.

    ``<``, ``>`` and ``&`` are written as JSON escapes, so no text inside can
    close the fence or open another one; the JSON still decodes to the same data.
    """
    body = json.dumps(data, ensure_ascii=False)
    body = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"<{tag}>\n{body}\n</{tag}>"


