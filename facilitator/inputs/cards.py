"""Reading and validating retro cards (JSON or CSV) with clear errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from facilitator.errors import InputError
from facilitator.inputs.files import first_error, parse_json, read_text
from facilitator.models import Card, CardSet
from facilitator.scrub import INVISIBLE
from facilitator.text import unstorable

MAX_CARD_CHARS = 500


def validate_cards(
    card_set: CardSet, *, max_chars: int = MAX_CARD_CHARS, max_cards: int | None = None
) -> CardSet:
    """Normalise whitespace and enforce the limits; raise InputError on the first problem."""
    if not card_set.cards:
        raise InputError("No cards: the file has an empty 'cards' list; add at least one card")
    if max_cards is not None and len(card_set.cards) > max_cards:
        raise InputError(
            f"Too many cards: {len(card_set.cards)} > {max_cards}; split the retro or raise "
            "RETRO_MAX_CARDS_PER_RETRO"
        )
    seen: set[str] = set()
    cleaned = []
    for card in card_set.cards:
        # Invisible characters alone are not a card.
        text = INVISIBLE.sub("", card.text).strip() and card.text.strip()
        if not card.id.strip():
            raise InputError("A card has a blank id; give every card a non-blank id or leave ids out of the CSV")
        if not text:
            raise InputError(f"Card {card.id!r} is empty; remove it or give it text")
        if why := unstorable(text):
            raise InputError(f"Card {card.id!r}: {why}")
        if len(text) > max_chars:
            raise InputError(
                f"Card {card.id!r} has {len(text)} characters, more than the limit of {max_chars}; "
                "shorten it or split it into two cards"
            )
        if card.id in seen:
            raise InputError(f"Duplicate card id {card.id!r}; give every card a unique id")
        seen.add(card.id)
        column = card.column.strip() if card.column and card.column.strip() else None
        cleaned.append(Card(id=card.id, text=text, column=column))
    return CardSet(title=card_set.title, cards=cleaned)


def parse_cards_json(raw: str, source: str = "cards") -> CardSet:
    data = parse_json(raw, source, '{"cards": [{"id": ..., "text": ...}]}')
    if isinstance(data, list):
        data = {"cards": data}
    if not isinstance(data, dict) or "cards" not in data:
        raise InputError(f'{source}: expected a JSON object with a "cards" list')
    try:
        return CardSet.model_validate(data)
    except ValidationError as e:
        raise InputError(f"{source}: {first_error(e)}") from None


def parse_cards_csv(raw: str, source: str = "cards") -> CardSet:
    reader = csv.DictReader(io.StringIO(raw))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "text" not in fields:
        raise InputError(f"{source}: CSV needs a header row with a 'text' column (optional 'id', 'column')")
    unknown = set(fields) - {"id", "text", "column"}
    if unknown:
        raise InputError(
            f"{source}: unknown CSV column(s) {sorted(unknown)}; allowed: id, text, column"
        )
    if len(set(fields)) != len(fields):
        raise InputError(f"{source}: a CSV column name appears twice in the header; keep one of each")
    cards = []
    try:
        for n, row in enumerate(reader, start=1):
            if None in row:
                # An unquoted comma splits a card: never drop or shift part of what someone wrote.
                raise InputError(
                    f"{source}: row {n} has more fields than the header; put text that contains "
                    'commas in double quotes ("like, this")'
                )
            row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
            cards.append(
                Card(
                    id=row.get("id", "").strip() or f"c{n}",
                    text=row.get("text", ""),
                    column=row.get("column") or None,
                )
            )
    except csv.Error as e:
        raise InputError(f"{source}: malformed CSV ({e}); check quoting") from None
    except ValidationError as e:
        raise InputError(f"{source}: {first_error(e)}") from None
    return CardSet(title=None, cards=cards)


def load_cards(path: str | Path, *, max_chars: int = MAX_CARD_CHARS, max_cards: int | None = None) -> CardSet:
    """Load a cards file; the format is chosen by extension (.csv, else JSON)."""
    p = Path(path)
    raw = read_text(p, "cards file")
    parse = parse_cards_csv if p.suffix.lower() == ".csv" else parse_cards_json
    return validate_cards(parse(raw, p.name), max_chars=max_chars, max_cards=max_cards)
