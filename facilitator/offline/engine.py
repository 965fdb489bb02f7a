"""The offline engine: local embeddings, embedded Chroma, no network, no key.

It is the default engine and the fallback of the model engine. Same input,
same output: nothing here is random. Built by ``facilitator.wiring``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

from facilitator.inputs import register as register_module
from facilitator.i18n import _
from facilitator.models import Analysis, CardSet, Coverage, Meta, Register, StatementCoverage
from facilitator.offline.actions import draft_actions
from facilitator.offline.coverage import CoverageJudge
from facilitator.offline.kinds import KindClassifier, may_be_fears
from facilitator.offline.steering import steering_reason
from facilitator.offline.store import CommitmentStore
from facilitator.offline.themes import group_cards
from facilitator.seams import Embedder, Progress
from facilitator.settings import Settings


class LocalEngine:
    name = "local"

    def __init__(self, settings: Settings, *, embedder: Embedder, store: CommitmentStore | None = None):
        self.settings = settings
        self.embedder = embedder
        self.store = store or CommitmentStore(self.embedder, self.settings.chroma_path)
        self._classifier: KindClassifier | None = None

    @property
    def classifier(self) -> KindClassifier:
        return self.classifier_for(self.embedder)

    def classifier_for(self, embedder: Embedder) -> KindClassifier:
        """The kind classifier; fitted (at most once) with ``embedder``, bound to the
        analysis in progress, so even its training text is scrubbed of the team's names."""
        if self._classifier is None:
            self._classifier = KindClassifier(embedder, cache_dir=self.settings.data_dir)
        return self._classifier

    def analyze(
        self,
        cards: CardSet,
        register: Register,
        *,
        today: dt.date,
        roster: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> Analysis:
        # Whatever embeds card text (a provider's embedder too, RETRO_EMBEDDING_MODEL)
        # scrubs the team's names before it leaves the machine.
        embedder = self.embedder.bound(roster=roster)
        timings: dict[str, float] = {}
        step = progress or (lambda name, frac: None)

        t0 = time.perf_counter()
        step(_("embedding cards"), 0.0)
        vectors = embedder.embed([c.text for c in cards.cards])
        timings["embed"] = _ms(t0)

        t0 = time.perf_counter()
        step(_("grouping into themes"), 0.3)
        themes = group_cards(cards.cards, vectors, self.classifier_for(embedder), roster=roster)
        timings["group"] = _ms(t0)

        t0 = time.perf_counter()
        step(_("checking fears against the register"), 0.6)
        self.store.sync(register)
        judge = CoverageJudge(self.store, embedder, register, today, self.settings.top_k)
        text_of = {c.id: c.text for c in cards.cards}
        fear_cards = [cid for t in themes if t.kind == "fear" for cid in t.card_ids]
        steering = {cid: r for cid in fear_cards if (r := steering_reason(text_of[cid], register))}
        coverage = []
        for t in themes:
            if t.kind != "fear":
                continue
            # A card trying to steer the answer is not evidence for it (unless it is all there is).
            evidence = [text_of[cid] for cid in t.card_ids if cid not in steering]
            j = judge.judge(evidence or [text_of[cid] for cid in t.card_ids])
            coverage.append(Coverage(theme_id=t.id, status=j.status, candidates=j.candidates, rationale=j.rationale))
        timings["coverage"] = _ms(t0)

        t0 = time.perf_counter()
        step(_("drafting actions"), 0.9)
        actions = draft_actions(themes, coverage, register, today, cards.cards, roster)
        timings["actions"] = _ms(t0)
        step("done", 1.0)
        return Analysis(
            themes=themes,
            coverage=coverage,
            actions=actions,
            meta=Meta(
                engine="local",
                model=self.embedder.name,
                timings_ms=timings,
                warnings=register_module.warnings(register, today)
                + [_("card {id} was not used to judge coverage: {why}").format(id=cid, why=why)
                   for cid, why in steering.items()],
                may_be_fears=may_be_fears(cards.cards, themes),
            ),
        )

    def cover(self, statements: Sequence[str], register: Register, *, today: dt.date) -> list[StatementCoverage]:
        self.store.sync(register)
        judge = CoverageJudge(self.store, self.embedder, register, today, self.settings.top_k)
        out = []
        for s in statements:
            j = judge.judge([s])
            out.append(StatementCoverage(statement=s, status=j.status, candidates=j.candidates, rationale=j.rationale))
        return out


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
