"""Rules about text that several parts of the pipeline must agree on.

- ``tokens``/``stem``: the one tokenizer for lexical signals (labels, the
  lexical channel of grouping, limit words in coverage);
- ``copies_card``: the one rule for "this text repeats a card word for word",
  used by the model engine's validator, the publish gate and the evals;
- ``clauses``: the one clause splitter for commitment text; every quote the
  product offers or accepts is one of these clauses or a substring of the text.
"""

from __future__ import annotations

import re
import unicodedata

from facilitator.i18n import _

# --- tokens ------------------------------------------------------------------

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
    each few for from further get gets got had hadn't has hasn't have haven't having he her here hers him his how
    i i'm if in into is isn't it it's its itself just let's like me more most much my myself no nor not now of off
    on once only or other our ours out over own really same she should so some still such than that that's the
    their them then there these they they're this those through to too under until up us very was we we're were
    what when where which while who whom why will with won't would you your yours lot lots bit thing things way
    every again always never one two also even get going go went make made new need needs needed keep keeps
    team sprint week weeks time people ask asked asks come comes came already day days nobody anyone someone
    everyone everything something anything yet via per since take takes took put puts want wants know think
    feel feels said says see seen used use using lol pls ppl bc""".split()
)
WORD = re.compile(r"[^\W\d_][\w'-]+")


def tokens(text: str) -> list[str]:
    """Content words, lower-cased, stopwords and 1-2 letter words dropped."""
    out = []
    for w in WORD.findall(text):
        w = w.lower().strip("'-_")
        if len(w) > 2 and w not in STOPWORDS:
            out.append(w)
    return out


def stem(w: str) -> str:
    for suf in ("ing", "ed", "es", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


# --- text that cannot be stored ---------------------------------------------------

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored (a NUL byte: PostgreSQL refuses it; a lone
    surrogate: not valid UTF-8), or None. Refused with a message, never stripped
    silently, so the writer sees what happened and nothing is lost."""
    m = _UNSTORABLE.search(text or "")
    if m is None:
        return None
    if m.group(0) == "\x00":
        return _("the text contains a NUL character, which cannot be stored; remove it (it often comes from a bad "
                 "copy and paste)")
    return _("the text contains an invalid character (a lone surrogate), which cannot be stored; remove it (it "
             "often comes from a bad copy and paste)")


# --- copying a card ------------------------------------------------------------

COPY_RUN_WORDS = 5
"""A run of this many consecutive words of a card counts as copying it."""
COPY_MIN_WORDS = 3
"""A card shorter than this is only copied when repeated whole (at least COPY_MIN_CHARS)."""
COPY_MIN_CHARS = 10
_COPY_WORD = re.compile(r"\w+(?:'\w+)?")


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Curly apostrophes count as straight ones: "don’t" copies "don't".
    folded = folded.replace("\u2019", "'").replace("\u2018", "'")
    return _COPY_WORD.findall(folded)


def copies_card(said: str, card_text: str) -> bool:
    """Whether ``said`` repeats ``card_text`` word for word.

    Either the whole card (when it has at least ``COPY_MIN_CHARS`` characters),
    or any run of ``COPY_RUN_WORDS`` consecutive words of it (of all its words
    when it is shorter). Case, Unicode width forms and punctuation are ignored.
    Writing style identifies people: a fear is published only paraphrased.
    """
    cw, sw = _words(card_text), _words(said)
    if not cw or not sw:
        return False
    if len(cw) < COPY_MIN_WORDS:
        whole = " ".join(cw)
        return len(whole) >= COPY_MIN_CHARS and f" {whole} " in f" {' '.join(sw)} "
    n = min(COPY_RUN_WORDS, len(cw))
    grams = {tuple(cw[i : i + n]) for i in range(len(cw) - n + 1)}
    return any(tuple(sw[i : i + n]) in grams for i in range(len(sw) - n + 1))


# --- clauses of a commitment ---------------------------------------------------

# Split after sentence ends and semicolons, keeping offsets exact.
_CLAUSE_END = re.compile(r"(?<=[.;!?])\s+")
# Finer parts, for judging whether a short quote stands on its own.
_PART_SPLIT = re.compile(r"[.;:!?,\n]+")
_EDGE_PUNCT = ".;:!?,\"'()[] \t\n"


def clauses(text: str) -> list[str]:
    """Sentences and semicolon parts of ``text``, each an exact substring of it."""
    pieces, start = [], 0
    for m in _CLAUSE_END.finditer(text):
        piece = text[start : m.start()].strip()
        if piece:
            pieces.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    out = []
    for piece in pieces:
        # Drop a trailing ';' so the quote reads cleanly; still a substring.
        trimmed = piece.rstrip(";").strip() or piece
        out.append(trimmed)
    return out


def clause_parts(text: str) -> set[str]:
    """Every clause and comma part of ``text``, edge punctuation stripped."""
    parts = {c.strip(_EDGE_PUNCT) for c in _PART_SPLIT.split(text)}
    parts |= {c.strip(_EDGE_PUNCT) for c in clauses(text)}
    return parts - {""}


def edge_stripped(text: str) -> str:
    return text.strip(_EDGE_PUNCT)


# --- wording -------------------------------------------------------------------


def capitalised(text: str) -> str:
    """A message as a page shows it: its first letter upper-case, the rest as written."""
    return text[:1].upper() + text[1:]
