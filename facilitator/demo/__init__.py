"""Demo data shipped with the package: a 50-card retro (JSON and CSV), the
Harbourline commitments register and a roster. The app's "Use the sample
register" button and the README's examples read them from here."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_REGISTER = DEMO_DIR / "demo_register.md"
