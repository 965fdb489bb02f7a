"""Pushing published actions out (facilitator/integrations, service/integrations.py),
at the wire with respx: each service's request as its REST documentation gives
it, and its real answers, including refused credentials, rate limits and
timeouts. Only what the gate published leaves; nothing is sent twice; a failure
is visible, retried with backoff and never blocks publishing."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest
import respx

from facilitator.errors import ConfigError, InputError
from facilitator.integrations.targets import send
from facilitator.service import sealing
from facilitator.service.integrations import BACKOFF_S, CLAIM_STALE_S, MAX_ATTEMPTS
from facilitator.settings import Settings

from .retro_helpers import ColumnEngine, make_service, seeded_retro

SLACK = "https://hooks.slack.com/services/T0001/B0001/abcdefghijklmnopqrstuvwx"
TEAMS = "https://acme.webhook.office.com/webhookb2/1111-2222/IncomingWebhook/abcd/3333"
JIRA = {"site": "https://acme.atlassian.net", "project": "OPS", "issue_type": "Task", "email": "ops@acme.example"}
GITHUB = {"repository": "acme/platform", "api": "https://api.github.com"}
ADO = {"organization": "https://dev.azure.com/acme", "project": "Platform Team", "work_item_type": "Task"}
HOOK = {"url": "https://hooks.acme.example/retro"}


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def published():
    """A published retro of team Dispatch (two actions: a fix and an escalation),
    with every kind of destination configured before it was published."""
    from facilitator.service.db import Database
    from facilitator.service.retros import RetroService

    clock = Clock()
    settings = Settings()
    svc = RetroService(Database.from_settings(settings), settings, clock=clock)
    dest = {
        "slack": svc.add_destination("Dispatch", "slack", {}, SLACK, added_by="facilitator"),
        "teams": svc.add_destination("Dispatch", "teams", {}, TEAMS, added_by="facilitator"),
        "jira": svc.add_destination("Dispatch", "jira", JIRA, "jira-token-1234567890", added_by="facilitator"),
        "github": svc.add_destination("Dispatch", "github", GITHUB, "github_pat_11ABCDEFG0123456789", added_by="x"),
        "ado": svc.add_destination("Dispatch", "azure_devops", ADO, "adopat0123456789abcdef", added_by="x"),
        "hook": svc.add_destination("Dispatch", "webhook", HOOK, "hmac-signing-secret-42", added_by="x"),
    }
    svc.add_destination("Other team", "slack", {}, SLACK + "other", added_by="x")  # never used for Dispatch
    created, _ = seeded_retro(svc, people=4, to_phase="publish", engine=ColumnEngine())
    pub = svc.publish(created.retro_id, approved=True, rev=svc.preview(created.retro_id).rev)
    return svc, created.retro_id, pub, dest, clock


def _ok_routes(router):
    router.post(SLACK).mock(return_value=httpx.Response(200, text="ok"))
    router.post(TEAMS).mock(return_value=httpx.Response(200, text="1"))
    router.post("https://acme.atlassian.net/rest/api/3/issue").mock(side_effect=_jira_created)
    router.post("https://api.github.com/repos/acme/platform/issues").mock(side_effect=_github_created)
    router.post(url__regex=r"https://dev\.azure\.com/acme/Platform%20Team/_apis/wit/workitems/\$Task\?api-version=7\.1"
                ).mock(side_effect=_ado_created)
    router.post(HOOK["url"]).mock(return_value=httpx.Response(204))


_seq = iter(range(24, 10_000))


def _jira_created(request):
    n = next(_seq)
    return httpx.Response(201, json={"id": str(10000 + n), "key": f"OPS-{n}",
                                     "self": f"https://acme.atlassian.net/rest/api/3/issue/{10000 + n}"})


def _github_created(request):
    n = next(_seq)
    return httpx.Response(201, json={"id": 1_000_000 + n, "node_id": "MDU6SXNzdWUx", "number": n,
                                     "html_url": f"https://github.com/acme/platform/issues/{n}", "state": "open",
                                     "title": json.loads(request.content)["title"]})


def _ado_created(request):
    n = next(_seq)
    return httpx.Response(200, json={"id": 131000 + n, "rev": 1, "fields": {"System.State": "To Do"},
                                     "_links": {"html": {"href": f"https://dev.azure.com/acme/_workitems/edit/{131000 + n}"}},
                                     "url": f"https://dev.azure.com/acme/_apis/wit/workItems/{131000 + n}"})


def test_publishing_queues_one_delivery_per_destination_and_action_and_sends_each_once(published):
    svc, rid, pub, dest, clock = published
    actions = pub.summary.analysis.actions
    assert len(actions) == 2
    assert {d.status for d in svc.deliveries(rid)} == {"pending"} and len(svc.deliveries(rid)) == 6 * 2
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        _ok_routes(router)
        assert svc.deliver_due(rid) == 12
        sent = list(router.calls)
        assert svc.deliver_due(rid) == 0  # idempotent: nothing is sent twice
        assert len(router.calls) == len(sent) == 12
    rows = svc.deliveries(rid)
    assert {d.status for d in rows} == {"sent"}
    by = {(d.destination, d.action_id): d for d in rows}
    jira = [d for (dest_, _), d in by.items() if dest_ == "Jira"]
    assert all(d.external_id.startswith("OPS-") and d.external_url.startswith("https://acme.atlassian.net/browse/OPS-")
               for d in jira)
    assert all(d.external_url.startswith("https://github.com/acme/platform/issues/")
               for (dest_, _), d in by.items() if dest_ == "GitHub issues")
    assert all(d.external_id.startswith("131") for (dest_, _), d in by.items() if dest_ == "Azure DevOps")

    # What left: the published actions and nothing else, never a card.
    bodies = [c.request.content.decode() for c in sent]
    assert not any("says something about" in body for body in bodies)  # every seeded card says this
    assert sum(actions[0].title in b for b in bodies) == 6


def test_each_service_gets_its_documented_request_shape(published):
    svc, rid, pub, dest, clock = published
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        _ok_routes(router)
        svc.deliver_due(rid)
        calls = {c.request.url.host + c.request.url.path: c.request for c in router.calls}
    jira = next(r for k, r in calls.items() if k.endswith("/rest/api/3/issue"))
    body = json.loads(jira.content)
    assert body["fields"]["project"] == {"key": "OPS"} and body["fields"]["issuetype"] == {"name": "Task"}
    assert body["fields"]["description"]["type"] == "doc" and body["fields"]["description"]["version"] == 1
    assert jira.headers["authorization"].startswith("Basic ")
    gh = next(r for k, r in calls.items() if k.endswith("/issues"))
    assert gh.headers["authorization"] == "Bearer github_pat_11ABCDEFG0123456789"
    assert gh.headers["x-github-api-version"] == "2022-11-28" and set(json.loads(gh.content)) == {"title", "body"}
    ado = next(r for k, r in calls.items() if "workitems" in k)
    assert ado.headers["content-type"] == "application/json-patch+json"
    ops = json.loads(ado.content)
    assert {o["path"] for o in ops} >= {"/fields/System.Title", "/fields/System.Description"}
    assert all(o["op"] == "add" for o in ops)
    slack = json.loads(next(r for k, r in calls.items() if k.startswith("hooks.slack.com")).content)
    assert all(b["text"]["type"] == "plain_text" for b in slack["blocks"])
    teams = json.loads(next(r for k, r in calls.items() if "office.com" in k).content)
    assert teams["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    hook = next(r for k, r in calls.items() if k.startswith("hooks.acme.example"))
    expected = hmac.new(b"hmac-signing-secret-42", hook.content, hashlib.sha256).hexdigest()
    assert hook.headers["x-retro-signature-256"] == f"sha256={expected}"
    assert json.loads(hook.content)["delivery"] == hook.headers["x-retro-delivery"]


@pytest.mark.parametrize(("kind", "config", "secret", "url", "response", "words"), [
    ("slack", {}, SLACK, SLACK, httpx.Response(403, text="invalid_token"), "refused the credentials (403)"),
    ("slack", {}, SLACK, SLACK, httpx.Response(404, text="no_service"), "found nothing at that address (404)"),
    ("teams", {}, TEAMS, TEAMS, httpx.Response(400, text="Bad payload received by generic incoming webhook."),
     "refused the request (400): Bad payload"),
    ("jira", JIRA, "t0ken-abcdefgh", "https://acme.atlassian.net/rest/api/3/issue",
     httpx.Response(401, text="Client must be authenticated to access this resource."), "refused the credentials"),
    ("jira", JIRA, "t0ken-abcdefgh", "https://acme.atlassian.net/rest/api/3/issue",
     httpx.Response(400, json={"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}}),
     "issuetype: Specify a valid issue type"),
    ("github", GITHUB, "ghp_x0123456789", "https://api.github.com/repos/acme/platform/issues",
     httpx.Response(401, json={"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
     "refused the credentials (401)"),
    ("github", GITHUB, "ghp_x0123456789", "https://api.github.com/repos/acme/platform/issues",
     httpx.Response(410, json={"message": "Issues are disabled for this repo"}), "found nothing"),
    ("azure_devops", ADO, "pat0123456789", None,
     httpx.Response(203, text="<html><head><title>Azure DevOps Services | Sign In</title></head></html>"),
     "refused the credentials (203)"),
])
def test_refusals_fail_at_once_with_one_line(kind, config, secret, url, response, words):
    from facilitator.integrations.outbound import OutboundAction

    action = OutboundAction(key="p:a1", retro_title="Sprint 42", team="Dispatch", published_on="2026-12-01",
                            title="Fix the release checklist", kind="fix", owner_role="Team", due="2026-12-15",
                            themes=["Release checklist"], coverage=[])
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        route = router.post(url) if url else router.post(url__regex=r"https://dev\.azure\.com/.*")
        route.mock(return_value=response)
        out = send(kind, config, secret, action)
    assert out.status == "failed" and words in out.error and "\n" not in out.error


def test_rate_limits_and_timeouts_are_retried_with_backoff_then_given_up(published):
    svc, rid, pub, dest, clock = published
    # Only GitHub and Slack this time: the others are told to wait.
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        _ok_routes(router)
        router.post("https://api.github.com/repos/acme/platform/issues").mock(return_value=httpx.Response(
            403, json={"message": "API rate limit exceeded"},
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 600)}))
        router.post(SLACK).mock(return_value=httpx.Response(429, text="rate_limited", headers={"Retry-After": "30"}))
        router.post("https://acme.atlassian.net/rest/api/3/issue").mock(side_effect=httpx.ReadTimeout("slow"))
        svc.deliver_due(rid)
    rows = {d.destination: d for d in svc.deliveries(rid)}
    assert rows["Slack"].status == "pending" and rows["Slack"].next_at == clock.now + 30
    assert "rate-limiting" in rows["Slack"].error
    assert rows["GitHub issues"].status == "pending" and rows["GitHub issues"].next_at > clock.now  # until its reset
    assert rows["Jira"].status == "pending" and "did not answer within" in rows["Jira"].error
    assert rows["Jira"].next_at == clock.now + BACKOFF_S
    assert svc.deliver_due(rid) == 0  # nothing is due yet: the backoff holds

    # Jira keeps timing out: each retry waits twice as long, then it gives up.
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        _ok_routes(router)
        router.post("https://acme.atlassian.net/rest/api/3/issue").mock(side_effect=httpx.ConnectTimeout("down"))
        waits = []
        for _ in range(MAX_ATTEMPTS):
            clock.now += 3600
            svc.deliver_due(rid)
            jira = [d for d in svc.deliveries(rid) if d.destination == "Jira"]
            waits.append(jira[0].next_at - clock.now if jira[0].status == "pending" else None)
    assert all(d.status == "sent" for d in svc.deliveries(rid) if d.destination != "Jira")
    jira = [d for d in svc.deliveries(rid) if d.destination == "Jira"]
    assert {d.status for d in jira} == {"failed"} and all(f"gave up after {MAX_ATTEMPTS} tries" in d.error for d in jira)
    assert [w for w in waits if w] == [BACKOFF_S * 2 ** n for n in range(1, MAX_ATTEMPTS - 1)]

    # The facilitator fixes it and sends again: it is sent, once.
    svc.send_again(rid, jira[0].id)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        _ok_routes(router)
        assert svc.deliver_due(rid) == 1
    assert [d for d in svc.deliveries(rid) if d.id == jira[0].id][0].status == "sent"


def test_a_sender_that_died_mid_send_leaves_an_unknown_delivery_not_a_duplicate(published):
    from sqlalchemy import update

    from facilitator.service import db as t

    svc, rid, pub, dest, clock = published
    with svc.db.write() as conn:  # a process claimed one and died before recording the answer
        first = svc.deliveries(rid)[0]
        conn.execute(update(t.deliveries).where(t.deliveries.c.id == first.id).values(status="sending",
                                                                                     claimed_at=clock.now))
    clock.now += CLAIM_STALE_S + 1
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        _ok_routes(router)
        assert svc.deliver_due(rid) == 11
    row = [d for d in svc.deliveries(rid) if d.id == first.id][0]
    assert row.status == "unknown" and "send it again if it is missing" in row.error


def test_secrets_are_sealed_at_rest_and_shown_masked(published):
    from sqlalchemy import select

    from facilitator.service import db as t

    svc, rid, pub, dest, clock = published
    with svc.db.engine.connect() as conn:
        stored = " ".join(r[0] + r[1] for r in conn.execute(select(t.integrations.c.secret_sealed,
                                                                     t.integrations.c.config_json)))
    for secret in (SLACK, TEAMS, "jira-token-1234567890", "github_pat_11ABCDEFG0123456789", "hmac-signing-secret-42"):
        assert secret not in stored
    shown = {d.label: d for d in svc.destinations("Dispatch")}
    assert shown["Jira"].secret_hint == "…7890" and "jira-token" not in repr(shown["Jira"])
    assert len(svc.destinations("Other team")) == 1


def test_a_failing_destination_never_blocks_publishing():
    svc = make_service()
    svc.add_destination("Dispatch", "slack", {}, SLACK, added_by="facilitator")
    created, _ = seeded_retro(svc, people=4, to_phase="publish", engine=ColumnEngine())
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:  # publishing itself sends nothing
        pub = svc.publish(created.retro_id, approved=True, rev=svc.preview(created.retro_id).rev)
        assert not router.calls
        router.post(SLACK).mock(side_effect=httpx.ConnectError("unreachable"))
        svc.deliver_due(created.retro_id)
    assert svc.get(created.retro_id).phase == "published" and pub.summary.analysis.actions
    assert {d.status for d in svc.deliveries(created.retro_id)} == {"pending"}


@pytest.mark.parametrize(("kind", "config", "secret", "words"), [
    ("slack", {}, "https://example.org/hook", "starts with https://hooks.slack.com/"),
    ("slack", {}, "", "fill in “Incoming webhook URL”"),
    ("jira", {**JIRA, "site": "http://acme.atlassian.net"}, "tok", "must be an https:// address"),
    ("jira", {**JIRA, "project": "ops team"}, "tok", "“Project key” must be upper-case"),
    ("github", {"repository": "just-a-name"}, "tok", "owner/name"),
    ("webhook", {"url": "ftp://x"}, "s", "must be an https:// address"),
    ("pager", {}, "s", "Unknown destination"),
])
def test_bad_configuration_is_refused_with_one_line(kind, config, secret, words):
    svc = make_service()
    with pytest.raises(InputError) as e:
        svc.add_destination("Dispatch", kind, config, secret, added_by="x")
    assert words in str(e.value) and "\n" not in str(e.value)
    assert svc.destinations("Dispatch") == []


def test_on_postgresql_the_sealing_key_must_be_set():
    with pytest.raises(ConfigError, match="RETRO_SECRET_KEY"):
        sealing.seal(Settings(), False, "token")
    key = "9_lnbzFDzK5A4VCgSgZ0N2A5U6ZbRkjYc0SxKOpGJXo="
    s = Settings(secret_key=key)
    assert sealing.unseal(s, False, sealing.seal(s, False, "token")) == "token"
    with pytest.raises(ConfigError, match="cannot be read"):
        sealing.unseal(Settings(secret_key="0" * 43 + "="), False, sealing.seal(s, False, "token"))
