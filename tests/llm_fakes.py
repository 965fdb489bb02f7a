"""A scripted model at the wire, for respx.

``FakeProvider`` answers real litellm requests in the provider's own payload
format (OpenAI chat completions or Anthropic messages). By default it answers
correctly from the data fenced in the request (so the tests exercise the real
prompts and parsers); a script queues faults or bad replies first. Every
request body is kept for assertions, and usage is counted with
``litellm.token_counter`` so the numbers are realistic.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import deque

import httpx

OPENAI_URL = "https://api.openai.com/v1/chat/completions"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"


def fenced(text: str, tag: str):
    m = re.search(rf"<{tag}>\n(.*?)\n</{tag}>", text, re.S)
    return json.loads(m.group(1)) if m else None


def good_answer(user: str) -> str:
    """A correct reply to the first user message of a task."""
    if (drafts := fenced(user, "cards")) is not None:
        themes = [
            {"id": f"t{i}", "label": f"Topic {i}", "kind": d["suggested_kind"],
             "summary": "Paraphrase of what these cards raise.", "card_ids": [c["id"] for c in d["cards"]]}
            for i, d in enumerate(drafts, start=1)
        ]
        return json.dumps({"themes": themes})
    if (fears := fenced(user, "fears")) is not None:
        out = []
        for f in fears:
            if f["passages"]:
                p = f["passages"][0]
                out.append({"theme_id": f["theme_id"], "status": "partial", "commitment_ids": [p["commitment_id"]],
                            "quotes": [{"commitment_id": p["commitment_id"], "text": p["text"]}],
                            "rationale": "Answers part of the worry; scope limits the rest."})
            else:
                out.append({"theme_id": f["theme_id"], "status": "uncovered", "rationale": "No promise answers it."})
        return json.dumps({"coverage": out})
    if (data := fenced(user, "analysis")) is not None:
        today = dt.date.fromisoformat(re.search(r"Today is (\d{4}-\d\d-\d\d)", user).group(1))
        status = {c["theme_id"]: c for c in data["coverage"]}
        acts = []

        def add(**kw):
            acts.append({"id": f"a{len(acts) + 1}", "commitment_ids": [], **kw})

        for t in data["themes"]:
            if t["kind"] == "flaw":
                add(title=f"Try one fix for {t['label']}", kind="fix", theme_ids=[t["id"]], owner_role="Team",
                    due=(today + dt.timedelta(14)).isoformat())
            elif t["kind"] == "fear":
                c = status[t["id"]]
                if c["status"] != "uncovered":
                    add(title="Share the commitment and confirm it applies", kind="reassure", theme_ids=[t["id"]],
                        commitment_ids=c["commitment_ids"], owner_role="Facilitator",
                        due=(today + dt.timedelta(7)).isoformat())
                if c["status"] != "covered":
                    add(title="Escalate the gap to the owner", kind="escalate", theme_ids=[t["id"]],
                        owner_role=data["default_owner"], due=(today + dt.timedelta(21)).isoformat())
        return json.dumps({"actions": acts})
    raise AssertionError(f"unknown task in request: {user[:200]}")


def move_cards(answer: str | dict, card_ids, kind: str, *, into: str | None = None,
               reason: str | None = None) -> dict:
    """A themes reply with ``card_ids`` moved into theme ``into`` (or a new
    theme of ``kind``); emptied themes are dropped. With ``reason``, each moved
    card is declared in ``reclassified`` with ``to_kind=kind``."""
    data = json.loads(answer) if isinstance(answer, str) else answer
    card_ids = list(card_ids)
    for t in data["themes"]:
        t["card_ids"] = [c for c in t["card_ids"] if c not in card_ids]
    data["themes"] = [t for t in data["themes"] if t["card_ids"]]
    target = next((t for t in data["themes"] if t["id"] == into), None)
    if target is None:
        target = {"id": f"t-moved-{kind}", "label": f"Moved to {kind}", "kind": kind,
                  "summary": "Cards moved here by the model.", "card_ids": []}
        data["themes"].append(target)
    target["card_ids"] += card_ids
    if reason is not None:
        data.setdefault("reclassified", []).extend(
            {"card_id": c, "to_kind": kind, "reason": reason} for c in card_ids)
    return data


def drafted_kinds(body: dict) -> dict[str, str]:
    """Card id -> suggested_kind of its draft, from a themes request."""
    first_user = next(m["content"] for m in messages_of(body) if m["role"] == "user")
    return {c["id"]: d["suggested_kind"] for d in fenced(first_user, "cards") for c in d["cards"]}


def messages_of(body: dict) -> list[dict]:
    """Chat messages of an OpenAI or Anthropic request body, as plain strings."""
    out = []
    system = body.get("system")
    if system:
        out.append({"role": "system", "content": system if isinstance(system, str) else "".join(b["text"] for b in system)})
    for m in body["messages"]:
        c = m["content"]
        if isinstance(c, list):
            c = "".join(b.get("text", "") for b in c)
        out.append({"role": m["role"], "content": c})
    return out


def task_of(body: dict) -> str:
    first_user = next(m["content"] for m in messages_of(body) if m["role"] == "user")
    for tag, task in (("cards", "themes"), ("fears", "coverage"), ("analysis", "actions")):
        if f"<{tag}>" in first_user:
            return task
    return "?"


class FakeProvider:
    def __init__(self, fmt: str = "openai", model: str = "gpt-4o-mini-2024-07-18"):
        self.fmt = fmt
        self.model = model
        self.script: deque = deque()
        self.bodies: list[dict] = []
        self.raw: list[bytes] = []

    def queue(self, *items) -> FakeProvider:
        """Items: a reply string, an httpx.Response, an exception to raise, or
        a callable(body, default_text) -> str; consumed one per request."""
        self.script.extend(items)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.raw.append(request.content)
        self.bodies.append(body)
        msgs = messages_of(body)
        first_user = next(m["content"] for m in msgs if m["role"] == "user")
        item = self.script.popleft() if self.script else None
        if isinstance(item, httpx.Response):
            return item
        if isinstance(item, BaseException):
            raise item
        if callable(item):
            text = item(body, good_answer(first_user))
        elif isinstance(item, str):
            text = item
        else:
            text = good_answer(first_user)
        return self.reply(text, msgs)

    def reply(self, text: str, msgs: list[dict]) -> httpx.Response:
        import litellm

        prompt = litellm.token_counter(model="gpt-4o-mini", messages=msgs)
        completion = litellm.token_counter(model="gpt-4o-mini", text=text)
        if self.fmt == "anthropic":
            return httpx.Response(200, json={
                "id": "msg_01", "type": "message", "role": "assistant", "model": self.model,
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": prompt, "output_tokens": completion},
            })
        return httpx.Response(200, json={
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1735689600, "model": self.model,
            "system_fingerprint": "fp_test",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        })

    def tasks(self) -> list[str]:
        return [task_of(b) for b in self.bodies]
