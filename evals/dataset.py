"""Typed eval datasets. Every file is validated by a model that forbids
unknown keys, so a typo in a label fails loudly instead of scoring silently.

Two collections of retros:

- ``written``: ``datasets/retros/``, written for this project (edge cases,
  fears, several languages);
- ``real``: ``datasets/real/``, boards people wrote in real meetings, taken
  from public sources with their real column names (``real/SOURCES.md``).
  Split by a rule fixed before any result was seen: a board whose name hashes
  to 0 mod 3 is the **holdout** slice, never looked at while tuning
  (``REAL_SPLIT``); the rest is the **tune** slice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from facilitator.models import Card, CoverageStatus, FearSort, Kind, Register

DATASETS = Path(__file__).parent / "datasets"

FearType = FearSort
Collection = Literal["written", "real"]
Split = Literal["tune", "holdout"]
Domain = Literal["software", "support", "operations", "finance", "healthcare", "public_sector"]
Style = Literal["terse", "long", "typos", "mixed_language", "mixed"]
Check = Literal[
    "card_placed",  # the hostile card lands in exactly one theme: nothing lost
    "valid_analysis",  # every invariant of facilitator.checks holds
    "coverage_unchanged",  # fear coverage statuses equal those of the retro without the card
    "no_raw_html",  # the published summary carries no HTML tag from the card
    "no_links",  # no URL or image markdown from the card reaches the summary
    "no_fake_ids",  # no commitment id outside the register appears anywhere in the output
    "fear_not_quoted",  # a fear card's text never appears verbatim in the summary
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldTheme(Strict):
    id: str
    label: str
    kind: Kind
    card_ids: list[str] = Field(min_length=1)
    fear_type: FearType | None = None

    @model_validator(mode="after")
    def _fear_type_only_for_fears(self):
        if (self.kind == "fear") != (self.fear_type is not None):
            raise ValueError(f"theme {self.id}: fear_type is required for fears and only for fears")
        return self


class Source(Strict):
    url: str
    repo: str | None = None
    path: str | None = None
    commit: str | None = None
    licence: str
    date: str
    description: str


class Retro(Strict):
    name: str
    domain: Domain
    format: str
    style: Style
    title: str
    roster: list[str] = Field(default_factory=list)
    cards: list[Card] = Field(min_length=8, max_length=120)
    themes: list[GoldTheme]
    notes: str = ""
    source: Source | None = None

    @property
    def split(self) -> Split:
        return real_split(self.name)

    @model_validator(mode="after")
    def _partition(self):
        ids = [c.id for c in self.cards]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.name}: duplicate card ids")
        placed = [cid for t in self.themes for cid in t.card_ids]
        if sorted(placed) != sorted(ids):
            missing = set(ids) - set(placed)
            extra = [c for c in placed if placed.count(c) > 1 or c not in ids]
            raise ValueError(f"{self.name}: gold themes must partition the cards (missing {sorted(missing)}, bad {sorted(set(extra))})")
        for c in self.cards:
            if not (0 < len(c.text.strip()) <= 500):
                raise ValueError(f"{self.name}: card {c.id} must have 1..500 characters")
        return self


class CoverageCase(Strict):
    id: str
    statement: str
    status: CoverageStatus
    commitment_ids: list[str]
    trap: bool = False
    reason: str

    @model_validator(mode="after")
    def _ids_match_status(self):
        if self.status == "uncovered" and self.commitment_ids and not self.trap:
            raise ValueError(f"{self.id}: an uncovered case lists commitment ids only when it is a trap")
        if self.status != "uncovered" and not self.commitment_ids:
            raise ValueError(f"{self.id}: covered/partial needs the justifying commitment ids")
        return self


class CoverageSet(Strict):
    register_file: str  # file name under datasets/, e.g. "register.json"
    cases: list[CoverageCase] = Field(min_length=40)


COVERAGE_SETS = {"written": "coverage.json", "heldout": "heldout/coverage.json", "heldout3": "heldout3/coverage.json"}
"""``heldout`` was a second register and fear set nobody tuned on, until the number of
candidates shown was chosen with it (heldout/README.md); ``heldout3`` is the one
nobody tunes on now (heldout3/README.md)."""


class HostileCard(Strict):
    id: str
    attack: Literal[
        "instruction", "fake_id", "markdown", "html", "beacon", "long", "unicode", "role_play", "exfiltration", "other"
    ]
    text: str
    column: str | None = None
    must: list[Check] = Field(min_length=1)


class InjectionSet(Strict):
    base_retro: str  # name of a retro under datasets/retros/ the cards are added to
    register_file: str
    cases: list[HostileCard] = Field(min_length=50)


COLLECTIONS: dict[str, str] = {"written": "retros", "real": "real"}


def real_split(name: str) -> Split:
    """The fixed split of the real boards (chosen before any result was seen)."""
    return "holdout" if int(hashlib.sha256(name.encode()).hexdigest(), 16) % 3 == 0 else "tune"


def load_retros(collection: Collection = "written", split: Split | None = None) -> list[Retro]:
    retros = [Retro.model_validate_json(p.read_text()) for p in sorted((DATASETS / COLLECTIONS[collection]).glob("*.json"))]
    if collection == "real":
        missing = [r.name for r in retros if r.source is None]
        if missing:
            raise ValueError(f"real retros must record their source, licence and date: {missing}")
        if split is not None:
            retros = [r for r in retros if r.split == split]
    return retros


def load_register(name: str = "register.json") -> Register:
    from facilitator.inputs.register import load_register as _load

    return _load(DATASETS / name)


def load_coverage(name: str = "written") -> CoverageSet:
    cs = CoverageSet.model_validate_json((DATASETS / COVERAGE_SETS[name]).read_text())
    ids = load_register(cs.register_file).ids
    for case in cs.cases:
        bad = set(case.commitment_ids) - ids
        if bad:
            raise ValueError(f"coverage case {case.id} cites ids not in the register: {sorted(bad)}")
    return cs


def load_injection() -> InjectionSet:
    return InjectionSet.model_validate_json((DATASETS / "injection.json").read_text())


if __name__ == "__main__":  # quick validation: python -m evals.dataset
    for coll in ("written", "real"):
        retros = load_retros(coll)
        print(f"{coll}: {len(retros)} retros, {sum(len(r.cards) for r in retros)} cards")
    for name in COVERAGE_SETS:
        print(f"coverage {name}: {len(load_coverage(name).cases)} cases")
    print(f"{len(load_injection().cases)} injection cases")
