"""A team's destinations for published actions, and the deliveries to them.

Publishing queues one delivery per (destination, action) in the same transaction,
so publishing never waits on, or fails because of, a tracker or a chat. The
deliveries are sent afterwards (``deliver_due``, run as a job: see
``facilitator.service.jobs``): each is claimed before it is sent, so two
processes never send one twice; a sent one is never sent again; a timeout, a
rate limit or a 5xx is retried with exponential backoff; a refusal (credentials,
a missing project) stops with a one-line reason the facilitator sees and can
retry after fixing it. A process that dies between sending and recording leaves
the delivery "unknown": shown, and sent again only when someone says so, so it
is never silently duplicated.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import httpx
from sqlalchemy import Connection, delete, insert, select, update

from facilitator.errors import InputError
from facilitator.i18n import _, ngettext, using
from facilitator.integrations.outbound import OutboundAction, outbound_actions
from facilitator.integrations.targets import TARGETS, Outcome, send, target
from facilitator.publishing.preview import PublishedSummary
from facilitator.service import db as t
from facilitator.service import sealing
from facilitator.service.base import NotAllowed, ServiceBase, _team_norm
from facilitator.text import capitalised

MAX_ATTEMPTS = 6
BACKOFF_S = 30.0  # 30 s, 1, 2, 4, 8 min: about a quarter of an hour of retries in all
BACKOFF_MAX_S = 3600.0
CLAIM_STALE_S = 120.0  # a claim older than this belongs to a process that died while sending


@dataclass(frozen=True)
class Destination:
    id: str
    kind: str
    label: str
    config: dict[str, str]
    secret_hint: str
    added_by: str


@dataclass(frozen=True)
class Delivery:
    id: int
    destination: str
    action_id: str
    status: str
    attempts: int
    next_at: float
    external_id: str | None
    external_url: str | None
    error: str | None


class IntegrationsMixin(ServiceBase):
    # -- destinations ---------------------------------------------------------------

    def add_destination(self, team: str, kind: str, config: dict[str, str], secret: str, *, added_by: str) -> str:
        """Add where this team's published actions go; the secret is sealed at once."""
        tg = target(kind)
        clean = tg.validate(config, secret)
        sealed = sealing.seal(self.settings, self.db.is_sqlite, secret.strip())
        did = secrets.token_hex(8)
        with self.db.write() as conn:
            conn.execute(insert(t.integrations).values(
                id=did, team_norm=_team_norm(team)[:120], kind=kind, config_json=json.dumps(clean),
                secret_sealed=sealed, secret_hint=sealing.hint(secret), added_by=added_by[:200], added_on=self.today(),
            ))
        return did

    def destinations(self, team: str) -> list[Destination]:
        with self.db.read() as conn:
            rows = conn.execute(select(t.integrations).where(t.integrations.c.team_norm == _team_norm(team)[:120])
                                .order_by(t.integrations.c.added_on, t.integrations.c.id)).mappings().all()
        return [Destination(r["id"], r["kind"], TARGETS[r["kind"]].label, json.loads(r["config_json"]),
                            r["secret_hint"], r["added_by"]) for r in rows]

    def remove_destination(self, team: str, destination_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(t.deliveries).where(t.deliveries.c.integration_id == destination_id))
            conn.execute(delete(t.integrations).where(t.integrations.c.id == destination_id,
                                                      t.integrations.c.team_norm == _team_norm(team)[:120]))

    # -- deliveries ------------------------------------------------------------------

    def _queue_deliveries(self, conn: Connection, team: str, retro_id: str, summary: PublishedSummary) -> None:
        """Inside publish: one pending delivery per destination of the team and action."""
        dests = conn.execute(select(t.integrations.c.id).where(
            t.integrations.c.team_norm == _team_norm(team)[:120])).scalars().all()
        for did in dests:
            for a in summary.analysis.actions:
                conn.execute(insert(t.deliveries).values(integration_id=did, retro_id=retro_id, action_id=a.id,
                                                         status="pending", attempts=0, next_at=0.0))

    def deliveries(self, retro_id: str) -> list[Delivery]:
        with self.db.read() as conn:
            rows = conn.execute(
                select(t.deliveries, t.integrations.c.kind)
                .join(t.integrations, t.integrations.c.id == t.deliveries.c.integration_id)
                .where(t.deliveries.c.retro_id == retro_id)
                .order_by(t.integrations.c.kind, t.deliveries.c.action_id)
            ).mappings().all()
        return [Delivery(r["id"], TARGETS[r["kind"]].label, r["action_id"], r["status"], r["attempts"], r["next_at"],
                         r["external_id"], r["external_url"], r["last_error"]) for r in rows]

    def send_again(self, retro_id: str, delivery_id: int) -> None:
        """The facilitator asks for a failed or unknown delivery to be sent again."""
        with self.db.write() as conn:
            row = conn.execute(select(t.deliveries.c.status).where(
                t.deliveries.c.id == delivery_id, t.deliveries.c.retro_id == retro_id)).first()
            if row is None:
                raise InputError(_("That delivery no longer exists"))
            if row[0] not in ("failed", "unknown"):
                raise NotAllowed(_("Only a failed delivery, or one whose outcome is unknown, can be sent again"))
            conn.execute(update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(
                status="pending", attempts=0, next_at=0.0, last_error=None))

    def next_delivery_in(self, retro_id: str | None = None) -> float | None:
        """Seconds until the next pending delivery is due (None: nothing pending)."""
        q = select(t.deliveries.c.next_at).where(t.deliveries.c.status == "pending")
        if retro_id:
            q = q.where(t.deliveries.c.retro_id == retro_id)
        with self.db.read() as conn:
            due = conn.execute(q.order_by(t.deliveries.c.next_at).limit(1)).scalar()
        return None if due is None else max(0.0, due - self.clock())

    def deliver_due(self, retro_id: str | None = None, *, client: httpx.Client | None = None, limit: int = 50) -> int:
        """Send every delivery that is due (of one retro, or all); returns how many were tried.
        Each is sent and recorded in its retro's locale, so its reason reads in the retro's language."""
        claimed = self._claim_due(retro_id, limit)
        for row, action, kind, config, secret, locale in claimed:
            with using(locale):
                if action is None:
                    outcome = Outcome("failed", error=_("The action is no longer in the published summary"))
                else:
                    try:
                        outcome = send(kind, config, secret, action, client)
                    except Exception as e:  # noqa: BLE001 - recorded on the delivery, never raised into a page
                        outcome = Outcome("failed", error=_("Could not build the request: {error}").format(
                            error=type(e).__name__))
                self._record(row["id"], row["attempts"] + 1, outcome)
        return len(claimed)

    def _claim_due(self, retro_id: str | None, limit: int):
        now = self.clock()
        with self.db.write() as conn:
            # A claim whose process died mid-send: the service may or may not have it.
            stale = (t.deliveries.c.status == "sending", t.deliveries.c.claimed_at < now - CLAIM_STALE_S)
            for locale in conn.execute(
                select(t.retros.c.locale).distinct().join(t.deliveries, t.deliveries.c.retro_id == t.retros.c.id)
                .where(*stale)
            ).scalars().all():
                with using(locale):
                    why = _("The outcome is unknown (the sender stopped); check the "
                            "destination, then send it again if it is missing")
                in_locale = select(t.retros.c.id).where(t.retros.c.locale == locale)
                conn.execute(update(t.deliveries).where(*stale, t.deliveries.c.retro_id.in_(in_locale))
                             .values(status="unknown", last_error=why))
            q = (select(t.deliveries).where(t.deliveries.c.status == "pending", t.deliveries.c.next_at <= now)
                 .order_by(t.deliveries.c.next_at, t.deliveries.c.id).limit(limit))
            if retro_id:
                q = q.where(t.deliveries.c.retro_id == retro_id)
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            rows = conn.execute(q).mappings().all()
            out = []
            actions: dict[str, dict[str, OutboundAction]] = {}  # per retro, by action id
            locales: dict[str, str] = {}  # per retro
            for row in rows:
                conn.execute(update(t.deliveries).where(t.deliveries.c.id == row["id"])
                             .values(status="sending", claimed_at=now))
                dest = conn.execute(select(t.integrations).where(
                    t.integrations.c.id == row["integration_id"])).mappings().first()
                if row["retro_id"] not in actions:
                    pub_id, summary_json, locales[row["retro_id"]] = conn.execute(
                        select(t.publications.c.id, t.publications.c.summary_json, t.retros.c.locale)
                        .join(t.retros, t.retros.c.id == t.publications.c.retro_id)
                        .where(t.publications.c.retro_id == row["retro_id"])).one()
                    summary = PublishedSummary.model_validate_json(summary_json)
                    outbound = outbound_actions(pub_id, summary, self._summary_url(pub_id))  # in action order
                    actions[row["retro_id"]] = {a.id: o for a, o in zip(summary.analysis.actions, outbound)}
                action = actions[row["retro_id"]].get(row["action_id"])
                out.append((row, action, dest["kind"], json.loads(dest["config_json"]), dest["secret_sealed"],
                            locales[row["retro_id"]]))
        # Unsealed outside the transaction; a key problem fails the delivery with its one line.
        ready = []
        for row, action, kind, config, sealed, locale in out:
            try:
                secret = sealing.unseal(self.settings, self.db.is_sqlite, sealed)
            except Exception as e:  # noqa: BLE001
                self._record(row["id"], row["attempts"] + 1, Outcome("failed", error=capitalised(str(e))))
                continue
            ready.append((row, action, kind, config, secret, locale))
        return ready

    def _summary_url(self, pub_id: str) -> str | None:
        base = self.settings.public_url
        return f"{base.rstrip('/')}/summary?s={pub_id}" if base else None

    def _record(self, delivery_id: int, attempts: int, outcome: Outcome) -> None:
        values: dict = {"attempts": attempts, "claimed_at": None, "last_error": outcome.error}
        if outcome.status == "sent":
            values |= {"status": "sent", "external_id": outcome.external_id, "external_url": outcome.external_url}
        elif outcome.status == "retry" and attempts < MAX_ATTEMPTS:
            wait = outcome.retry_after_s if outcome.retry_after_s is not None else BACKOFF_S * 2 ** (attempts - 1)
            values |= {"status": "pending", "next_at": self.clock() + min(wait, BACKOFF_MAX_S)}
        else:
            if outcome.status == "retry":
                values["last_error"] = ngettext("{error} (gave up after {n} try)", "{error} (gave up after {n} tries)",
                                                attempts).format(error=outcome.error, n=attempts)
            values["status"] = "failed"
        with self.db.write() as conn:
            conn.execute(update(t.deliveries).where(t.deliveries.c.id == delivery_id).values(**values))

