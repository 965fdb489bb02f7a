"""The model engine: prompts -> calls -> validation -> repair -> fallback.

Same seam and same output as the offline engine (``facilitator.engine``); the
provider is any litellm model string, and every provider call goes through
``facilitator.llm_client``.

How many calls, and why
-----------------------
Three tasks, one call each for a typical retro (3 calls for 50 cards):

1. **themes**: the offline pre-grouping (``themes.group_cards``, deterministic,
   local embeddings) is sent as a draft, and the model refines it: moves,
   merges, splits, writes labels, summaries and kinds. Drafting first gives the
   model a good start and lets large retros be cut at theme boundaries: up to
   ``THEME_BATCH_CARDS`` (120) cards per call (200 cards = 2 calls). The cap keeps
   each reply (which lists every card id) short enough to finish inside the
   60 s deadline and keeps a repair cheap (it resends one batch, not the retro).
   Similar cards share a draft, so a batch boundary rarely splits a topic.
   A card drafted as a fear leaves the fear themes only when the reply declares
   it in ``reclassified`` (with the new kind and a reason); each accepted
   re-classification is a line of ``meta.warnings`` for the facilitator, and
   re-classifying more than half of the fears (and at least
   ``RECLASSIFY_SUSPICIOUS_MIN``) is refused as suspicious (see ``_fears_kept``).
2. **coverage**: every fear theme with its cards and the top-k clauses the
   Chroma store retrieves for it, plus the full text of those commitments (so
   quotes can be exact), up to ``COVERAGE_BATCH_THEMES`` fears per call.
3. **actions**: themes (labels and summaries, no card text) and coverage.

Each reply is parsed into pydantic models and checked with
``facilitator.checks.problems`` (the same invariants every engine must meet),
plus the few checks only a model needs (cite only the commitments it was
given, no verbatim card text in a fear's label or summary, due dates not in
the past). A stage is checked against a scaffold: the parts of the analysis
that later stages will produce are filled with placeholders that meet the
invariants, so every message ``problems`` returns is about this stage's reply.
Invalid replies get the messages back (``prompts/repair.md``) up to
``repair_attempts`` times; then the engine fails closed and the offline engine
analyses the same cards (``meta.engine = "local"``, ``meta.fallback_reason``),
keeping the transcript of what was sent.

Card text is scrubbed (roster names, e-mails, handles, phones, links) before
anything leaves the machine and is sent as JSON between explicit delimiters,
with the instruction that it is data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from . import register as register_module
from .actions import default_owner
from .checks import problems, show_id
from .engine import Progress
from .errors import ModelCallError, ModelOutputError
from .llm_client import EmbeddingCallError, LLMClient, active_client, check_environment
from .models import (
    Action,
    ActionKind,
    Analysis,
    Card,
    CardSet,
    Coverage,
    CoverageStatus,
    Kind,
    Meta,
    Quote,
    Register,
    StatementCoverage,
    Theme,
)
from .prompts import Prompt, fence, load_prompt
from .register import health
from .scrub import scrub, scrub_roster
from .settings import Settings

log = logging.getLogger(__name__)

THEME_BATCH_CARDS = 120
COVERAGE_BATCH_THEMES = 6
MAX_ERRORS_SHOWN = 25
VERBATIM_MIN_CHARS = 25  # a fear's label/summary may not contain this much of a card verbatim
VERBATIM_MIN_CARD_CHARS = 10  # ... nor a whole card of at least this length
RECLASSIFY_REASON_MAX = 200  # characters of the model's reason for taking a card out of the fears
RECLASSIFY_SUSPICIOUS_MIN = 3  # re-classifying more than half of the fears, and at least this many, is refused
# Ids the model echoes back: bounded and plain, so they cannot carry instructions
# into a repair prompt (card ids are ours or the facilitator's, same alphabet).
ID = r"^[A-Za-z0-9][A-Za-z0-9_.:#/-]*$"
ID_MAX = 64

T = TypeVar("T")


# --- what the model must reply (extra keys are ignored, not worth a repair) ---


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


_Id = Annotated[str, Field(min_length=1, max_length=ID_MAX, pattern=ID)]


class ThemeReply(_Reply):
    id: str = Field(min_length=1, max_length=32, pattern=ID)
    label: str = Field(min_length=1, max_length=120)
    kind: Kind
    summary: str = Field(default="", max_length=600)
    card_ids: list[_Id]


class ReclassifiedReply(_Reply):
    """A card of a fear draft the model declares is not a fear, and why."""

    card_id: _Id
    to_kind: Literal["flaw", "positive", "other"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=RECLASSIFY_REASON_MAX)]


class ThemesReply(_Reply):
    themes: list[ThemeReply]
    reclassified: list[ReclassifiedReply] = Field(default_factory=list)


class QuoteReply(_Reply):
    commitment_id: _Id
    text: str = Field(max_length=2000)


class CoverageReply(_Reply):
    theme_id: _Id
    status: CoverageStatus
    commitment_ids: list[_Id] = Field(default_factory=list)
    quotes: list[QuoteReply] = Field(default_factory=list)
    rationale: str = Field(default="", max_length=800)


class CoveragesReply(_Reply):
    coverage: list[CoverageReply]


class ActionReply(_Reply):
    id: str = Field(min_length=1, max_length=32, pattern=ID)
    title: str = Field(min_length=1, max_length=300)
    kind: ActionKind
    theme_ids: list[_Id]
    commitment_ids: list[_Id] = Field(default_factory=list)
    owner_role: str = Field(min_length=1, max_length=120)
    due: dt.date


class ActionsReply(_Reply):
    actions: list[ActionReply]


class LLMEngine:
    name = "llm"

    def __init__(self, settings: Settings | None = None, *, local=None, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings or Settings()
        # Fail before any work when the model string or its key is wrong.
        LLMClient(self.settings, sleep=sleep)  # checks a model is set
        for model in filter(None, (self.settings.model, self.settings.fallback_model)):
            check_environment(model, self.settings.api_base)
        self._local = local
        self._local_only = None  # offline engine with the local embedder, for when remote embeddings fail
        self._sleep = sleep
        self.prompts: dict[str, Prompt] = {n: load_prompt(n) for n in ("themes", "coverage", "actions", "repair")}

    @property
    def local(self):
        """The offline engine: pre-grouping, retrieval, and the fallback."""
        if self._local is None:
            from .local_engine import LocalEngine

            self._local = LocalEngine(self.settings)
        return self._local

    # --- the Engine protocol ------------------------------------------------

    def analyze(
        self,
        cards: CardSet,
        register: Register,
        *,
        today: dt.date,
        roster: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> Analysis:
        client = LLMClient(self.settings, sleep=self._sleep)
        token = scrub_roster.set(tuple(roster))
        t0 = time.perf_counter()
        try:
            active = active_client.set(client)
            try:
                return self._analyze(client, cards, register, today, tuple(roster), progress or (lambda s, f: None))
            finally:
                active_client.reset(active)
        except Exception as e:  # noqa: BLE001 - any failure of the model path: the offline engine answers
            model_ms = _ms(t0)
            reason = _reason(e)
            _log_fallback(e, reason)
            t1 = time.perf_counter()
            out = self._offline(
                e, lambda eng: eng.analyze(cards, register, today=today, roster=roster, progress=progress)
            )
            meta = out.meta.model_copy(
                update={
                    "fallback_reason": reason,
                    "usage": client.usage.as_meta(),
                    "timings_ms": {**out.meta.timings_ms, "model": model_ms, "fallback": _ms(t1)},
                }
            )
            return out.model_copy(update={"meta": meta, "transcript": client.transcript})
        finally:
            scrub_roster.reset(token)

    def _offline(self, error: BaseException, run: Callable):
        """Run the offline engine; when the provider's embeddings are what failed
        (or fail again now), use the local embedder instead of the remote one."""
        if not self.settings.embedding_model:
            return run(self.local)
        if not isinstance(error, EmbeddingCallError):
            try:
                return run(self.local)
            except EmbeddingCallError as again:
                log.warning("remote embeddings failed in the offline fallback, using the local embedder: %s", again)
        return run(self._local_embeddings_engine())

    def _local_embeddings_engine(self):
        if self._local_only is None:
            from .local_engine import LocalEngine

            settings = self.settings.model_copy(
                update={"embedding_model": None, "data_dir": self.settings.data_dir / "local-embeddings"}
            )
            self._local_only = LocalEngine(settings)
        return self._local_only

    def cover(self, statements: Sequence[str], register: Register, *, today: dt.date) -> list[StatementCoverage]:
        client = LLMClient(self.settings, sleep=self._sleep)
        themes = [
            Theme(id=f"s{i}", label=f"Statement {i}", kind="fear", card_ids=[f"s{i}"])
            for i in range(1, len(statements) + 1)
        ]
        texts = {t.id: [scrub(s)] for t, s in zip(themes, statements)}
        try:
            active = active_client.set(client)
            try:
                coverage, _ = self._coverage(client, themes, texts, register, today)
            finally:
                active_client.reset(active)
        except Exception as e:  # noqa: BLE001 - any failure of the model path: the offline engine answers
            _log_fallback(e, _reason(e))
            return self._offline(e, lambda eng: eng.cover(statements, register, today=today))
        by_id = {c.theme_id: c for c in coverage}
        return [
            StatementCoverage(
                statement=s,
                status=by_id[t.id].status,
                commitment_ids=by_id[t.id].commitment_ids,
                quotes=by_id[t.id].quotes,
                rationale=by_id[t.id].rationale,
            )
            for t, s in zip(themes, statements)
        ]

    # --- stages ---------------------------------------------------------------

    def _analyze(self, client, cards, register, today, roster, step) -> Analysis:
        timings: dict[str, float] = {}
        clean = [Card(id=c.id, text=scrub(c.text, roster), column=c.column) for c in cards.cards]
        t0 = time.perf_counter()
        step("pre-grouping cards", 0.05)
        from .themes import group_cards

        vectors = self.local.embedder.embed([c.text for c in clean])
        drafts = group_cards(clean, vectors, self.local.classifier, roster=list(roster))
        timings["pregroup"] = _ms(t0)

        t0 = time.perf_counter()
        step("grouping into themes (model)", 0.2)
        themes, reclassified = self._themes(client, clean, drafts, register)
        timings["themes"] = _ms(t0)

        t0 = time.perf_counter()
        step("checking fears against the register (model)", 0.5)
        text_of = {c.id: c.text for c in clean}
        fear_texts = {t.id: [text_of[cid] for cid in t.card_ids] for t in themes if t.kind == "fear"}
        coverage, cited = self._coverage(client, themes, fear_texts, register, today)
        timings["coverage"] = _ms(t0)

        t0 = time.perf_counter()
        step("drafting actions (model)", 0.8)
        actions = self._actions(client, themes, coverage, register, today, cards)
        timings["actions"] = _ms(t0)

        repaired = any(c.attempt > 1 for c in client.transcript)  # a repair prompt went out with these
        used = [
            p.info for name, p in self.prompts.items()
            if any(c.prompt == p.info for c in client.transcript) or (name == "repair" and repaired)
        ]
        analysis = Analysis(
            themes=themes,
            coverage=coverage,
            actions=actions,
            meta=Meta(
                engine="llm",
                model=client.models_used[-1] if client.models_used else client.model,
                prompt_versions=used,
                timings_ms=timings,
                usage=client.usage.as_meta(),
                warnings=register_module.warnings(register, today) + _model_warnings(client)
                + [_reclassified_warning(r, roster) for r in reclassified],
            ),
            transcript=client.transcript,
        )
        left = problems(analysis, cards, register)
        if left:  # cannot happen when every stage validated; fail closed if it does
            raise ModelOutputError("assembled analysis is invalid: " + "; ".join(left[:5]))
        step("done", 1.0)
        return analysis

    def _themes(
        self, client, clean: list[Card], drafts: list[Theme], register: Register
    ) -> tuple[list[Theme], list[ReclassifiedReply]]:
        """The final themes, and the cards of fear drafts the model re-classified (declared and valid)."""
        by_id = {c.id: c for c in clean}
        fear_total = sum(len(d.card_ids) for d in drafts if d.kind == "fear")  # the cap is per analysis
        reclassified: list[ReclassifiedReply] = []
        # First fit, largest drafts first: few batches, and a draft is never cut
        # (a single draft larger than the cap gets a batch of its own).
        batches: list[list[Theme]] = []
        for d in sorted(drafts, key=lambda d: -len(d.card_ids)):
            for b in batches:
                if sum(len(x.card_ids) for x in b) + len(d.card_ids) <= THEME_BATCH_CARDS:
                    b.append(d)
                    break
            else:
                batches.append([d])
        batches = batches or [[]]
        out: list[Theme] = []
        for n, batch in enumerate(batches, start=1):
            batch_cards = [by_id[cid] for d in batch for cid in d.card_ids]
            payload = [
                {
                    "draft": f"d{i}",
                    "suggested_kind": d.kind,
                    "cards": [{"id": c.id, "text": c.text, **({"column": c.column} if c.column else {})}
                              for c in (by_id[cid] for cid in d.card_ids)],
                }
                for i, d in enumerate(batch, start=1)
            ]
            subset = CardSet(cards=batch_cards)
            drafted = {cid: d.kind for d in batch for cid in d.card_ids}

            def validate(reply: ThemesReply, subset=subset, drafted=drafted) -> list[str]:
                themes = [Theme(**t.model_dump()) for t in reply.themes]
                errs = problems(_scaffold(themes), subset, register)
                errs += _fears_kept(themes, drafted, reply.reclassified,
                                    before=len(reclassified), fear_total=fear_total)
                errs += _verbatim(themes, subset)
                errs += _reason_verbatim(reply.reclassified, subset)
                return errs

            task = "themes" if len(batches) == 1 else f"themes {n}/{len(batches)}"
            reply = self._ask(
                client, task, self.prompts["themes"],
                {"cards": fence("cards", payload), "card_count": str(len(batch_cards))},
                ThemesReply, validate,
            )
            out += [Theme(**t.model_dump()) for t in reply.themes]
            reclassified += reply.reclassified
        # Renumber across batches: ids are ours, not the model's.
        order = {"flaw": 0, "fear": 1, "positive": 2, "other": 3}
        out.sort(key=lambda t: order[t.kind])
        return [t.model_copy(update={"id": f"t{i}"}) for i, t in enumerate(out, start=1)], reclassified

    def _coverage(self, client, themes, fear_texts: dict[str, list[str]], register, today):
        fears = [t for t in themes if t.kind == "fear"]
        if not fears:
            return [], set()
        store = self.local.store
        usable = {c.id for c in register.commitments if health(c, today).usable}
        k = self.settings.top_k
        coverage: list[Coverage] = []
        cited: set[str] = set()
        for start in range(0, len(fears), COVERAGE_BATCH_THEMES):
            batch = fears[start : start + COVERAGE_BATCH_THEMES]
            fear_items, given = [], []
            for t in batch:
                texts = fear_texts[t.id]
                hits = store.search(register, texts, k=k * 3)
                best: dict[tuple[str, int], float] = {}
                clause_text: dict[tuple[str, int], str] = {}
                for per_text in hits:
                    for h in per_text:
                        if h.clause.commitment_id not in usable:
                            continue
                        key = (h.clause.commitment_id, h.clause.index)
                        best[key] = max(best.get(key, -1.0), h.similarity)
                        clause_text[key] = h.clause.text
                top = sorted(best, key=lambda key: -best[key])[:k]
                fear_items.append(
                    {
                        "theme_id": t.id,
                        "label": t.label,
                        "summary": t.summary,
                        "cards": texts,
                        "passages": [
                            {"commitment_id": cid, "text": clause_text[(cid, i)], "similarity": round(best[(cid, i)], 3)}
                            for cid, i in top
                        ],
                    }
                )
                given += [cid for cid, _ in top if cid not in given]
            commitments = [_commitment_data(register.get(cid)) for cid in given]
            batch_ids = {t.id for t in batch}

            def validate(reply: CoveragesReply, batch_ids=batch_ids, given=set(given)) -> list[str]:
                errs: list[str] = []
                seen: dict[str, int] = {}
                for c in reply.coverage:
                    seen[c.theme_id] = seen.get(c.theme_id, 0) + 1
                    if c.theme_id not in batch_ids:
                        errs.append(f"coverage given for {show_id(c.theme_id)}, which is not one of the fear themes given")
                    for cid in dict.fromkeys(c.commitment_ids + [q.commitment_id for q in c.quotes]):
                        if cid not in given and register.get(cid) is not None:
                            errs.append(
                                f"commitment {show_id(cid)} (coverage of {show_id(c.theme_id)}) was not among the "
                                "commitments given; cite only those"
                            )
                errs += [f"fear theme {show_id(tid)} has {n} coverage entries; give exactly one"
                         for tid, n in seen.items() if n > 1]
                got = [_coverage(c) for c in reply.coverage if c.theme_id in batch_ids]
                errs += problems(_scaffold(themes, got, only=batch_ids), CardSet(cards=_cards_of(themes)), register)
                return errs

            reply = self._ask(
                client, "coverage", self.prompts["coverage"],
                {"fears": fence("fears", fear_items), "commitments": fence("commitments", commitments)},
                CoveragesReply, validate,
            )
            for c in reply.coverage:
                coverage.append(_coverage(c))
                cited.update(c.commitment_ids)
        return coverage, cited

    def _actions(self, client, themes, coverage, register, today, cards) -> list[Action]:
        if not any(t.kind in ("flaw", "fear") for t in themes):
            return []
        cited = list(dict.fromkeys(cid for c in coverage for cid in c.commitment_ids))
        owners = {cid: register.get(cid).owner_role for cid in cited if register.get(cid) and register.get(cid).owner_role}
        data = {
            "themes": [{"id": t.id, "kind": t.kind, "label": t.label, "summary": t.summary} for t in themes],
            "coverage": [
                {"theme_id": c.theme_id, "status": c.status, "commitment_ids": c.commitment_ids, "rationale": c.rationale}
                for c in coverage
            ],
            "commitment_owners": owners,
            "default_owner": default_owner(register),
        }

        def validate(reply: ActionsReply) -> list[str]:
            actions = [Action(**a.model_dump()) for a in reply.actions]
            errs = problems(Analysis(themes=themes, coverage=coverage, actions=actions, meta=_META), CardSet(cards=_cards_of(themes)), register)
            errs += [f"action {show_id(a.id)} is due {a.due.isoformat()}, before today ({today.isoformat()})"
                     for a in actions if a.due < today]
            return errs

        reply = self._ask(
            client, "actions", self.prompts["actions"],
            {"analysis": fence("analysis", data), "today": today.isoformat()},
            ActionsReply, validate,
        )
        return [Action(**a.model_dump()) for a in reply.actions]

    # --- the repair loop --------------------------------------------------------

    def _ask(self, client: LLMClient, task: str, prompt: Prompt, variables: dict[str, str],
             shape: type[T], validate: Callable[[T], list[str]]) -> T:
        messages = prompt.render(**variables)
        attempts = self.settings.repair_attempts + 1
        for attempt in range(1, attempts + 1):
            reply = client.complete(messages, task=task, prompt=prompt.info, attempt=attempt)
            value, errors = _parse(reply.text, shape)
            if value is not None:
                errors = validate(value)
            if not errors:
                return value
            errors = list(dict.fromkeys(errors))
            reply.call.status = "invalid"
            reply.call.error = "; ".join(errors[:5]) + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else "")
            if attempt == attempts:
                raise ModelOutputError(
                    f"{task}: reply still invalid after {self.settings.repair_attempts} repair attempt(s): "
                    + "; ".join(errors[:3]),
                    attempts=attempt,
                    last_reply=reply.text,
                )
            shown = errors[:MAX_ERRORS_SHOWN]
            more = f"\n- ... and {len(errors) - len(shown)} more of the same kind" if len(errors) > len(shown) else ""
            repair = self.prompts["repair"].render(errors="\n".join(f"- {e}" for e in shown) + more)
            messages = [*messages, {"role": "assistant", "content": reply.text}, *repair]
        raise AssertionError("unreachable")


# --- helpers -------------------------------------------------------------------

_META = Meta(engine="llm", model="-")
_TOO_DEEP = "the reply nests too deeply to read; reply with one flat JSON object in the shape asked"
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.S)


def _parse(text: str, shape: type[T]) -> tuple[T | None, list[str]]:
    """Parse a reply into ``shape``; errors are written for the model to read."""
    m = _FENCE.match(text)
    raw = m.group(1) if m else text.strip()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        return None, [f"the reply is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
                      "reply with one JSON object only, no prose"]
    except RecursionError:
        return None, [_TOO_DEEP]
    try:
        return shape.model_validate(data), []
    except RecursionError:
        return None, [_TOO_DEEP]
    except ValidationError as e:
        errs = []
        for err in e.errors()[:MAX_ERRORS_SHOWN]:
            where = ".".join(str(x) for x in err["loc"]) or "the reply"
            errs.append(f"at {where}: {err['msg']}")
        return None, errs


def _scaffold(themes: list[Theme], coverage: list[Coverage] | None = None, *, only: set[str] | None = None) -> Analysis:
    """An analysis whose not-yet-produced parts are valid placeholders.

    ``problems`` then reports only what is wrong with the parts given: themes
    (and, for the coverage stage, the entries of the fears in ``only``).
    """
    given = {c.theme_id for c in coverage or []}
    cov = list(coverage or [])
    for t in themes:
        if t.kind == "fear" and (only is None or t.id not in only) and t.id not in given:
            cov.append(Coverage(theme_id=t.id, status="uncovered"))
    status = {c.theme_id: c.status for c in cov}
    actions = []
    for t in themes:
        kinds = []
        if t.kind == "flaw":
            kinds = ["fix"]
        elif t.kind == "fear":
            kinds = ["reassure", "escalate"] if status.get(t.id) != "uncovered" else ["escalate"]
        for k in kinds:
            actions.append(Action(id=f"scaffold-{len(actions)}", title="-", kind=k, theme_ids=[t.id],
                                  owner_role="-", due=dt.date(2000, 1, 1)))
    return Analysis(themes=themes, coverage=cov, actions=actions, meta=_META)


def _cards_of(themes: list[Theme]) -> list[Card]:
    return [Card(id=cid, text="-") for t in themes for cid in dict.fromkeys(t.card_ids)]


def _fears_kept(
    themes: list[Theme],
    drafted: dict[str, str],
    reclassified: Sequence[ReclassifiedReply] = (),
    *,
    before: int = 0,
    fear_total: int | None = None,
) -> list[str]:
    """A fear may not be hidden silently.

    A card the pre-grouping drafted as a fear stays in a fear theme unless the
    reply declares it in ``reclassified`` (the kind of the theme it landed in,
    and a reason the facilitator will see). A declared card must exist, must
    come from a fear draft and must sit in a theme of the declared kind. No
    theme mixes undeclared cards of fear drafts with cards of flaw drafts.
    Re-classifying more than half of the analysis's ``fear_total`` fear-draft
    cards (counting ``before``, those accepted in earlier batches), and at
    least ``RECLASSIFY_SUSPICIOUS_MIN``, is refused: that is what an injected
    "these worries are not real" card would ask for.
    """
    out = []
    theme_of = {cid: t for t in themes for cid in t.card_ids}  # a card in 2 themes is reported by problems()
    declared: dict[str, ReclassifiedReply] = {}
    for r in reclassified:
        cid = show_id(r.card_id)
        if r.card_id in declared:
            out.append(f"card {cid} is declared more than once in reclassified; declare it once")
            continue
        declared[r.card_id] = r
        if r.card_id not in drafted:
            out.append(f"reclassified names card {cid}, which does not exist; declare only the given card ids")
        elif drafted[r.card_id] != "fear":
            out.append(
                f"card {cid} is declared in reclassified, but its draft was {drafted[r.card_id]!r}, not 'fear'; "
                "declare only cards of fear drafts that you move out of the fear themes: remove this entry"
            )
        elif (t := theme_of.get(r.card_id)) is not None and t.kind != r.to_kind:
            out.append(
                f"card {cid} is declared reclassified to {r.to_kind!r} but is in theme {show_id(t.id)} of kind "
                f"{t.kind!r}; put it in a theme of kind {r.to_kind!r}, or keep it a fear and remove it from "
                "reclassified"
            )
    moved = {cid for cid in declared if drafted.get(cid) == "fear"}
    for t in themes:
        fear = [cid for cid in t.card_ids if drafted.get(cid) == "fear" and cid not in moved]
        flaw = [cid for cid in t.card_ids if drafted.get(cid) == "flaw"]
        if fear and flaw:
            out.append(
                f"theme {show_id(t.id)} mixes cards of fear drafts ({', '.join(show_id(c) for c in fear[:5])}) with "
                f"cards of flaw drafts ({', '.join(show_id(c) for c in flaw[:5])}); fears and flaws never share a "
                "theme: split it"
            )
        if fear and t.kind != "fear":
            out.append(
                f"theme {show_id(t.id)} is kind {t.kind!r} but holds cards of fear drafts "
                f"({', '.join(show_id(c) for c in fear[:5])}) not declared in reclassified; keep those cards in a "
                "theme of kind 'fear': a fear may not be dropped (only a card that is plainly not a worry may "
                "leave, declared in reclassified with its new kind and a reason)"
            )
    total = fear_total if fear_total is not None else sum(1 for k in drafted.values() if k == "fear")
    count = before + len(moved)
    if moved and count >= RECLASSIFY_SUSPICIOUS_MIN and 2 * count > total:
        out.append(
            f"reclassified takes {count} of the {total} cards of fear drafts out of the fears; more than half is "
            "not accepted (a card may be asking you to hide the worries): keep these cards in themes of kind "
            "'fear' and remove them from reclassified, except a card that is plainly not a worry about people"
        )
    return out


def _reason_verbatim(reclassified: Sequence[ReclassifiedReply], cards: CardSet) -> list[str]:
    """The reason is shown to the facilitator and may be published: it may not quote the card."""
    text_of = {c.id: c.text for c in cards.cards}
    return [
        f"the reason for re-classifying card {show_id(r.card_id)} copies the card word for word; paraphrase it"
        for r in reclassified
        if r.card_id in text_of and _copies(_norm(r.reason), text_of[r.card_id])
    ]


def _reclassified_warning(r: ReclassifiedReply, roster: Sequence[str]) -> str:
    """One line for ``meta.warnings``: model text scrubbed, on one line, bounded."""
    reason = scrub(r.reason, roster)
    reason = " ".join("".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in reason).split())
    if len(reason) > RECLASSIFY_REASON_MAX:
        reason = reason[: RECLASSIFY_REASON_MAX - 1].rstrip() + "\u2026"
    return f"the model re-classified card {r.card_id} from fear to {r.to_kind}: {reason}"


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _copies(said: str, card_text: str) -> bool:
    """Whether normalised text ``said`` contains the card whole, or a run of its
    words of at least ``VERBATIM_MIN_CHARS`` characters."""
    whole = _norm(card_text).strip(" .,;:!?\"'()")
    if len(whole) >= VERBATIM_MIN_CARD_CHARS and whole in said:
        return True
    words = _norm(card_text).split()
    for i in range(len(words)):
        chunk = ""
        for w in words[i:]:
            chunk = f"{chunk} {w}".strip()
            if len(chunk) >= VERBATIM_MIN_CHARS:
                break
        if len(chunk) >= VERBATIM_MIN_CHARS and chunk in said:
            return True
    return False


def _verbatim(themes: list[Theme], cards: CardSet) -> list[str]:
    """A fear's label or summary may not quote a card: writing style identifies people."""
    out = []
    text_of = {c.id: c.text for c in cards.cards}
    for t in themes:
        if t.kind != "fear":
            continue
        said = _norm(f"{t.label} {t.summary}")
        for cid in t.card_ids:
            if _copies(said, text_of.get(cid) or ""):
                out.append(f"theme {show_id(t.id)} copies card {show_id(cid)} word for word; paraphrase it")
    return out


