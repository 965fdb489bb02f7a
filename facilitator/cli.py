"""Command line: ``python -m facilitator`` (also installed as ``retro-facilitator``).

Every user error prints one line naming the problem and the fix, and exits 2;
there is never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from pydantic import ValidationError

from facilitator.errors import FacilitatorError, InputError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="retro-facilitator",
        description="Group retro cards into themes, check fears against gain-sharing commitments, draft actions.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def engine_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--engine", choices=["local", "llm"], help="analysis engine (default: RETRO_ENGINE or local)")
        sp.add_argument("--model", help="litellm model string for --engine llm, e.g. openai/gpt-4o-mini")
        sp.add_argument("--fallback-model", help="second litellm model tried once if the first fails")
        sp.add_argument("--today", type=dt.date.fromisoformat, help="date the analysis is run (YYYY-MM-DD); default today")

    a = sub.add_parser("analyze", help="analyse a retro's cards", description="Analyse a retro's cards.")
    a.add_argument("cards", type=Path, help="cards file: JSON {\"cards\": [{\"id\", \"text\", \"column\"?}]} or CSV with a text column")
    a.add_argument("--commitments", type=Path, required=True, help="commitments register (.json or .md)")
    a.add_argument("--format", choices=["json", "markdown"], default="json", help="output format (default json)")
    a.add_argument("--output", type=Path, help="write to this file instead of standard output")
    a.add_argument("--roster", type=Path, help="team names, one per line, scrubbed from everything sent or published")
    engine_args(a)

    c = sub.add_parser(
        "coverage",
        help="what the register answers to given fear statements",
        description="For each fear statement: its status (the offline engine answers needs_review or uncovered, "
        "never covered) and the candidate commitments with their closest clause, scope, limits and notes.",
    )
    c.add_argument("statements", type=Path, help="JSON list of strings, or a text file with one statement per line")
    c.add_argument("--commitments", type=Path, required=True, help="commitments register (.json or .md)")
    c.add_argument("--format", choices=["json", "text"], default="text", help="output format (default text)")
    engine_args(c)

    m = sub.add_parser("commitments", help="work with a commitments register")
    msub = m.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
    chk = msub.add_parser("check", help="validate and list a register, flagging entries not in force, pilots and overdue reviews")
    chk.add_argument("register", type=Path, help="commitments register (.json or .md)")
    chk.add_argument("--today", type=dt.date.fromisoformat, help="date to check review dates against")
    sub.add_parser(
        "worker",
        help="run analyses from the job queue (RETRO_ANALYSIS_JOBS=queue, PostgreSQL)",
        description="Run analyses from procrastinate's queue in RETRO_DATABASE_URL until stopped with Ctrl-C or "
        "SIGTERM (a running analysis finishes first). Start one or more next to the app processes; a worker "
        "killed mid-analysis has its job run again by another worker.",
    )
    return p


def _engine(args):
    from facilitator.settings import get_settings
    from facilitator.wiring import get_engine

    return get_engine(get_settings(), engine=args.engine, model=args.model, fallback_model=args.fallback_model)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"Cannot write {output}: {e.strerror}; check the directory exists and is writable") from None


def cmd_analyze(args) -> int:
    from facilitator.inputs.cards import load_cards
    from facilitator.inputs.register import load_register
    from facilitator.inputs.roster import load_roster
    from facilitator.publishing.summary import render_markdown
    from facilitator.settings import get_settings

    settings = get_settings()
    cards = load_cards(args.cards, max_chars=settings.max_card_chars, max_cards=settings.max_cards_per_retro)
    register = load_register(args.commitments)
    roster = load_roster(args.roster) if args.roster else []
    analysis = _engine(args).analyze(cards, register, today=args.today or dt.date.today(), roster=roster)
    if args.format == "markdown":
        out = render_markdown(analysis, title=cards.title, register=register, roster=roster)
    else:
        out = analysis.model_dump_json(indent=2)
    _write(out, args.output)
    if analysis.meta.fallback_reason:
        print(f"warning: model engine failed, offline engine used: {analysis.meta.fallback_reason}", file=sys.stderr)
    return 0


def cmd_coverage(args) -> int:
    from facilitator.inputs.register import load_register
    from facilitator.inputs.statements import load_statements

    statements = load_statements(args.statements)
    register = load_register(args.commitments)
    answers = _engine(args).cover(statements, register, today=args.today or dt.date.today())
    if args.format == "json":
        _write(json.dumps([a.model_dump(mode="json") for a in answers], indent=2, ensure_ascii=False), None)
        return 0
    lines = []
    for a in answers:
        lines.append(f"- {a.statement}\n  {a.status.upper()}" + (f" ({', '.join(a.commitment_ids)})" if a.commitment_ids else ""))
        for q in a.quotes:
            lines.append(f'  {q.commitment_id}: "{q.text}"')
        for c in a.candidates:
            lines.append(f'  candidate {c.commitment_id} ({c.title}): "{c.clause}"')
            lines += [f"    {head.lower()}: {text}" for head, text in c.limits_shown()]
        lines.append(f"  {a.rationale}")
    _write("\n".join(lines), None)
    return 0


def cmd_commitments_check(args) -> int:
    from facilitator.inputs.register import health, load_register

    register = load_register(args.register)
    today = args.today or dt.date.today()
    flagged = 0
    for c in register.commitments:
        h = health(c, today)
        mark = "ok     " if h.usable and not h.flags else "FLAGGED"
        flagged += mark == "FLAGGED"
        notes = h.problems + h.flags
        extra = f"  [{'; '.join(notes)}]" if notes else ""
        review = f" review {c.review_date.isoformat()}" if c.review_date else ""
        print(f"{mark} {c.id:<10} {c.title} (owner: {c.owner_role or '-'}{review}){extra}")
    print(f"{len(register.commitments)} commitments, {flagged} flagged (not in force, pilot or review overdue)")
    return 0


def cmd_worker(args) -> int:
    import logging

    from facilitator.service.jobs import QuietSweeps, run_worker
    from facilitator.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietSweeps())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run_worker(get_settings())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "coverage":
            return cmd_coverage(args)
        if args.command == "worker":
            return cmd_worker(args)
        return cmd_commitments_check(args)
    except FacilitatorError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as e:  # a RETRO_* setting with a bad value
        err = e.errors()[0]
        name = "RETRO_" + str(err["loc"][0]).upper() if err["loc"] else "a RETRO_* variable"
        print(f"error: {name}: {err['msg']}; fix or unset it (see README, Configuration)", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # e.g. a data directory that cannot be created
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {e.strerror or e}{where}; check RETRO_DATA_DIR and file permissions", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
