"""The UI's language: message catalogues (GNU gettext) and the locale in force.

Every string a person reads on a page, and every message the service raises to
a page, is written in English inside ``_()`` (or ``ngettext`` for plurals,
``N_`` to mark a constant translated where it is shown). ``scripts/i18n``
extracts them into ``facilitator/locales/facilitator.pot`` with Babel and
compiles each locale's ``.po`` into the ``.mo`` read here by the standard
library; ``tests/test_i18n.py`` fails when a string is missing from the
catalogue or a locale leaves one untranslated.

The locale is per retro (chosen when it is created) and is held in a context
variable, so a page run or an analysis job translates in its retro's language
while another session's thread uses its own. Placeholders are named
(``_("{n} cards").format(n=3)``) so a translation may reorder them.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext as _gettext
from functools import cache
from pathlib import Path

DOMAIN = "facilitator"
LOCALE_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
# The locales shipped complete, by their own name (what the picker shows).
LOCALES = {"en": "English", "de": "Deutsch"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def supported(code: str | None) -> str:
    """The shipped locale for a code such as ``de-AT`` or ``de_DE``, else the default."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else DEFAULT_LOCALE


@cache
def _translations(locale: str) -> _gettext.NullTranslations:
    if locale == DEFAULT_LOCALE:  # the source strings are English
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[locale], fallback=True)


def set_locale(code: str | None) -> str:
    """Translate in ``code``'s locale from now on in this thread or task; returns the locale used."""
    locale = supported(code)
    _current.set(locale)
    return locale


def current_locale() -> str:
    return _current.get()


@contextlib.contextmanager
def using(code: str | None):
    """Translate in ``code``'s locale inside the block (an analysis job runs in its retro's)."""
    token = _current.set(supported(code))
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    return _translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a constant for the catalogue; it is translated with ``_()`` where it is shown."""
    return message
