"""The model engine: prompts -> calls -> validation -> repair -> fallback.

Same seam and same output as the offline engine (``facilitator.seams``); the
provider is any litellm model string, and every provider call goes through
``facilitator.model.client``.

How many calls, and why
-----------------------
Three tasks, one call each for a typical retro (3 calls for 50 cards):

1. **themes**: the offline pre-grouping (``offline.themes.group_cards``,
   deterministic, local embeddings) is sent as a draft, a hint and not a
   constraint, and the model refines it: moves, merges, splits, writes labels,
   summaries and kinds. Drafting first gives the
   model a good start and lets large retros be cut at theme boundaries: up to
   ``THEME_BATCH_CARDS`` (120) cards per call (200 cards = 2 calls). The cap keeps
   each reply (which lists every card id) short enough to finish inside the
   60 s deadline and keeps a repair cheap (it resends one batch, not the retro).
   Similar cards share a draft, so a batch boundary rarely splits a topic.
   Any card drafted as a fear may leave the fears when the reply declares it
   in ``reclassified`` (new kind and a reason); each one is listed for the
   facilitator (``meta.reclassified``, with a restore in review), and many
   raise a visible warning rather than a refusal. While a card of the batch
   reads like an instruction, no card may leave the fears
   (``replies.reclassification_problems``).
2. **coverage**: every fear theme with its cards and the candidate
   commitments (``offline.candidates``, the same list the offline engine
   shows), plus the full text, scope, limits and state of those commitments
   (so quotes can be exact and limits read), up to ``COVERAGE_BATCH_THEMES``
   fears per call.
3. **actions**: themes (labels and summaries, no card text) and coverage.

Each reply is parsed into pydantic models and checked with
``facilitator.checks.problems`` (the same invariants every engine must meet),
plus the few checks only a model needs (cite only the commitments it was
given, no verbatim card text in a fear's label or summary, due dates not in
the past). A stage is checked against a scaffold: the parts of the analysis
that later stages will produce are filled with placeholders that meet the
invariants, so every message ``problems`` returns is about this stage's reply.
Invalid replies get the messages back (the ``repair`` prompt) up to
``repair_attempts`` times; then the engine fails closed and the offline engine
analyses the same cards (``meta.engine = "local"``, ``meta.fallback_reason``),
keeping the transcript of what was sent.

Card text is scrubbed (roster names, e-mails, handles, phones, links) before
anything leaves the machine and is sent as JSON between explicit delimiters,
with the instruction that it is data.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from facilitator.checks import problems, required_action_kinds, show_id
from facilitator.errors import ModelCallError, ModelOutputError
from facilitator.inputs import register as register_module
from facilitator.inputs.register import default_owner
from facilitator.model.client import EmbeddingCallError, LLMClient, check_environment
from facilitator.model.replies import (
    MAX_ERRORS_SHOWN,
    ActionsReply,
    CoverageReply,
    CoveragesReply,
    ReclassifiedReply,
    ThemesReply,
    clean_reason,
    fear_copies_card,
    many_reclassified_warning,
    parse,
    reason_copies_card,
    reclassification_problems,
)
from facilitator.model.templates import Prompt, fence, load_prompt
from facilitator.i18n import _
from facilitator.models import (
    Action,
    Analysis,
    Card,
    CardSet,
    Coverage,
    Meta,
    Quote,
    Reclassification,
    Register,
    StatementCoverage,
    Theme,
)
from facilitator.offline.candidates import candidates
from facilitator.offline.steering import steering_reason
from facilitator.offline.kinds import may_be_fears
from facilitator.offline.themes import group_cards
from facilitator.scrub import scrub
from facilitator.seams import Engine, Progress
from facilitator.settings import Settings

log = logging.getLogger(__name__)

THEME_BATCH_CARDS = 120
COVERAGE_BATCH_THEMES = 6

T = TypeVar("T")


class LLMEngine:
    name = "llm"

    def __init__(
        self,
        settings: Settings,
        *,
        local: Engine,
        local_only: Callable[[], Engine] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        """``local`` is the offline engine (pre-grouping, retrieval, fallback);
        ``local_only`` builds one on the local embedder, for when a provider's
        embeddings are what failed. Both come from ``facilitator.wiring``."""
        self.settings = settings
        # Fail before any work when the model string or its key is wrong.
        LLMClient(self.settings, sleep=sleep)  # checks a model is set
        for model in filter(None, (self.settings.model, self.settings.fallback_model)):
            check_environment(model, self.settings.api_base)
        self.local = local
        self._local_only_factory = local_only
        self._local_only: Engine | None = None
        self._sleep = sleep
        self.prompts: dict[str, Prompt] = {n: load_prompt(n) for n in ("themes", "coverage", "actions", "repair")}

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
        t0 = time.perf_counter()
        try:
            return self._analyze(client, cards, register, today, tuple(roster), progress or (lambda s, f: None))
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

    def _local_embeddings_engine(self) -> Engine:
        if self._local_only is None:
            if self._local_only_factory is None:
                raise ModelCallError("Remote embeddings failed and no offline engine on local embeddings is wired")
            self._local_only = self._local_only_factory()
        return self._local_only

    def cover(self, statements: Sequence[str], register: Register, *, today: dt.date) -> list[StatementCoverage]:
        client = LLMClient(self.settings, sleep=self._sleep)
        themes = [
            Theme(id=f"s{i}", label=f"Statement {i}", kind="fear", card_ids=[f"s{i}"])
            for i in range(1, len(statements) + 1)
        ]
        texts = {t.id: [scrub(s)] for t, s in zip(themes, statements)}
        try:
            coverage, _ = self._coverage(client, themes, texts, register, today)
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
                candidates=by_id[t.id].candidates,
            )
            for t, s in zip(themes, statements)
        ]

    # --- stages ---------------------------------------------------------------

    def _analyze(self, client, cards, register, today, roster, step) -> Analysis:
        timings: dict[str, float] = {}
        clean = [Card(id=c.id, text=scrub(c.text, roster), column=c.column) for c in cards.cards]
        t0 = time.perf_counter()
        step(_("pre-grouping cards"), 0.05)
        # Embeddings made for this analysis (a provider's too) are charged to its client.
        embedder = self.local.embedder.bound(roster=roster, client=client)
        vectors = embedder.embed([c.text for c in clean])
        drafts = group_cards(clean, vectors, self.local.classifier, roster=list(roster))
        timings["pregroup"] = _ms(t0)

        t0 = time.perf_counter()
        step(_("grouping into themes (model)"), 0.2)
        themes, reclassified = self._themes(client, clean, drafts, register)
        fear_drafts = sum(len(d.card_ids) for d in drafts if d.kind == "fear")
        timings["themes"] = _ms(t0)

        t0 = time.perf_counter()
        step(_("checking fears against the register (model)"), 0.5)
        text_of = {c.id: c.text for c in clean}
        fear_texts = {t.id: [text_of[cid] for cid in t.card_ids] for t in themes if t.kind == "fear"}
        coverage, cited = self._coverage(client, themes, fear_texts, register, today, embedder)
        timings["coverage"] = _ms(t0)

        t0 = time.perf_counter()
        step(_("drafting actions (model)"), 0.8)
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
                + [f"the model re-classified card {r.card_id} from fear to {r.to_kind}: {clean_reason(r.reason, roster)}"
                   for r in reclassified]
                + [w for w in [many_reclassified_warning(len(reclassified), fear_drafts)] if w],
                reclassified=[Reclassification(card_id=r.card_id, to_kind=r.to_kind, reason=clean_reason(r.reason, roster))
                              for r in reclassified],
                # The re-classified cards are listed already, with their restore.
                may_be_fears=[cid for cid in may_be_fears(clean, themes) if cid not in {r.card_id for r in reclassified}],
            ),
            transcript=client.transcript,
        )
        left = problems(analysis, cards, register)
        if left:  # cannot happen when every stage validated; fail closed if it does
            raise ModelOutputError("Assembled analysis is invalid: " + "; ".join(left[:5]))
        step("done", 1.0)
        return analysis

    def _themes(
        self, client, clean: list[Card], drafts: list[Theme], register: Register
    ) -> tuple[list[Theme], list[ReclassifiedReply]]:
        """The final themes, and the cards of fear drafts the model re-classified (declared and valid)."""
        by_id = {c.id: c for c in clean}
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
            steering = [c.id for c in batch_cards if steering_reason(c.text, register)]

            def validate(reply: ThemesReply, subset=subset, drafted=drafted, steering=steering) -> list[str]:
                themes = [Theme(**t.model_dump()) for t in reply.themes]
                errs = problems(_scaffold(themes), subset, register)
                errs += reclassification_problems(themes, drafted, reply.reclassified, steering=steering)
                errs += fear_copies_card(themes, subset)
                errs += reason_copies_card(reply.reclassified, subset)
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

    def _coverage(self, client, themes, fear_texts: dict[str, list[str]], register, today, embedder=None):
        fears = [t for t in themes if t.kind == "fear"]
        if not fears:
            return [], set()
        embedder = embedder or self.local.embedder
        self.local.store.sync(register)
        k = self.settings.top_k
        coverage: list[Coverage] = []
        cited: set[str] = set()
        for start in range(0, len(fears), COVERAGE_BATCH_THEMES):
            batch = fears[start : start + COVERAGE_BATCH_THEMES]
            fear_items, given = [], []
            shown: dict[str, list] = {}
            for t in batch:
                texts = fear_texts[t.id]
                # The same candidates the offline engine shows, scope and limits beside each.
                found = candidates(self.local.store, embedder, register, texts, today, k)
                shown[t.id] = found
                fear_items.append(
                    {
                        "theme_id": t.id,
                        "label": t.label,
                        "summary": t.summary,
                        "cards": texts,
                        "passages": [
                            {"commitment_id": c.commitment_id, "text": c.clause, "similarity": round(c.similarity, 3)}
                            for c in found
                        ],
                    }
                )
                given += [c.commitment_id for c in found if c.commitment_id not in given]
            commitments = [_commitment_data(register.get(cid), today) for cid in given]
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
                coverage.append(_coverage(c).model_copy(update={"candidates": shown.get(c.theme_id, [])}))
                cited.update(c.commitment_ids)
        return coverage, cited

    def _actions(self, client, themes, coverage, register, today, cards) -> list[Action]:
        if not any(t.kind in ("flaw", "fear") for t in themes):
            return []
        # Cited commitments first, then each fear's candidates: an escalation goes to
        # the owner of the most closely related commitment.
        related = list(dict.fromkeys(
            [cid for c in coverage for cid in c.commitment_ids]
            + [x.commitment_id for c in coverage for x in c.candidates]
        ))
        owners = {cid: register.get(cid).owner_role for cid in related if register.get(cid) and register.get(cid).owner_role}
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
            value, errors = parse(reply.text, shape)
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
        kinds: tuple[str, ...] = ()
        if t.kind == "flaw":
            kinds = ("fix",)
        elif t.kind == "fear":
            kinds = required_action_kinds(status.get(t.id))
        for k in kinds:
            actions.append(Action(id=f"scaffold-{len(actions)}", title="-", kind=k, theme_ids=[t.id],
                                  owner_role="-", due=dt.date(2000, 1, 1)))
    return Analysis(themes=themes, coverage=cov, actions=actions, meta=_META)


def _cards_of(themes: list[Theme]) -> list[Card]:
    return [Card(id=cid, text="-") for t in themes for cid in dict.fromkeys(t.card_ids)]


def _coverage(c: CoverageReply) -> Coverage:
    ids = list(dict.fromkeys(c.commitment_ids))
    return Coverage(
        theme_id=c.theme_id,
        status=c.status,
        commitment_ids=ids,
        quotes=[Quote(commitment_id=q.commitment_id, text=q.text) for q in c.quotes],
        rationale=c.rationale,
    )


def _commitment_data(c, today: dt.date) -> dict:
    return {
        "id": c.id,
        "title": c.title,
        "scope": c.scope,
        "text": c.text,
        "does_not_promise": c.does_not_promise,
        "status": c.status,
        "notes": list(register_module.health(c, today).flags),
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
