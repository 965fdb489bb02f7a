"""The commitments register: parsing (JSON or Markdown), validation and health.

Markdown format, one section per commitment::

    ## JS-1 No layoffs from improvements
    Scope: permanent employees with 12+ months' service
    Owner role: Chief People Officer
    Effective date: 2025-01-01
    Review date: 2027-01-01
    Status: active
    Does not promise:
    - pay protection after redeployment

    No one is laid off because of an improvement they proposed. ...

The field lines come first, then a blank line, then the commitment text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from facilitator.errors import InputError
from facilitator.i18n import _
from facilitator.inputs.files import first_error, parse_json, read_text
from facilitator.models import Commitment, Register

MD_FIELDS = {
    "scope": "scope",
    "owner role": "owner_role",
    "owner_role": "owner_role",
    "effective date": "effective_date",
    "effective_date": "effective_date",
    "review date": "review_date",
    "review_date": "review_date",
    "end date": "end_date",
    "end_date": "end_date",
    "status": "status",
    "does not promise": "does_not_promise",
    "does_not_promise": "does_not_promise",
}
_HEADING = re.compile(r"^##\s+(\S+)\s+(.+?)\s*$")
# A commitment id carries a number ("JS-1", "CARE2"): a "## Version history"
# heading must not become a promise the engine can quote.
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_FIELD = re.compile(r"^([A-Za-z_ ]{2,30}):\s*(.*)$")
# Above the first commitment: who answers gaps no commitment's owner answers.
_DEFAULT_OWNER = re.compile(r"^default owner(?: role)?:\s*(.*)$", re.I)


def parse_register_json(raw: str, source: str = "register") -> Register:
    data = parse_json(raw, source, '{"commitments": [{"id": ..., "title": ..., "text": ...}]}')
    if isinstance(data, list):
        data = {"commitments": data}
    if not isinstance(data, dict):
        raise InputError(_('{source}: expected a JSON object with a "commitments" list').format(source=source))
    try:
        return _checked(Register.model_validate(data), source)
    except ValidationError as e:
        raise InputError(f"{source}: {_register_error(e, data)}") from None


def parse_register_markdown(raw: str, source: str = "register") -> Register:
    sections: list[tuple[int, str, str, list[str]]] = []
    default_owner_role = None
    for n, line in enumerate(raw.splitlines(), start=1):
        if not sections and (m := _DEFAULT_OWNER.match(line.strip())):
            default_owner_role = m.group(1).strip() or None
        elif line.startswith("## "):
            m = _HEADING.match(line)
            if not m or not _ID.match(m.group(1)):
                raise InputError(_(
                    "{source} line {n}: '{line}' is not a commitment heading; write "
                    "'## JS-1 Title' (an id with a number, then the title), and keep other notes above "
                    "the first commitment"
                ).format(source=source, n=n, line=line.strip()[:60]))
            sections.append((n, m.group(1), m.group(2), []))
        elif sections and line.lstrip().startswith("#"):
            # A stray or malformed heading would otherwise be swallowed into a promise's text.
            raise InputError(_(
                "{source} line {n}: unexpected heading '{line}' inside commitment "
                "{id}; each commitment starts with '## ID Title' and has no sub-headings"
            ).format(source=source, n=n, line=line.strip()[:60], id=sections[-1][1]))
        elif sections:
            sections[-1][3].append(line)
    if not sections:
        raise InputError(_("{source}: no '## ID Title' sections found; one section per commitment").format(
            source=source))
    commitments = []
    for n, cid, title, body in sections:
        data: dict = {"id": cid, "title": title}
        i = 0
        while i < len(body) and not body[i].strip():
            i += 1
        # Field block: leading 'Key: value' lines up to the first blank line.
        fields_seen = False
        while i < len(body) and body[i].strip():
            m = _FIELD.match(body[i].strip())
            if not m:
                if fields_seen:
                    raise InputError(_(
                        "{source}: commitment {id}: line '{line}' follows the fields "
                        "without a blank line; leave a blank line between the fields and the text"
                    ).format(source=source, id=cid, line=body[i].strip()[:60]))
                break
            fields_seen = True
            key = m.group(1).strip().lower()
            if key not in MD_FIELDS:
                raise InputError(_(
                    "{source}: commitment {id}: unknown field '{field}'; allowed: "
                    "Scope, Owner role, Effective date, Review date, End date, Status, Does not promise"
                ).format(source=source, id=cid, field=m.group(1).strip()))
            field = MD_FIELDS[key]
            if field == "does_not_promise":
                items = [m.group(2).strip()] if m.group(2).strip() else []
                bullets = False
                while i + 1 < len(body) and (b := _BULLET.match(body[i + 1])):
                    i += 1
                    bullets = True
                    items.append(b.group(1).strip())
                # Prose on the field line alone is split into items by the model.
                data[field] = items if bullets or not items else items[0]
            else:
                data[field] = m.group(2).strip()
            i += 1
        text = "\n".join(body[i:]).strip()
        data["text"] = text
        if not text:
            raise InputError(_("{source}: commitment {id} (line {n}) has no text; write the promise after the "
                               "fields").format(source=source, id=cid, n=n))
        try:
            commitments.append(Commitment.model_validate(data))
        except ValidationError as e:
            raise InputError(_("{source}: commitment {id}: {error}").format(
                source=source, id=cid, error=first_error(e))) from None
    return _checked(Register(commitments=commitments, default_owner_role=default_owner_role), source)


def load_register(path: str | Path) -> Register:
    p = Path(path)
    raw = read_text(p, "register")
    if p.suffix.lower() in (".md", ".markdown"):
        return parse_register_markdown(raw, p.name)
    return parse_register_json(raw, p.name)


def parse_register(raw: str, filename: str) -> Register:
    """Parse uploaded register text; the filename's extension picks the format."""
    if filename.lower().endswith((".md", ".markdown")):
        return parse_register_markdown(raw, filename)
    return parse_register_json(raw, filename)


