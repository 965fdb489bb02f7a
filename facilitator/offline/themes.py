"""Grouping cards into themes, offline and deterministic.

Each card's kind comes from ``facilitator.offline.kinds``. Within each kind,
cards are clustered on a similarity that mixes the sentence embedding with a
lexical channel (shared rare words: a tool, a room, a team name, which a small
encoder blurs), with Ward linkage cut at a typical theme size. Proposals ("Document
the release steps") are flaws, so they cluster with the problem they address.
Fears are grouped by the sort of fear, so an automation fear never shares a
theme with a blame fear, and a fear never shares a theme with a flaw.

Labels read as a short phrase about the theme, taken from its most central
card (flaws, positives, other); a fear's label is a paraphrase of its sort and
never quotes a card.
"""

from __future__ import annotations

import re

import numpy as np

from facilitator.i18n import N_, _
from facilitator.models import Card, Theme
from facilitator.offline import lexical
from facilitator.offline.kinds import KindClassifier
from facilitator.offline.steering import ID_LIKE
from facilitator.scrub import roster_names, without_names
from facilitator.text import capitalised

# Marked for the catalogue: written in the retro's language (the analysis runs in its locale).
FEAR_LABELS = {
    "automation": N_("Fear of automation or AI replacing roles"),
    "blame": N_("Fear of being blamed"),
    "burnout": N_("Burnout and unsustainable workload"),
    "outsourcing": N_("Fear of work being outsourced"),
    "reorganisation": N_("Worry about reorganisation"),
    "job_security": N_("Worry about job security"),
    "other": N_("Other personal worries"),
}

FEAR_SUMMARIES = {
    "automation": N_("Some people worry that automation or AI will make their role redundant."),
    "blame": N_("Some people worry they will be blamed or punished when something goes wrong."),
    "burnout": N_("Some people describe exhaustion and a workload they cannot sustain."),
    "outsourcing": N_("Some people worry that their work will move to an outside vendor or offshore."),
    "reorganisation": N_("Some people worry about a reorganisation changing their team or role."),
    "job_security": N_("Some people worry about losing their job or income."),
    "other": N_("Some people raised personal worries about how changes will affect them."),
}

# --- clustering --------------------------------------------------------------

CARDS_PER_THEME = 3.0
"""Cut at about n/3 themes per kind. Re-measured when the tune slice grew to 37 boards
(and kinds came from the two-stage classifier): ARI is noisy from one cut to the next
(the rounding of n/size moves whole clusters), so sizes were compared over a
neighbourhood. Mean tune / written ARI over 2.75, 3.0, 3.25: 0.304 / 0.403; over 3.25,
3.5, 4.0: 0.293 / 0.386. 3.0 is also the gold themes' mean size on the real boards
(2.8 to 3.1). A same-column bonus of 0.05 to 0.1 in the similarity moved either set by
less than that noise and was left out (as it was on 24 boards: 0.304 vs 0.302).
Earlier, with one-stage kinds (tune / written ARI): 0.31 / 0.38 at 2.5, 0.33 / 0.36 at
3.0, 0.35 / 0.37 at 3.5, 0.32 / 0.36 at 4.0 (16 boards); 0.29 / 0.30 / 0.30 / 0.27 at
2.5 / 3.0 / 3.5 / 4.5 (24). Counts transfer between datasets; cosine thresholds do not."""
LEXICAL_WEIGHT = 0.3
"""Share of the lexical channel (TF-IDF over stems) in the similarity. At 3.5 cards per
theme, 0.3 vs 0 gave real tune ARI 0.35 vs 0.33 and written 0.37 vs 0.37."""


