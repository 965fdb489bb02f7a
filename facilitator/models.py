"""The typed data that flows through an analysis: cards in, themes, coverage,
actions and metadata out.

Data flows one way: CardSet -> Theme -> Coverage -> Action -> summary. Every
engine (local or model-backed) produces an ``Analysis``; the invariants that
make one trustworthy live in ``facilitator.checks``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

from facilitator.i18n import N_

Kind = Literal["flaw", "fear", "positive", "other"]
CoverageStatus = Literal["covered", "partial", "uncovered", "needs_review"]
"""``needs_review``: the engine could not judge; the candidates are shown and the facilitator decides."""
ActionKind = Literal["fix", "reassure", "escalate"]
CommitmentStatus = Literal["active", "pilot", "draft", "suspended", "retired"]

KINDS: tuple[str, ...] = ("flaw", "fear", "positive", "other")
FearSort = Literal["automation", "blame", "burnout", "outsourcing", "reorganisation", "job_security", "other"]
Phase = Literal["collect", "reveal", "analyse", "review", "vote", "discuss", "publish", "published"]
PHASES: tuple[Phase, ...] = ("collect", "reveal", "analyse", "review", "vote", "discuss", "publish", "published")


class Strict(BaseModel):
    """Unknown keys are an error: a typo in a file must fail loudly."""

    model_config = ConfigDict(extra="forbid")


# --- input -----------------------------------------------------------------


class Card(Strict):
    """One anonymous card. There is deliberately no author field."""

    id: str = Field(min_length=1, max_length=64)
    text: str
    column: str | None = None


class CardSet(Strict):
    title: str | None = None
    cards: list[Card]


class Commitment(Strict):
    """One entry of the gain-sharing commitments register."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    scope: str | None = None
    owner_role: str | None = None
    effective_date: dt.date | None = None
    review_date: dt.date | None = None
    end_date: dt.date | None = None
    status: CommitmentStatus = "active"
    does_not_promise: list[str] = Field(default_factory=list)

    @field_validator("does_not_promise", mode="before")
    @classmethod
    def _prose_limits(cls, v: Any) -> Any:
        # Real registers write their limits as prose: one item per sentence or ';' part.
        if isinstance(v, str):
            return [p.strip() for p in re.split(r"(?<=[.;])\s+|\n+", v) if p.strip(" .;\n")]
        return v


class Register(Strict):
    name: str | None = None
    version: str | None = None
    default_owner_role: str | None = None
    commitments: list[Commitment]

    def get(self, commitment_id: str) -> Commitment | None:
        for c in self.commitments:
            if c.id == commitment_id:
                return c
        return None

    @property
    def ids(self) -> set[str]:
        return {c.id for c in self.commitments}


# --- output ----------------------------------------------------------------


class Theme(Strict):
    id: str
    label: str
    kind: Kind
    card_ids: list[str]
    summary: str = ""


class Quote(Strict):
    commitment_id: str
    text: str


class Candidate(Strict):
    """A commitment that might answer a fear, its closest clause, and what may exclude the fear."""

    commitment_id: str
    title: str
    clause: str = Field(description="The commitment's clause closest to the fear; an exact substring of its text.")
    similarity: float
    scope: str | None = None
    limits: list[str] = Field(default_factory=list, description="What the commitment says it does not promise.")
    flags: list[str] = Field(default_factory=list, description="In force, but: pilot, review overdue.")
    review_overdue: bool = Field(default=False, description="Its review date has passed (one of the flags, as a fact).")
    owner_role: str | None = None

    def limits_shown(self) -> list[tuple[str, str]]:
        """What may exclude the fear, as (heading, text) lines, in the order every view shows them."""
        # Headings marked for the catalogue: a page shows them through _(), the CLI as they are.
        out = [(N_("Scope"), self.scope)] if self.scope else []
        out += [(N_("Does not promise"), item) for item in self.limits]
        return out + [(N_("Note"), flag) for flag in self.flags]


class Coverage(Strict):
    theme_id: str
    status: CoverageStatus
    commitment_ids: list[str] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    rationale: str = ""
    candidates: list[Candidate] = Field(default_factory=list)
    set_by: Literal["engine", "facilitator"] = "engine"


class Action(Strict):
    id: str
    title: str
    kind: ActionKind
    theme_ids: list[str]
    commitment_ids: list[str] = Field(default_factory=list)
    owner_role: str
    due: dt.date


class PromptVersion(Strict):
    name: str
    version: str
    sha256: str


class Reclassification(Strict):
    """A card the offline draft called a fear that the model took out of the fears.

    Listed for the facilitator in review, with a one-click restore."""

    card_id: str
    to_kind: Literal["flaw", "positive", "other"]
    reason: str = ""


class Meta(Strict):
    engine: Literal["local", "llm"]
    model: str
    prompt_versions: list[PromptVersion] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    fallback_reason: str | None = None
    usage: dict[str, float] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    reclassified: list[Reclassification] = Field(default_factory=list)
    may_be_fears: list[str] = Field(
        default_factory=list,
        description="Cards kept out of the fears that still voice a worry about people; listed for the "
                    "facilitator in review, with a one-click move into a worry of their own.")


class ModelMessage(Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class ModelCall(Strict):
    """One request to a model, exactly as sent (after scrubbing), and what came back.

    Kept with the analysis so a facilitator can show participants what the
    model saw. ``status`` is ``invalid`` when the reply failed validation (the
    next call of the same task is then a repair), ``error`` when the provider
    call failed (timeout, 429, 5xx, budget).
    """

    task: str
    prompt: PromptVersion | None = None
    model: str
    attempt: int = 1
    params: dict[str, Any] = Field(default_factory=dict)
    messages: list[ModelMessage]
    reply: str | None = None
    status: Literal["ok", "invalid", "error"] = "ok"
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_ms: float = 0.0


class Analysis(Strict):
    themes: list[Theme]
    coverage: list[Coverage]
    actions: list[Action]
    meta: Meta
    # Additive: only the model engine fills it; left out of the JSON when unset,
    # so offline output keeps its exact shape.
    transcript: list[ModelCall] | None = None

    @model_serializer(mode="wrap")
    def _drop_empty_transcript(self, handler):
        data = handler(self)
        if isinstance(data, dict) and data.get("transcript") is None:
            data.pop("transcript", None)
        return data

    def theme(self, theme_id: str) -> Theme | None:
        for t in self.themes:
            if t.id == theme_id:
                return t
        return None


class StatementCoverage(Strict):
    """Answer of the ``coverage`` command for one free-text fear statement."""

    statement: str
    status: CoverageStatus
    commitment_ids: list[str] = Field(default_factory=list)
    quotes: list[Quote] = Field(default_factory=list)
    rationale: str = ""
    candidates: list[Candidate] = Field(default_factory=list)
