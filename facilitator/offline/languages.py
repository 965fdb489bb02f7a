"""Which language a board is written in, and what that means for the offline engine.

The offline sentence model (all-MiniLM-L6-v2) was trained on English text. Measured
on the real boards of the evals (``python -m evals``, 2026-12-01): kinds hold up
in other languages because the columns carry them (kind accuracy 0.94 on 7
Japanese and Portuguese boards), but grouping does not: ARI 0.21 on the 5
Japanese boards and 0.37 on the 2 Portuguese ones, against 0.29 on the 26 English
ones. So the facilitator is told before the analysis runs.

Language identification is py3langid (a maintained fork of langid.py: small,
offline, no model download).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

NAMES = {
    "en": "English", "ja": "Japanese", "pt": "Portuguese", "es": "Spanish", "fr": "French", "de": "German",
    "it": "Italian", "nl": "Dutch", "pl": "Polish", "zh": "Chinese", "ko": "Korean", "sv": "Swedish",
    "da": "Danish", "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "tr": "Turkish", "ru": "Russian",
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
    name = NAMES.get(lang, f"a language other than English ({lang})")
    return (
        f"Most cards are in {name}. The offline engine's sentence model was trained on English: it reads the "
        "columns well in any language, but it groups cards in other languages less well (on real Japanese boards "
        "its themes matched people's grouping about a third less often). Check the themes closely in Review, or "
        "use the model engine (RETRO_ENGINE=llm), which writes in the cards' language."
    )