def cluster_by_size(
    vectors: np.ndarray, per_theme: float = CARDS_PER_THEME, texts: list[str] | None = None,
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[int]:
    """Ward clustering into about n/per_theme groups.

    Cutting at a target count beats every similarity threshold (the evals
    agree): short cards on one topic often share few words, so absolute
    similarity is a poor cut, relative closeness a good one; counts also
    transfer between datasets, where cosine thresholds do not.
    """
    n = vectors.shape[0]
    if n <= 2:
        return list(range(n)) if n == 2 and float(vectors[0] @ vectors[1]) < 0.5 else [0] * n
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    sim = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    if texts is not None and lexical_weight:
        sim = (1 - lexical_weight) * sim + lexical_weight * lexical.similarity(texts)
    # For unit vectors sqrt(2 - 2 cos) is the Euclidean distance Ward expects.
    d = np.sqrt(np.clip(2.0 - 2.0 * sim, 0.0, None))
    np.fill_diagonal(d, 0.0)
    k = max(1, int(round(n / per_theme)))
    z = linkage(squareform(d, checks=False), method="ward")
    return _first_seen(fcluster(z, t=k, criterion="maxclust"))


def _first_seen(labels) -> list[int]:
    """Renumber in order of first appearance, for a stable theme order."""
    seen: dict[int, int] = {}
    return [seen.setdefault(int(lab), len(seen)) for lab in labels]


# --- labels -----------------------------------------------------------------

LABEL_MAX_WORDS = 7
_CLAUSE = re.compile(r"[.;:!?()\[\]\n]+|\s[-\u2013\u2014]\s|,\s(?:but|and|so|because)\s")
# What opens a clause without saying anything about the theme: a leading symbol, "we
# should", and the connectives of a card that answers another ("However, the
# counterpoint is ...", "This would also make ...", "Also, ...").
_LEAD = re.compile(
    r"^\W+|^(?:we|i)\s+(?:should|need to|could)\s+|^(?:however|also|but|and|so|then|plus|besides|still)\b,?\s+"
    r"|^this\s+(?:would|will|could|should|might)\s+(?:also\s+)?", re.I)
FALLBACK_LABEL = {"flaw": N_("A process problem"), "positive": N_("Something that went well"), "other": N_("Other notes")}


def phrase(text: str, roster_lower: set[str]) -> str:
    """The first clause of a card, at most LABEL_MAX_WORDS words, names left out; a
    clause that is longer is cut where a phrase ends (before "whereby", "which", "to",
    a comma ...) or, when no such place leaves three words, cut with an ellipsis."""
    # Names and anything shaped like a commitment id stay out of a label: an id in a
    # label would read as a promise (and a card may cite one the register lacks).
    text = ID_LIKE.sub("", without_names(text, roster_lower))
    first = next((p for p in _CLAUSE.split(text) if len(p.split()) >= 2), text)
    first = first.strip()
    while (shorter := _LEAD.sub("", first, count=1)) != first and len(shorter.split()) >= 2:
        first = shorter
    words = first.split()
    if len(words) > LABEL_MAX_WORDS:
        cut = max((i for i in range(3, LABEL_MAX_WORDS + 1) if _ends_phrase(words, i)), default=None)
        if cut is None:
            words = words[:LABEL_MAX_WORDS]
            while words and words[-1].lower().strip(",") in _DANGLING:
                words.pop()
            words[-1] = words[-1].rstrip(",") + "\u2026"
        else:
            words = words[:cut]
    # Never end on "with", "to", "how" (a name taken out, or a clause cut short).
    while len(words) > 2 and words[-1].lower().strip(",") in _DANGLING | _QUESTION_WORDS:
        words.pop()
    out = " ".join(words).strip(" ,;:-")
    if out.count('"') % 2:  # a quotation cut in half
        out = out.replace('"', "")
    return capitalised(out)


_QUESTION_WORDS = frozenset({"how", "what", "why", "when", "who", "whether"})
# A phrase ends before one of these words, or after a comma.
_PHRASE_BREAK = frozenset(
    "whereby which who whom whose that when where while because since as if so but and or to for with by "
    "from in on at of than unless until after before via".split()
)


def _ends_phrase(words: list[str], i: int) -> bool:
    """Whether cutting ``words`` before index ``i`` ends on a phrase boundary."""
    last = words[i - 1].lower().strip(",")
    if last in _DANGLING or last in _QUESTION_WORDS:
        return False
    return words[i - 1].endswith(",") or (i < len(words) and words[i].lower() in _PHRASE_BREAK)


_DANGLING = frozenset("a an the and or but of to for with in on at by from that is are was were be our my your their".split())


def central_order(vectors: np.ndarray) -> list[int]:
    """Members from most to least central (mean similarity to the others)."""
    if len(vectors) <= 2:
        return list(range(len(vectors)))
    sim = vectors @ vectors.T
    return sorted(range(len(vectors)), key=lambda i: (-float(sim[i].mean()), i))


def theme_label(kind: str, members: list[Card], vectors: np.ndarray, roster_lower: set[str]) -> tuple[str, str]:
    """(label, summary) of a flaw, positive or other theme, from its own cards."""
    order = central_order(vectors)
    phrases = [p for i in order if len((p := phrase(members[i].text, roster_lower)).split()) >= 2]
    # The most central card's phrase, unless it had to be cut short and another card's did not.
    whole = [p for p in phrases[:3] if not p.endswith("\u2026")]
    label = (whole or phrases or [_(FALLBACK_LABEL[kind])])[0]
    # No card count in the text: the facilitator moves cards, and a count written
    # here would go stale (every view counts the theme's cards itself).
    summary = _({"flaw": N_("Cards about a problem"), "positive": N_("Cards about what went well"),
                 "other": N_("Other notes")}[kind])
    if len(members) == 1:
        summary = _({"flaw": N_("A card about a problem"), "positive": N_("A card about what went well"),
                     "other": N_("A note")}[kind])
    others = [p for p in phrases[1:] if p.lower() != label.lower()]
    if others:
        summary = _("{lead}, such as: {example}").format(lead=summary, example=others[0][:1].lower() + others[0][1:])
    return label, summary if summary.endswith("\u2026") else summary + "."


def group_cards(
    cards: list[Card],
    vectors: np.ndarray,
    classifier: KindClassifier,
    *,
    roster: list[str] | tuple[str, ...] = (),
) -> list[Theme]:
    kinds = classifier.classify(cards, vectors)
    roster_lower = {n.lower() for n in roster_names(roster)}  # parts too: "Ana Silva" -> "ana"
    buckets: dict[tuple[str, str], list[int]] = {}
    for i, ck in enumerate(kinds):
        key = (ck.kind, ck.fear_type or "")
        buckets.setdefault(key, []).append(i)

    groups: list[tuple[str, str | None, list[int]]] = []
    for (kind, fear_type), idx in buckets.items():
        if kind in ("fear", "other"):
            # One theme per sort of fear (cards about the same fear belong together),
            # and one for the asides, as facilitators group them.
            groups.append((kind, fear_type or None, idx))
            continue
        labels = cluster_by_size(vectors[idx], texts=[cards[i].text for i in idx])
        for lab in sorted(set(labels)):
            groups.append((kind, None, [idx[j] for j, l in enumerate(labels) if l == lab]))

    order = {"flaw": 0, "fear": 1, "positive": 2, "other": 3}
    groups.sort(key=lambda g: (order[g[0]], -len(g[2]), min(g[2])))
    themes = []
    for n, (kind, fear_type, idx) in enumerate(groups, start=1):
        tid = f"t{n}"
        idx = sorted(idx)
        members = [cards[i] for i in idx]
        if kind == "fear":
            ft = fear_type or "other"
            label, summary = _(FEAR_LABELS[ft]), _(FEAR_SUMMARIES[ft])
        else:
            label, summary = theme_label(kind, members, vectors[idx], roster_lower)
        themes.append(Theme(id=tid, label=label, kind=kind, card_ids=[c.id for c in members], summary=summary))
    return themes
