"""Which language a board is written in, and what that means for the offline engine.

The offline sentence model (all-MiniLM-L6-v2) was trained on English text. Measured
on the real boards of the evals (52 boards, by the language most of their cards are
in, 2026-12-01, later): kinds mostly hold up in other languages where the columns
carry them (kind accuracy 0.87 on 6 Japanese boards, 0.91 on 3 Spanish, 0.98 on 2
Portuguese, 0.93 on 2 Korean; 0.62 on 2 French boards with one "Rétrospective"
column), but grouping is weaker: ARI 0.20 on the Japanese and 0.19 on the French
boards against 0.27 on the 37 English ones. So the facilitator is told before the
analysis runs.

Language identification is py3langid (a maintained fork of langid.py: small,
offline, no model download).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from facilitator.i18n import N_, _

# Marked for the catalogue; translated where the note is written.
NAMES = {
    "en": N_("English"), "ja": N_("Japanese"), "pt": N_("Portuguese"), "es": N_("Spanish"), "fr": N_("French"),
    "de": N_("German"), "it": N_("Italian"), "nl": N_("Dutch"), "pl": N_("Polish"), "zh": N_("Chinese"),
    "ko": N_("Korean"), "sv": N_("Swedish"), "da": N_("Danish"), "no": N_("Norwegian"), "fi": N_("Finnish"),
    "cs": N_("Czech"), "tr": N_("Turkish"), "ru": N_("Russian"),
}


def board_language(texts: Sequence[str]) -> tuple[str, float]:
    """The language most cards are written in, and the share of cards in it."""
    import py3langid

    texts = [t for t in texts if t and t.strip()]
    if not texts:
        return "en", 1.0
    counts = Counter(py3langid.classify(t)[0] for t in texts)
    lang, n = counts.most_common(1)[0]
    return lang, n / len(texts)


def offline_language_note(texts: Sequence[str]) -> str | None:
    """A warning for the facilitator when most cards are not in English, else None.
    Short cards are often misidentified, so a board needs a clear majority."""
    lang, share = board_language(texts)
    if lang == "en" or share < 0.5 or len(texts) < 3:
        return None
    if lang in NAMES:
        which = _("Most cards are in {language}.").format(language=_(NAMES[lang]))
    else:
        which = _("Most cards are in a language other than English ({code}).").format(code=lang)
    return which + " " + _(
        "The offline engine's sentence model was trained on English: it reads the "
        "columns well in any language, but it groups cards in other languages less well (on real Japanese boards "
        "its themes matched people's grouping about a third less often). Check the themes closely in Review, or "
        "use the model engine (RETRO_ENGINE=llm), which writes in the cards' language."
    )
