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
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# A phone-like run that is really a date ("2026-06-01", "01.06.2026") stays a date.
DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./]\d{1,2}[./]\d{1,2}")

MIN_NAME_PART = 2  # "Ana Silva" also hides "Ana" and "Silva" on their own


def roster_names(roster: Iterable[str]) -> list[str]:
    """Every form of every roster name to hide: the full name (NFKC, like the
    text it is matched against) and each of its parts of 2+ characters."""
    out: set[str] = set()
    for entry in roster:
        name = " ".join(unicodedata.normalize("NFKC", entry or "").split())
        if not name:
            continue
        out.add(name)
        out.update(part for part in name.split() if len(part) >= MIN_NAME_PART)
    return sorted(out, key=lambda n: (-len(n), n))


def roster_pattern(roster: Iterable[str]) -> re.Pattern[str] | None:
    names = roster_names(roster)
    if not names:
        return None
    # Word boundaries, except that a CJK character next to a Latin name is a
    # boundary too ("supermomongaさん"): those scripts do not separate words by spaces.
    edge = r"(?:(?![\u3000-\u9fff\uac00-\ud7af\uff00-\uffef])\w)"
    return re.compile(rf"(?<!{edge})(?:" + "|".join(re.escape(n) for n in names) + rf")(?:'s)?(?!{edge})", re.I)


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
    pat = roster_pattern(roster)
    if pat is not None:
        text, k = pat.subn("[name]", text)
        n += k
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
