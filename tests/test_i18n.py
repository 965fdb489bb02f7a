"""The UI's message catalogues (facilitator/i18n.py): every string a person reads is
in the catalogue, every shipped locale translates all of them, and the pages and the
service hand no bare English literal to a page. Run ``scripts/i18n`` after changing a
string, then translate what it added to each locale's .po."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from facilitator import i18n
from facilitator.i18n import LOCALE_DIR, LOCALES, _, ngettext, using

ROOT = Path(__file__).resolve().parents[1]
POT = LOCALE_DIR / "facilitator.pot"
FIX = "run scripts/i18n, then translate the new strings in facilitator/locales/<locale>/LC_MESSAGES/facilitator.po"
PLACEHOLDER = re.compile(r"\{[a-z_0-9]*\}")


def _source_ids() -> set:
    ids = set()
    for _lineno, message, _comments, _context in extract_from_file("python", ROOT / "app.py"):
        ids.add(message)
    for where in ("app_pages", "app_ui", "facilitator"):
        for _file, _lineno, message, _comments, _context in extract_from_dir(ROOT / where):
            ids.add(message)
    return ids


def _catalogue(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _ids(catalogue) -> set:
    return {m.id for m in catalogue if m.id}


def test_the_catalogue_holds_every_string_in_the_source():
    source, pot = _source_ids(), _ids(_catalogue(POT))
    assert source - pot == set(), f"strings missing from the catalogue: {FIX}"
    assert pot - source == set(), f"the catalogue holds strings the source no longer has: {FIX}"


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != i18n.DEFAULT_LOCALE])
def test_every_locale_translates_every_string(locale):
    po = _catalogue(LOCALE_DIR / locale / "LC_MESSAGES" / "facilitator.po")
    assert _ids(po) == _ids(_catalogue(POT)), f"{locale} is behind the catalogue: {FIX}"
    for m in po:
        if not m.id:
            continue
        where = f"{locale}: {m.id!r}"
        assert not m.fuzzy, f"{where} is marked fuzzy; check and unmark it"
        singular, plural = (m.id if isinstance(m.id, tuple) else (m.id, m.id))
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(s.strip() for s in strings), f"{where} has no translation"
        # A translation keeps the source's named placeholders, or .format() raises on the page.
        wanted = set(PLACEHOLDER.findall(singular)) | set(PLACEHOLDER.findall(plural))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) <= wanted, f"{where} has a placeholder the source lacks: {s!r}"
            assert set(PLACEHOLDER.findall(s)) | {"{n}"} >= wanted - {"{n}"}, f"{where} drops a placeholder: {s!r}"


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != i18n.DEFAULT_LOCALE])
def test_the_compiled_catalogue_matches_its_source(locale):
    po = _catalogue(LOCALE_DIR / locale / "LC_MESSAGES" / "facilitator.po")
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "facilitator.mo").open("rb") as f:
        mo = gettext.GNUTranslations(f)
    for m in po:
        if not m.id:
            continue
        if isinstance(m.id, tuple):
            assert mo.ngettext(m.id[0], m.id[1], 1) == m.string[0], f"{locale}.mo is stale: {FIX}"
            assert mo.ngettext(m.id[0], m.id[1], 5) == m.string[-1], f"{locale}.mo is stale: {FIX}"
        else:
            assert mo.gettext(m.id) == m.string, f"{locale}.mo is stale: {FIX}"


# --- no bare literal reaches a page -----------------------------------------------------

# Streamlit calls whose text a person reads, whatever their receiver (st, a column, a form).
_SHOWN = {
    "title", "header", "subheader", "caption", "markdown", "write", "text", "info", "warning", "error", "success",
    "toast", "button", "form_submit_button", "download_button", "link_button", "page_link", "text_input",
    "text_area", "number_input", "selectbox", "radio", "checkbox", "toggle", "multiselect", "slider",
    "select_slider", "expander", "tabs", "metric", "popover", "segmented_control", "pills", "date_input",
    "file_uploader", "spinner", "status", "dialog", "progress", "Page", "set_page_config",
}
_SHOWN_KWARGS = {"label", "help", "placeholder", "title", "page_title", "caption", "text"}


def _is_text(node: ast.AST) -> bool:
    """A literal with words in it (a separator such as " · " or an icon name is not text)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[A-Za-z]{2}", node.value)) and not node.value.startswith(":material/")
    if isinstance(node, ast.JoinedStr):
        return any(_is_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_is_text(e) for e in node.elts)
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    return False


def _page_files():
    yield ROOT / "app.py"
    yield from sorted((ROOT / "app_pages").glob("*.py"))
    yield from sorted((ROOT / "app_ui").glob("*.py"))


def test_pages_show_no_untranslated_literal():
    found = []
    for path in _page_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _SHOWN):
                continue
            shown = list(node.args[:1]) + [k.value for k in node.keywords if k.arg in _SHOWN_KWARGS]
            if node.func.attr in {"Page", "set_page_config"}:  # the script path is not text
                shown = [k.value for k in node.keywords if k.arg in _SHOWN_KWARGS]
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for arg in shown if _is_text(arg)]
    assert found == [], f"wrap these in _() or ngettext(): {found}"


_USER_ERRORS = {"InputError", "NotAllowed", "RetroNotFound", "LimitReached"}


def test_service_messages_are_translatable():
    """What the service raises to a page is in the catalogue (_() around a literal)."""
    found = []
    for path in sorted((ROOT / "facilitator" / "service").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and isinstance(node.exc.func, ast.Name) and node.exc.func.id in _USER_ERRORS
                    and node.exc.args and _is_text(node.exc.args[0])):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], f"wrap these messages in _(): {found}"


# --- the locale in force ------------------------------------------------------------


def test_german_is_used_inside_its_block_and_english_outside():
    with using("de-AT"):
        assert i18n.current_locale() == "de"
        assert _("Themes") != "Themes"
        assert ngettext("{n} card", "{n} cards", 1) != ngettext("{n} card", "{n} cards", 2)
    assert i18n.current_locale() == "en"
    assert _("Themes") == "Themes"
    with using("xx"):  # an unknown locale falls back to English, never to an error
        assert _("Themes") == "Themes"


def test_no_translated_call_hides_inside_an_f_string():
    """Babel cannot see ``_("…")`` written inside an f-string (on Python 3.11 the whole
    f-string is one token), so such a string would never reach the catalogue."""
    found = []
    for path in [*_page_files(), *sorted((ROOT / "facilitator").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.JoinedStr):
                for sub in ast.walk(node):
                    if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                            and sub.func.id in {"_", "ngettext", "N_"}
                            and sub.args and isinstance(sub.args[0], ast.Constant)):
                        found.append(f"{path.relative_to(ROOT)}:{sub.lineno}")
    assert found == [], f"move these out of the f-string: {found}"