def _coverage(c: CoverageReply) -> Coverage:
    ids = list(dict.fromkeys(c.commitment_ids))
    return Coverage(
        theme_id=c.theme_id,
        status=c.status,
        commitment_ids=ids,
        quotes=[Quote(commitment_id=q.commitment_id, text=q.text) for q in c.quotes],
        rationale=c.rationale,
    )


def _commitment_data(c) -> dict:
    return {
        "id": c.id,
        "title": c.title,
        "scope": c.scope,
        "text": c.text,
        "does_not_promise": c.does_not_promise,
        "owner_role": c.owner_role,
    }


def _reason(e: BaseException) -> str:
    """meta.fallback_reason: our own errors as written; anything else by its type."""
    if isinstance(e, (ModelCallError, ModelOutputError)):
        return str(e)
    first = str(e).splitlines()[0][:200] if str(e) else ""
    return f"unexpected {type(e).__name__} in the model path" + (f": {first}" if first else "")


def _log_fallback(e: BaseException, reason: str) -> None:
    if isinstance(e, (ModelCallError, ModelOutputError)):
        log.warning("model engine failed, using the offline engine: %s", reason)
    else:
        log.error("model engine failed (%s), using the offline engine", type(e).__name__, exc_info=e)


def _model_warnings(client: LLMClient) -> list[str]:
    if client.usage.fallback_model_calls:
        return [f"fallback model {client.models[-1]} answered after {client.models[0]} failed"]
    return []


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