def _checked(register: Register, source: str) -> Register:
    if not register.commitments:
        raise InputError(_("{source}: the register has no commitments; add at least one").format(source=source))
    seen: set[str] = set()
    for c in register.commitments:
        if c.id in seen:
            raise InputError(_("{source}: duplicate commitment id {id}; ids must be unique").format(
                source=source, id=repr(c.id)))
        seen.add(c.id)
    return register


def _register_error(e: ValidationError, data: dict) -> str:
    err = e.errors()[0]
    loc = err["loc"]
    if len(loc) >= 2 and loc[0] == "commitments" and isinstance(loc[1], int):
        try:
            cid = data["commitments"][loc[1]].get("id", f"#{loc[1] + 1}")
        except (AttributeError, IndexError, KeyError):
            cid = f"#{loc[1] + 1}"
        field = ".".join(str(x) for x in loc[2:])
        if err["type"] == "extra_forbidden":
            return _(
                "commitment {id}: unknown field '{field}'; allowed: id, title, text, scope, "
                "owner_role, effective_date, review_date, status, does_not_promise"
            ).format(id=cid, field=field)
        if err["type"] == "missing":
            return _("commitment {id}: missing field '{field}'; add it").format(id=cid, field=field)
        return _("commitment {id}: {field}: {error}").format(id=cid, field=field, error=err["msg"])
    return first_error(e)


def register_hash(register: Register) -> str:
    """Content hash; the vector index is rebuilt only when it changes."""
    payload = json.dumps(register.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


IN_FORCE_STATUSES = ("active", "pilot")


@dataclass(frozen=True)
class Health:
    """Whether a commitment can answer a fear today, and what to flag about it.

    ``problems`` take it out of force (status, not yet effective, ended);
    ``flags`` leave it in force but must be shown (a review date that has
    passed: the promise stands until its status or end date changes).
    """

    commitment_id: str
    problems: tuple[str, ...]
    flags: tuple[str, ...] = ()
    review_overdue: bool = False  # a fact of its own: the flags are words in the locale in force

    @property
    def usable(self) -> bool:
        return not self.problems


def health(c: Commitment, today: dt.date) -> Health:
    """In force: ``active`` or ``pilot`` (for its scope), effective, not ended."""
    problems, flags = [], []
    if c.status not in IN_FORCE_STATUSES:
        problems.append(_("status is {status}").format(status=c.status))
    if c.effective_date and c.effective_date > today:
        problems.append(_("not effective until {date}").format(date=c.effective_date.isoformat()))
    if c.end_date and c.end_date < today:
        problems.append(_("ended on {date}").format(date=c.end_date.isoformat()))
    overdue = bool(c.review_date and c.review_date < today)
    if overdue:
        flags.append(_("review overdue since {date}").format(date=c.review_date.isoformat()))
    if c.status == "pilot":
        flags.append(_("pilot: in force only for its scope"))
    return Health(c.id, tuple(problems), tuple(flags), overdue)


def warnings(register: Register, today: dt.date) -> list[str]:
    """One line per commitment set aside or flagged, for ``meta.warnings``."""
    out = []
    for c in register.commitments:
        h = health(c, today)
        if not h.usable:
            out.append(_("commitment {id} not used: {problems}").format(id=c.id, problems="; ".join(h.problems)))
        elif h.review_overdue and c.owner_role:
            out.append(_("commitment {id} is still in force but its review is overdue (owner: {owner})").format(
                id=c.id, owner=c.owner_role))
        elif h.review_overdue:
            out.append(_("commitment {id} is still in force but its review is overdue").format(id=c.id))
    return out


DEFAULT_OWNER = "Commitments owner (HR / leadership)"


def default_owner(register: Register) -> str:
    """Who answers a gap no related commitment owns: the register's own
    ``default_owner_role``, else its most common owner among commitments in force."""
    if register.default_owner_role:
        return register.default_owner_role
    roles = [c.owner_role for c in register.commitments if c.owner_role and c.status in IN_FORCE_STATUSES]
    return max(sorted(set(roles)), key=roles.count) if roles else DEFAULT_OWNER
