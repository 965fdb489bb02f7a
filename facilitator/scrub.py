"""Anonymity: remove what could identify a person before text leaves the room.

Applied to everything sent to a model and to everything published. Cards never
carry an author; this removes identities that people typed into the text
(team names from a roster, e-mail addresses, @handles, phone numbers) and
neutralises markup that could render or beacon out (HTML, links, images).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}")
PHONE = re.compile(r"(?<!\w)(?:\+?\d[\d\s().-]{7,}\d)(?!\w)")
URL = re.compile(r"\b(?:https?|ftp|file|data|javascript):[^\s)\]>\"']*|\bwww\.[^\s)\]>\"']+", re.I)
# Zero-width and bidirectional-override characters hide or reorder text.
# Zero-width, bidirectional-override and soft-hyphen characters hide or reorder text
# (and split a name so that it no longer matches).
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# A phone-like run that is really a date ("2026-06-01", "01.06.2026") stays a date.
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./]\d{1,2}[./]\d{1,2}")

MIN_NAME_PART = 2  # "Ana Silva" also hides "Ana" and "Silva" on their own
NEAR_MISS_MIN = 5  # a name part this long also hides spellings one edit or swap away ("Mueller", "Dubios")
_CJK = "\u3000-\u9fff\uac00-\ud7af\uff00-\uffef"
# A word of an alphabetic script, apostrophes inside it included (O'Brien, O’Brien);
# CJK characters end a word, since those scripts do not separate words by spaces.
_WORD = re.compile(rf"[^\W_{_CJK}]+(?:['\u2019\u2018\u02bc\uff07][^\W_{_CJK}]+)*")
_JOIN = re.compile(r"\[name\](?:[\s\-]+\[name\])+")


def fold(word: str) -> str:
    """A name as compared: accents and look-alike letters folded to ASCII (Zoë ->
    zoe, Cyrillic А -> a), case folded, possessive and apostrophes dropped."""
    from anyascii import anyascii

    w = anyascii(unicodedata.normalize("NFKC", word)).lower()
    w = re.sub(r"'s$", "", w)
    return w.replace("'", "")


def roster_names(roster: Iterable[str]) -> list[str]:
    """Every form of every roster name to hide: the full name (NFKC) and each of
    its parts of 2+ characters (split at spaces and hyphens)."""
    out: set[str] = set()
    for entry in roster:
        name = " ".join(INVISIBLE.sub("", unicodedata.normalize("NFKC", entry or "")).split())
        if not name:
            continue
        out.add(name)
        out.update(part for part in re.split(r"[\s\-]+", name) if len(part) >= MIN_NAME_PART)
    return sorted(out, key=lambda n: (-len(n), n))


def _name_parts(roster: Iterable[str]) -> tuple[set[str], list[str]]:
    """Folded single-word parts, and names written in CJK (matched as substrings)."""
    parts, cjk = set(), []
    for n in roster_names(roster):
        if re.search(f"[{_CJK}]", n):
            cjk.append(n)
        elif " " not in n:
            folded = fold(n)
            if len(folded) >= MIN_NAME_PART:
                parts.add(folded)
    return parts, cjk


def _is_name(word: str, parts: set[str]) -> bool:
    from rapidfuzz.distance import OSA

    w = fold(word)
    if w in parts:
        return True
    return len(w) >= NEAR_MISS_MIN and any(
        len(p) >= NEAR_MISS_MIN and p[0] == w[0] and OSA.distance(w, p, score_cutoff=1) <= 1 for p in parts
    )


def replace_names(text: str, roster: Iterable[str]) -> str:
    """Replace every spelling of a roster name with ``[name]``: accents, look-alike
    letters, apostrophe variants, possessives and near misses included."""
    parts, cjk = _name_parts(roster)
    for name in cjk:
        text = text.replace(name, "[name]")
    if parts:
        text = _WORD.sub(lambda m: "[name]" if _is_name(m.group(0), parts) else m.group(0), text)
    return _JOIN.sub("[name]", text)  # "Ana Silva" is one name, not two


def _phone(m: re.Match[str]) -> str:
    return m.group(0) if DATE.fullmatch(m.group(0).strip()) else "[phone]"


def scrub_report(text: str, roster: Iterable[str] = ()) -> tuple[str, int]:
    """``scrub`` and the number of identifiers it replaced.

    Normalising Unicode (a no-break space, a ligature) or dropping an invisible
    character is not a replacement: only placeholders count."""
    text = unicodedata.normalize("NFKC", text)
    text = INVISIBLE.sub("", text)
    n = 0
    for pat, repl in ((EMAIL, "[email]"), (URL, "[link]"), (HANDLE, "[handle]")):
        text, k = pat.subn(repl, text)
        n += k
    before = text
    text = PHONE.sub(_phone, text)
    n += text.count("[phone]") - before.count("[phone]")
    had = text.count("[name]")
    text = replace_names(text, roster)
    n += max(0, text.count("[name]") - had)
    return text, n


def scrub(text: str, roster: Iterable[str] = ()) -> str:
    """Replace personal identifiers with neutral placeholders."""
    return scrub_report(text, roster)[0]


_PLACEHOLDER = re.compile(r"\[(?:name|email|handle|phone|link)\](?:'s)?\s*[:,/&+]?\s*")


def without_names(text: str, roster: Iterable[str] = ()) -> str:
    """``scrub``, with the placeholders left out: for engine-written text built
    from card words (a label, an action title), where "[name]" would read badly."""
    out = _PLACEHOLDER.sub("", scrub(text, roster))
    return " ".join(out.split()).strip(" ,;:/&+-")


# With [ ] escaped no link or image can form, so ( ) ! stay readable; URLs are
# already replaced by scrub().
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|<>~])")


def safe_markdown_text(text: str, roster: Iterable[str] = ()) -> str:
    """Scrub, then escape so text renders as literal characters in Markdown:
    no HTML tag, link, image or emphasis can come out of it."""
    cleaned = scrub(text, roster).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", cleaned)
