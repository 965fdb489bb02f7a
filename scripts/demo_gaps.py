"""What the trust-gap board shows for the demo data (not part of the test run).

    uv run python scripts/demo_gaps.py

Runs three retros of two teams through the real service and the offline engine
on a throwaway SQLite database: six people share the demo board's cards (each
retro a different two-thirds of them), the analysis runs, the retro is
published, and the board is printed as an owner would see it.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RETROS = (("Dispatch", "Sprint 41", 1), ("Dispatch", "Sprint 42", 2), ("Billing", "Month-end close", 3))
PEOPLE = 6


def main() -> int:
    from facilitator.demo import DEMO_DIR, DEMO_REGISTER
    from facilitator.publishing.charts import STATUS_WORDS
    from facilitator.service.db import Database
    from facilitator.service.retros import PHASES, RetroService, new_token
    from facilitator.settings import Settings
    from facilitator.wiring import get_engine

    demo = json.loads((DEMO_DIR / "demo_retro.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), max_cards_per_minute=1000)
        svc = RetroService(Database.from_settings(settings), settings)
        engine = get_engine(settings, engine="local")
        reg = svc.add_register(DEMO_REGISTER.read_text(encoding="utf-8"), "demo_register.md", name="Harbourline")
        for team, title, seed in RETROS:
            rng = random.Random(seed)
            cards = rng.sample(demo["cards"], k=len(demo["cards"]) * 2 // 3)
            columns = list(dict.fromkeys(c["column"] for c in demo["cards"]))
            created = svc.create_retro(team=team, title=title, columns=columns, register_id=reg, k=5)
            rid = created.retro_id
            tokens = [new_token() for _ in range(PEOPLE)]
            for tok in tokens:
                svc.join(rid, tok)
            for n, c in enumerate(cards):
                svc.add_card(rid, tokens[n % PEOPLE], c["column"], c["text"], new_token())
            for phase in PHASES[1 : PHASES.index("publish") + 1]:
                svc.advance(rid, phase)
                if phase == "analyse":
                    svc.run_analysis(rid, svc.start_analysis(rid), engine)
            pub = svc.publish(rid, approved=True, rev=svc.preview(rid).rev)
            s = pub.summary
            print(f"published {team} / {title}: {len(cards)} cards, fear themes {s.fear_statuses}, "
                  f"{s.merged_themes} merged")
        board = svc.gap_board()
        print(f"\nTrust-gap board (k = {board.k}): {board.open_gaps} open gaps in {len(board.groups)} groups")
        for g in board.groups:
            statuses = ", ".join(f"{n} {STATUS_WORDS[s]}" for s, n in g.statuses.most_common())
            about = f"{g.commitment_id} {g.commitment_title}" if g.commitment_id else "no commitment"
            print(f"- {g.items[0].label!r} / {about}: {len(g.items)} themes ({statuses}), {g.teams} teams, "
                  f"at least {g.people} people")
        if board.other_items:
            print(f"- other (fewer than {board.k} people overall): {board.other_items} themes {dict(board.other_statuses)}")
        print("fears per month:", board.fears_by_month)
        print("open gaps by age:", board.open_by_age)
        svc.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
