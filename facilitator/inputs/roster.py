"""Reading a roster file: one team member's name per line (``#`` starts a comment).

The roster is never stored with cards; it is only used to scrub the names
out of text before it reaches a model or a published summary.
"""

from __future__ import annotations

from pathlib import Path

from facilitator.inputs.files import read_text


def load_roster(path) -> list[str]:
    names = [line.strip() for line in read_text(Path(path), "roster").splitlines()]
    return [n for n in names if n and not n.startswith("#")]
