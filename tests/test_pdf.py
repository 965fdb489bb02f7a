"""The PDF export (facilitator/publishing/pdf.py): rendered back to images with
pdfium, and read back as text, it holds what the summary page shows and no card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from facilitator.models import Quote
from facilitator.publishing import pdf as pdf_mod
from facilitator.publishing.pdf import to_pdf
from facilitator.publishing.preview import PublishedSummary

from .retro_helpers import ColumnEngine, demo_register_text, make_service, seeded_retro

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "pdf"


def _published():
    svc = make_service()
    created, _ = seeded_retro(svc, people=4, to_phase="publish", engine=ColumnEngine())
    return svc, svc.publish(created.retro_id, approved=True, rev=svc.preview(created.retro_id).rev)


def _render(data: bytes, name: str) -> tuple[list, str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    images, text = [], []
    for i in range(len(doc)):
        page = doc[i]
        image = page.render(scale=1.3).to_pil()
        image.save(ARTIFACTS / f"{name}-{i + 1}.png")
        images.append(image)
        text.append(page.get_textpage().get_text_range())
    return images, "\n".join(text)


def test_the_pdf_holds_the_summary_and_no_card():
    svc, pub = _published()
    s = pub.summary
    images, text = _render(to_pdf(s), "summary")
    assert images and images[0].size[0] > 600
    # Not blank: ink on the first page, in the title's and the bars' colours.
    first = images[0].convert("L")
    assert first.histogram()[:128] and sum(first.histogram()[:128]) > 5000
    flat = " ".join(text.split())
    assert s.title in flat and "Team Dispatch" in flat
    for t in s.analysis.themes:
        assert t.label in flat
    for a in s.analysis.actions:
        assert a.owner_role in flat and a.due.isoformat() in flat
    assert "Trust gaps" in flat and "Fears and the commitments that answer them" in flat
    assert "says something about" not in flat  # the seeded cards' words


def test_a_quoted_clause_is_printed_word_for_word():
    svc, pub = _published()
    from facilitator.inputs.register import parse_register

    register = parse_register(demo_register_text(), "demo_register.md")
    c = register.commitments[0]
    clause = c.text.split(".")[0] + "."
    a = pub.summary.analysis
    a.coverage[0] = a.coverage[0].model_copy(update={
        "status": "covered", "commitment_ids": [c.id], "quotes": [Quote(commitment_id=c.id, text=clause)]})
    s = pub.summary.model_copy(update={"analysis": a})
    _, text = _render(to_pdf(s, register), "quote")
    flat = " ".join(text.split())
    assert " ".join(clause.split()) in flat and c.title in flat


def test_other_scripts_are_transliterated_not_dropped(monkeypatch):
    svc, pub = _published()
    a = pub.summary.analysis
    a.themes[0] = a.themes[0].model_copy(update={"label": "デプロイ手順が長い"})
    s = pub.summary.model_copy(update={"analysis": a, "title": "Retro Zoë — Ана"})
    _, text = _render(to_pdf(s), "unicode")
    assert "Zoë" in text and "Ана" in text or "Zoe" in text  # DejaVu prints them; without it, transliterated
    assert "depuroi" in text.lower() or "depu" in text.lower()
    monkeypatch.setattr(pdf_mod, "FONT_DIRS", (Path("/nonexistent"),))  # a machine without DejaVu
    _, text = _render(to_pdf(s), "no-dejavu")
    assert "Retro Zoe -- Ana" in text or "Retro Zoe" in text


@pytest.mark.parametrize("empty", [True])
def test_a_summary_without_fears_or_actions_still_renders(empty):
    svc, pub = _published()
    a = pub.summary.analysis.model_copy(update={"coverage": [], "actions": []})
    s = PublishedSummary.model_validate(pub.summary.model_dump() | {"analysis": a.model_dump(),
                                                                     "published_on": dt.date(2026, 12, 1)})
    _, text = _render(to_pdf(s), "empty")
    assert "No fears were raised." in text and "No actions." in text
