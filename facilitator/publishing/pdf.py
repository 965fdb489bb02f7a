"""The published summary as a PDF, laid out like the summary page: title and
meta line, the four counts, the themes by dots, the fears with how the register
answers them (quoted word for word), the trust gaps and the actions.

Made from the published summary only (as every export), with fpdf2. Text is
set in DejaVu Sans when the system has it (Debian's fonts-dejavu-core), which
covers Latin, Greek and Cyrillic; otherwise, and for scripts it lacks, the text
is transliterated (anyascii) into the built-in Helvetica rather than printed as
empty boxes.
"""

from __future__ import annotations

from pathlib import Path

from anyascii import anyascii

from facilitator.i18n import _, ngettext
from facilitator.models import Register
from facilitator.publishing.exports import ordered_by_votes
from facilitator.publishing.preview import PublishedSummary
from facilitator.publishing.summary import STATUS_WORDS, kind_name, merged_parts

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
KIND_COLOURS = {"flaw": (214, 96, 77), "fear": (146, 103, 189), "positive": (84, 160, 104), "other": (140, 140, 140)}
STATUS_COLOURS = {"covered": (84, 160, 104), "partial": (230, 171, 2), "needs_review": (100, 149, 237),
                  "uncovered": (214, 96, 77)}
INK, MUTED, RULE = (38, 39, 48), (110, 112, 122), (220, 222, 228)


def _font_files() -> tuple[Path, Path] | None:
    for d in FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


