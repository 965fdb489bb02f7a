"""Each destination's wire format, and one ``send`` that classifies every answer.

Plain httpx requests rather than each service's client library: slack_sdk,
PyGithub, jira and azure-devops each wrap one POST here, and they send through
urllib or requests, so a respx wire test could not see them; httpx is already a
dependency (litellm's). The request and response shapes follow each service's
published REST documentation (Jira Cloud REST v3, GitHub REST 2022-11-28, Azure
DevOps REST 7.1, Slack and Teams incoming webhooks).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlparse

import httpx

from facilitator.errors import InputError
from facilitator.i18n import N_, _
from facilitator.integrations.outbound import OutboundAction

TIMEOUT_S = 10.0


# Labels, help and rules are marked for the catalogue (N_) and translated where they
# are shown or formatted into a message; product names stay as they are.
@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str = ""
    default: str = ""
    url: bool = False  # an address the request goes to: https only
    pattern: str | None = None  # the whole value must match it ...
    rule: str = ""  # ... as this says


@dataclass(frozen=True)
class Outcome:
    status: Literal["sent", "retry", "failed"]
    external_id: str | None = None
    external_url: str | None = None
    error: str | None = None
    retry_after_s: float | None = None


class Target:
    kind: str = ""
    label: str = ""
    fields: tuple[Field, ...] = ()
    secret_label: str = ""
    secret_is_url: bool = False  # a webhook: the secret is the address itself

    def validate(self, config: dict[str, str], secret: str) -> dict[str, str]:
        """The cleaned configuration, or an InputError naming the field to fix."""
        clean = {}
        for f in self.fields:
            value = (config.get(f.name) or f.default).strip()
            if not value:
                raise InputError(_("{target}: fill in “{field}”").format(target=_(self.label), field=_(f.label)))
            what = _("{target}: “{field}”").format(target=_(self.label), field=_(f.label))
            if f.url:
                value = _https(value, what)
            if f.pattern and not re.fullmatch(f.pattern, value):
                raise InputError(_("{what} must be {rule}").format(what=what, rule=_(f.rule)))
            clean[f.name] = value
        if not secret.strip():
            raise InputError(_("{target}: fill in “{field}”").format(target=_(self.label), field=_(self.secret_label)))
        if self.secret_is_url:
            _https(secret, _("{target}: “{field}”").format(target=_(self.label), field=_(self.secret_label)))
        return clean

    def request(self, config: dict[str, str], secret: str, action: OutboundAction) -> httpx.Request:
        raise NotImplementedError

    def parse(self, config: dict[str, str], response: httpx.Response) -> tuple[str | None, str | None]:
        """(external id, link) from a successful answer."""
        return None, None


def _https(url: str, what: str) -> str:
    """Only https leaves the machine (http only to this host, for a local relay)."""
    u = urlparse(url.strip())
    local = u.hostname in ("127.0.0.1", "localhost", "::1")
    if u.scheme != "https" and not (u.scheme == "http" and local) or not u.hostname:
        raise InputError(_("{what} must be an https:// address").format(what=what))
    return url.strip().rstrip("/")


def _json(body) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _title(action: OutboundAction) -> str:
    return action.title[:250]


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Slack(Target):
    kind, label = "slack", "Slack"
    secret_label, secret_is_url = N_("Incoming webhook URL"), True

    def validate(self, config, secret):
        clean = super().validate(config, secret)
        if not secret.strip().startswith("https://hooks.slack.com/"):
            raise InputError(_("The Slack webhook URL starts with https://hooks.slack.com/ (Slack: Incoming Webhooks)"))
        return clean

    def request(self, config, secret, action):
        # The fallback text is mrkdwn: &, < and > are escaped so a title cannot make a link or a mention.
        heading = _("Retro action: {title}").format(title=action.title)
        text = _slack_escape(heading + "\n" + "\n".join(action.lines()))
        # plain_text blocks: the text from the retro is shown as typed, never as markup.
        body = {"text": text, "unfurl_links": False, "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": heading[:3000]}},
            {"type": "section", "text": {"type": "plain_text", "text": "\n".join(action.lines())[:3000]}},
        ]}
        return httpx.Request("POST", secret, content=_json(body), headers={"Content-Type": "application/json"})


class Teams(Target):
    kind, label = "teams", "Microsoft Teams"
    secret_label, secret_is_url = N_("Incoming webhook or Workflows URL"), True

    def request(self, config, secret, action):
        # An Adaptive Card in a message: what both Teams Workflows webhooks and the
        # older Office 365 connector webhooks accept.
        card = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4", "body": [
                    {"type": "TextBlock", "text": _("Retro action: {title}").format(title=action.title),
                     "weight": "Bolder", "wrap": True},
                    *({"type": "TextBlock", "text": line, "wrap": True} for line in action.lines()),
                ]}
        body = {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
        return httpx.Request("POST", secret, content=_json(body), headers={"Content-Type": "application/json"})


class Jira(Target):
    kind, label = "jira", "Jira"
    fields = (Field("site", N_("Site URL"), N_("e.g. https://your-team.atlassian.net"), url=True),
              Field("project", N_("Project key"), N_("e.g. OPS"), pattern=r"[A-Z][A-Z0-9_]{0,49}",
                    rule=N_("upper-case letters and digits, e.g. OPS")),
              Field("issue_type", N_("Issue type"), default="Task"),
              Field("email", N_("Account e-mail"), N_("the Atlassian account the API token belongs to")))
    secret_label = N_("API token")

    def request(self, config, secret, action):
        paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in action.lines()]
        body = {"fields": {
            "project": {"key": config["project"]}, "issuetype": {"name": config["issue_type"]},
            "summary": _title(action), "labels": ["retro-action"],
            # The due date goes in the text: the duedate field is off the create screen of many projects.
            "description": {"type": "doc", "version": 1, "content": paragraphs},
        }}
        return httpx.Request("POST", f"{config['site']}/rest/api/3/issue", content=_json(body), headers={
            "Content-Type": "application/json", "Accept": "application/json",
            "Authorization": _basic(config["email"], secret)})

    def parse(self, config, response):
        data = response.json()
        return str(data["key"]), f"{config['site']}/browse/{data['key']}"


class GitHub(Target):
    kind, label = "github", N_("GitHub issues")
    fields = (Field("repository", N_("Repository"), N_("owner/name"), pattern=r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+",
                    rule=N_("owner/name, e.g. acme/platform")),
              Field("api", N_("API URL"), N_("GitHub Enterprise Server: https://HOST/api/v3"),
                    default="https://api.github.com", url=True))
    secret_label = N_("Token (fine-grained, Issues: write)")

    def request(self, config, secret, action):
        body = {"title": _title(action), "body": "\n\n".join(action.lines())}
        return httpx.Request("POST", f"{config['api']}/repos/{config['repository']}/issues", content=_json(body),
                             headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                                      "Authorization": f"Bearer {secret}", "Content-Type": "application/json"})

    def parse(self, config, response):
        data = response.json()
        return str(data["number"]), data.get("html_url")


class AzureDevOps(Target):
    kind, label = "azure_devops", "Azure DevOps"
    fields = (Field("organization", N_("Organization URL"), N_("e.g. https://dev.azure.com/acme"), url=True),
              Field("project", N_("Project")),
              Field("work_item_type", N_("Work item type"), default="Task"))
    secret_label = N_("Personal access token (Work items: read & write)")

    def request(self, config, secret, action):
        description = "<br>".join(html.escape(line) for line in action.lines())
        body = [
            {"op": "add", "path": "/fields/System.Title", "value": _title(action)},
            {"op": "add", "path": "/fields/System.Description", "value": description},
            {"op": "add", "path": "/fields/System.Tags", "value": "retro-action"},
        ]
        url = (f"{config['organization']}/{quote(config['project'])}/_apis/wit/workitems/"
               f"${quote(config['work_item_type'])}?api-version=7.1")
        return httpx.Request("POST", url, content=_json(body), headers={
            "Content-Type": "application/json-patch+json", "Accept": "application/json",
            "Authorization": _basic("", secret)})

    def parse(self, config, response):
        data = response.json()
        return str(data["id"]), (data.get("_links", {}).get("html", {}) or {}).get("href")


class Webhook(Target):
    kind, label = "webhook", N_("JSON webhook (signed)")
    fields = (Field("url", N_("URL"), N_("receives a POST per action"), url=True),)
    secret_label = N_("Signing secret")

    def request(self, config, secret, action):
        body = _json({"event": "retro.action.published", "delivery": action.key,
                      "action": action.model_dump(mode="json")})
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return httpx.Request("POST", config["url"], content=body, headers={
            "Content-Type": "application/json", "X-Retro-Delivery": action.key,
            "X-Retro-Signature-256": f"sha256={signature}"})


TARGETS: dict[str, Target] = {t.kind: t for t in (Slack(), Teams(), Jira(), GitHub(), AzureDevOps(), Webhook())}


def target(kind: str) -> Target:
    if kind not in TARGETS:
        raise InputError(_("Unknown destination {kind}; pick one of: {kinds}").format(kind=repr(kind),
                                                                                       kinds=", ".join(TARGETS)))
    return TARGETS[kind]


def send(kind: str, config: dict[str, str], secret: str, action: OutboundAction,
         client: httpx.Client | None = None) -> Outcome:
    """POST one action; never raises. Timeouts, rate limits and 5xx are worth a retry;
    refused credentials, missing projects and rejected requests are not."""
    t = target(kind)
    req = t.request(config, secret, action)
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
    try:
        resp = client.send(req)
    except httpx.TimeoutException:
        return Outcome("retry", error=_("{target} did not answer within {s} s").format(target=_(t.label),
                                                                                         s=f"{TIMEOUT_S:.0f}"))
    except httpx.HTTPError as e:
        return Outcome("retry", error=_("{target} could not be reached ({error})").format(target=_(t.label),
                                                                                            error=type(e).__name__))
    finally:
        if own:
            client.close()
    code = resp.status_code
    name = _(t.label)
    limited = code == 429 or (code == 403 and resp.headers.get("x-ratelimit-remaining") == "0")
    if limited:
        return Outcome("retry", error=_("{target} is rate-limiting; it will be sent again later").format(target=name),
                       retry_after_s=_retry_after(resp))
    if code >= 500:
        return Outcome("retry", error=_("{target} had an error ({code}); it will be sent again later").format(
            target=name, code=code))
    if code == 203 or code in (401, 403):  # Azure DevOps answers a bad PAT with 203 and a sign-in page
        return Outcome("failed", error=_("{target} refused the credentials ({code}); check “{field}”").format(
            target=name, code=code, field=_(t.secret_label)))
    if code in (404, 410):
        return Outcome("failed", error=_("{target} found nothing at that address ({code}); check the configuration")
                       .format(target=name, code=code))
    if code >= 300:
        return Outcome("failed", error=_("{target} refused the request ({code}): {reason}").format(
            target=name, code=code, reason=_reason(resp)))
    try:
        ext_id, url = t.parse(config, resp)
    except (ValueError, KeyError, TypeError):
        return Outcome("sent", error=_("{target} accepted it but its answer had no id").format(target=name))
    return Outcome("sent", external_id=ext_id, external_url=url)


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None
    reset = resp.headers.get("x-ratelimit-reset")  # GitHub: epoch seconds
    if reset and reset.isdigit():
        return max(0.0, int(reset) - dt.datetime.now(dt.timezone.utc).timestamp())
    return None


def _reason(resp: httpx.Response) -> str:
    """A short reason from the service's error body (Jira's errorMessages/errors, GitHub's message)."""
    try:
        data = resp.json()
    except ValueError:
        return " ".join(resp.text.split())[:120] or _("no reason given")
    if isinstance(data, dict):
        parts = list(data.get("errorMessages") or []) + [f"{k}: {v}" for k, v in (data.get("errors") or {}).items()
                                                          if isinstance(data.get("errors"), dict)]
        if data.get("message"):
            parts.append(str(data["message"]))
        if parts:
            return "; ".join(str(p) for p in parts)[:200]
    return json.dumps(data)[:120]