def to_pdf(summary: PublishedSummary, register: Register | None = None) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_margins(15, 15, 15)
    fonts = _font_files()
    if fonts:
        pdf.add_font("Body", "", str(fonts[0]))
        pdf.add_font("Body", "B", str(fonts[1]))
        family = "Body"
    else:
        family = "Helvetica"
    pdf.set_title(_plain(summary.title, fonts))
    pdf.set_creator("retro-facilitator")
    pdf.add_page()
    w = pdf.epw

    def text(value: str) -> str:
        return _plain(value, fonts)

    def para(value: str, size: float = 10, style: str = "", colour=INK, h: float = 5.2) -> None:
        pdf.set_font(family, style, size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(w, h, text(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def heading(value: str) -> None:
        pdf.ln(3)
        para(value, 14, "B", h=7)
        pdf.set_draw_color(*RULE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + w, pdf.get_y())
        pdf.ln(2)

    a = summary.analysis
    para(summary.title, 22, "B", h=10)
    writers = ngettext("{n} person wrote cards", "{n} people wrote cards", summary.contributors).format(
        n=summary.contributors)
    para(_("Team {team} · published {date} · {writers} · anonymity threshold {k}").format(
        team=summary.team, date=summary.published_on.isoformat(), writers=writers, k=summary.k), 9, colour=MUTED)
    pdf.ln(3)

    # The four counts, as the page's metrics.
    statuses = summary.fear_statuses or {}
    metrics = [(_("Themes"), len(a.themes)), (_("Fears raised"), sum(statuses.values())),
               (_("Trust gaps"), statuses.get("uncovered", 0)), (_("Actions"), len(a.actions))]
    box = w / 4
    y = pdf.get_y()
    for i, (label, value) in enumerate(metrics):
        x = pdf.l_margin + i * box
        pdf.set_xy(x, y)
        pdf.set_font(family, "", 9)
        pdf.set_text_color(*MUTED)
        pdf.cell(box - 2, 5, label)
        pdf.set_xy(x, y + 5)
        pdf.set_font(family, "", 20)
        pdf.set_text_color(*INK)
        pdf.cell(box - 2, 10, str(value))
    pdf.set_xy(pdf.l_margin, y + 18)

    heading(_("Themes, most voted first"))
    rows = ordered_by_votes(a, summary.votes)
    top = max([n for _theme, n in rows] + [len(t.card_ids) for t, _dots in rows] + [1])
    label_w, bar_w = w * 0.45, w * 0.40
    for t, n in rows:
        amount = n if summary.votes else len(t.card_ids)
        pdf.set_font(family, "", 9.5)
        pdf.set_text_color(*INK)
        lines = pdf.multi_cell(label_w, 5, text(t.label), align="L", dry_run=True, output="LINES")
        row_h = 5 * max(1, len(lines)) + 1
        if pdf.will_page_break(row_h):
            pdf.add_page()
        y = pdf.get_y()
        pdf.multi_cell(label_w, 5, text(t.label), align="L", new_x="RIGHT", new_y="TOP")
        pdf.set_fill_color(*KIND_COLOURS.get(t.kind, KIND_COLOURS["other"]))
        pdf.rect(pdf.l_margin + label_w + 2, y + 1, max(1.0, bar_w * amount / top), 3.2, style="F")
        pdf.set_xy(pdf.l_margin + label_w + bar_w + 4, y)
        pdf.set_text_color(*MUTED)
        what = (ngettext("{n} dot", "{n} dots", n).format(n=n) if summary.votes
                else ngettext("{n} card", "{n} cards", len(t.card_ids)).format(n=len(t.card_ids)))
        pdf.cell(w - label_w - bar_w - 4, 5, f"{kind_name(t.kind)} · {what}")
        pdf.set_xy(pdf.l_margin, y + row_h)
    pdf.set_font(family, "", 8)
    pdf.set_text_color(*MUTED)
    legend = " · ".join(kind_name(k) for k in KIND_COLOURS if any(t.kind == k for t in a.themes))
    pdf.cell(w, 4, text(_("Bar colour by kind: {kinds}").format(kinds=legend)), new_x="LMARGIN", new_y="NEXT")

    heading(_("Fears and the commitments that answer them"))
    themes = {t.id: t for t in a.themes}
    if not a.coverage:
        para(_("No fears were raised."))
    for cov in a.coverage:
        t = themes.get(cov.theme_id)
        if pdf.will_page_break(24):  # a fear's heading never sits alone at the foot of a page
            pdf.add_page()
        pdf.set_fill_color(*STATUS_COLOURS[cov.status])
        y = pdf.get_y()
        pdf.rect(pdf.l_margin, y + 1, 2.5, 4, style="F")
        pdf.set_x(pdf.l_margin + 4)
        pdf.set_font(family, "B", 11)
        pdf.set_text_color(*INK)
        pdf.multi_cell(w - 4, 6, text(f"{t.label if t else cov.theme_id}: {_(STATUS_WORDS[cov.status])}"),
                       align="L", new_x="LMARGIN", new_y="NEXT")
        if t and t.summary:
            para(t.summary)
        for q in cov.quotes:
            name = ""
            if register and (c := register.get(q.commitment_id)):
                name = f" ({c.title})"
            pdf.set_x(pdf.l_margin + 6)
            pdf.set_font(family, "", 10)
            pdf.set_text_color(*INK)
            pdf.multi_cell(w - 6, 5, text(f"“{q.text}”"), align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.set_x(pdf.l_margin + 6)
            pdf.set_text_color(*MUTED)
            pdf.set_font(family, "", 8.5)
            pdf.multi_cell(w - 6, 4.5, text(f"{q.commitment_id}{name}"), align="L", new_x="LMARGIN", new_y="NEXT")
        if cov.rationale:
            para(_("Why:") + " " + cov.rationale, 9, colour=MUTED, h=4.6)
        pdf.ln(2)

    heading(_("Trust gaps"))
    gaps = [c for c in a.coverage if c.status != "covered" and not c.theme_id.startswith("other-")]
    for cov in gaps:
        t = themes.get(cov.theme_id)
        para(f"• {t.label if t else cov.theme_id}: {_(STATUS_WORDS[cov.status])}")
    merged = {s: n for s, n in summary.merged_fear_statuses.items() if s != "covered" and n}
    if merged:
        para("• " + _("Among the smaller worries merged or withheld for anonymity: {parts}").format(
            parts=merged_parts(merged)))
    if not gaps and not merged:
        para(_("None: every fear raised is answered in full by a commitment.") if a.coverage
             else _("No fears were raised."))

    heading(_("Actions"))
    if not a.actions:
        para(_("No actions."))
    else:
        labels = {t.id: t.label for t in a.themes}
        cols = ((_("Action"), 0.42), (_("Owner"), 0.18), (_("Due"), 0.13), (_("Themes"), 0.27))
        pdf.set_font(family, "", 9)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_draw_color(*RULE)
        with pdf.table(col_widths=[c[1] for c in cols], text_align="LEFT", line_height=4.8,
                       headings_style=_heading_style(family)) as table:
            table.row([text(c[0]) for c in cols])
            for x in a.actions:
                table.row([text(x.title), text(x.owner_role), x.due.isoformat(),
                           text(", ".join(labels.get(i, i) for i in x.theme_ids))])
    pdf.ln(4)
    meta = a.meta
    para(_("Analysed by the {engine} engine ({model}).").format(engine=meta.engine, model=meta.model) + " "
         + _("Published, read-only; no card text is included."), 8, colour=MUTED, h=4)
    return bytes(pdf.output())


def _heading_style(family: str):
    from fpdf.fonts import FontFace

    return FontFace(family=family, emphasis="BOLD", fill_color=(240, 242, 246))


def _plain(value: str, fonts) -> str:
    """What the font can print: DejaVu covers Latin, Greek and Cyrillic; anything
    else (and everything, with no DejaVu) is transliterated rather than dropped."""
    if fonts is None:
        return anyascii(value).encode("latin-1", "replace").decode("latin-1")
    return "".join(ch if _dejavu_has(ch) else anyascii(ch) for ch in value)


def _dejavu_has(ch: str) -> bool:
    o = ord(ch)
    return o < 0x0530 or 0x1E00 <= o < 0x2100 or 0x2190 <= o < 0x2200 or o in (0x2022, 0x201C, 0x201D)
