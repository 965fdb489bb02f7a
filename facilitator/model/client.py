"""The one seam that talks to litellm: chat completions and embeddings.

Everything a provider call needs to be bounded lives here:

- a wall-clock deadline per call (``call_timeout_s``): passed to litellm as
  ``timeout=`` and enforced again around the call on one bounded pool, so a
  provider that trickles bytes cannot hold a retro past it (a late reply's
  tokens are still counted);
- ``retries`` retries with exponential backoff on transient errors only
  (timeouts, 408/409/429, 5xx, connection errors), honouring ``Retry-After``
  in both its forms; a tenacity loop rather than litellm's ``num_retries`` so
  each attempt is counted, charged to the budget and kept in the transcript,
  and the SDK's hidden retries are off (``max_retries=0``);
- one fallback model: when the primary model still fails after its retries
  (or fails in a way retrying cannot fix: bad key, unknown model, context too
  long), the fallback takes over for the rest of the retro;
- a per-retro token budget: a call is refused before it is sent if its
  prompt (``litellm.token_counter``) plus a minimum reply would overrun it, and
  ``max_tokens`` is capped to what is left;
- usage and cost (``litellm.completion_cost``, from litellm's bundled price
  map, where it knows the model) accumulated for ``meta.usage``.

No tools or functions are ever passed to a model: the request is messages,
``max_tokens``, ``temperature`` and, for providers with a native JSON mode,
``response_format``.

``import litellm`` takes seconds, so it happens inside functions only; the
offline engine never imports this module's dependencies.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from facilitator.errors import ConfigError, ModelCallError
from facilitator.models import ModelCall, ModelMessage, PromptVersion

# Providers with a native JSON mode for ``response_format={"type": "json_object"}``.
# Elsewhere (Anthropic, Bedrock, ...) litellm may emulate it with a tool call,
# and no tool is ever sent: the prompt asks for JSON and the parser checks it.
JSON_MODE_PROVIDERS = frozenset(
    {"openai", "azure", "mistral", "ollama", "ollama_chat", "hosted_vllm", "lm_studio", "groq", "deepseek",
     "together_ai", "fireworks_ai", "openrouter"}
)
# Local servers: litellm reports their *_API_BASE as "missing" though a default works.
LOCAL_PROVIDERS = frozenset({"ollama", "ollama_chat", "hosted_vllm", "lm_studio", "llamafile", "vllm"})
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})
MIN_REPLY_TOKENS = 256
BACKOFF_S = 1.0
BACKOFF_CAP_S = 20.0
CALL_WORKERS = 8
# One bounded pool for every provider call of the process: a stuck provider
# can hold at most CALL_WORKERS threads, never one more per timed-out call.
_CALLS = ThreadPoolExecutor(max_workers=CALL_WORKERS, thread_name_prefix="llm-call")


def import_litellm():
    """Import litellm configured for this app (no remote price map, httpx transport)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    # The aiohttp transport bypasses httpx (and so timeouts we set and test mocks).
    litellm.disable_aiohttp_transport = True
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    # Our own loop retries (counted, charged, logged); the SDK's are off. litellm's
    # OpenAI embedding path reads ``max_retries=0`` as "unset" (``0 or DEFAULT``),
    # so the default itself is 0 here.
    litellm.DEFAULT_MAX_RETRIES = 0
    return litellm


def provider_of(model: str, api_base: str | None = None) -> str:
    litellm = import_litellm()
    try:
        return litellm.get_llm_provider(model=model, api_base=api_base)[1]
    except Exception:
        raise ConfigError(
            f"Model {model!r}: unknown provider; write PROVIDER/MODEL, e.g. openai/gpt-4o-mini, "
            "anthropic/claude-3-5-haiku-20241022 or ollama/llama3.1"
        ) from None


def check_environment(model: str, api_base: str | None = None) -> None:
    """Fail early, naming the variable to set, when a provider's key is missing."""
    litellm = import_litellm()
    provider = provider_of(model, api_base)
    try:
        env = litellm.validate_environment(model=model, api_base=api_base)
    except Exception:  # litellm does not know how to check this provider: let the call tell
        return
    missing = list(env.get("missing_keys") or [])
    if provider in LOCAL_PROVIDERS:
        missing = [m for m in missing if not m.endswith("_API_BASE")]
    if missing:
        names = " and ".join(missing)
        raise ConfigError(
            f"Model {model} needs {names}: set the environment variable "
            f"(e.g. export {missing[0]}=...), or choose another model with --model / RETRO_MODEL"
        )


def is_transient(exc: BaseException) -> bool:
    litellm = import_litellm()
    if isinstance(exc, (DeadlineExceeded, litellm.Timeout, litellm.APIConnectionError)):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and status in TRANSIENT_STATUS


def describe(exc: BaseException) -> str:
    """One line for meta.fallback_reason and the transcript (no request body)."""
    status = getattr(exc, "status_code", None)
    msg = str(exc).splitlines()[0] if str(exc) else ""
    msg = msg.replace("litellm.", "")[:200]
    return f"{type(exc).__name__}" + (f" ({status})" if status else "") + (f": {msg}" if msg else "")


class DeadlineExceeded(ModelCallError):
    """The call ran past its wall-clock deadline."""


class BudgetExceeded(ModelCallError):
    """The next call would overrun the retro's token budget."""


class EmbeddingCallError(ModelCallError):
    """An embedding call failed after its retries (or could not be sent)."""


@dataclass
class Reply:
    text: str
    call: ModelCall  # the transcript entry; the engine marks it invalid if the reply fails validation


@dataclass
class Usage:
    calls: int = 0
    failed_calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_unknown_calls: int = 0
    fallback_model_calls: int = 0
    embedding_calls: int = 0
    embedding_tokens: int = 0
    late_calls: int = 0  # calls that finished after their deadline; their tokens are counted too
    late_tokens: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.embedding_tokens

    def as_meta(self) -> dict[str, float]:
        out = {
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "cost_unknown_calls": self.cost_unknown_calls,
            "fallback_model_calls": self.fallback_model_calls,
        }
        if self.late_calls:
            out["late_calls"] = self.late_calls
            out["late_tokens"] = self.late_tokens
        if self.embedding_calls:
            out["embedding_calls"] = self.embedding_calls
            out["embedding_tokens"] = self.embedding_tokens
        out.update(self.extra)
        return out


class LLMClient:
    """Bounded chat completions for one analysis (usage and budget are per instance)."""

    def __init__(self, settings, *, sleep: Callable[[float], None] = time.sleep):
        if not settings.model:
            raise ConfigError("The llm engine needs a model: pass --model PROVIDER/MODEL or set RETRO_MODEL")
        self.settings = settings
        self.models = [settings.model] + ([settings.fallback_model] if settings.fallback_model else [])
        self.active = 0  # index into models; moves to the fallback once and stays there
        self.usage = Usage()
        self.transcript: list[ModelCall] = []
        self._usage_lock = threading.Lock()
        self._sleep = sleep
        self._litellm = import_litellm()

    @property
    def model(self) -> str:
        return self.models[self.active]

    @property
    def models_used(self) -> list[str]:
        return list(dict.fromkeys(c.model for c in self.transcript if c.status != "error"))

    def complete(
        self,
        messages: Sequence[dict[str, str]],
        *,
        task: str,
        prompt: PromptVersion | None = None,
        attempt: int = 1,
        max_tokens: int = 4096,
    ) -> Reply:
        """One validated-to-be-text reply, or ``ModelCallError`` once retries and fallback are spent."""
        while True:
            model = self.model
            try:
                return self._retrying(lambda: self._attempt(model, messages, task, prompt, attempt, max_tokens))
            except BudgetExceeded:
                raise
            except Exception as e:  # noqa: BLE001 - classified below, never swallowed
                if not _is_provider_error(e, self._litellm):
                    raise
                last = e
            if self.active + 1 < len(self.models):
                self.active += 1
                continue
            hint = _key_hint(last, model)
            raise ModelCallError(f"{model}: {describe(last)}{hint}") from last

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, retried with backoff on transient provider errors; any other
        error, or the last transient one, is raised as is."""
        from tenacity import Retrying, retry_if_exception, stop_after_attempt

        def transient(e: BaseException) -> bool:
            return _is_provider_error(e, self._litellm) and is_transient(e)

        def counted(state) -> None:
            self.usage.retries += 1

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            retry=retry_if_exception(transient),
            wait=lambda state: _backoff(state.outcome.exception(), state.attempt_number - 1),
            sleep=self._sleep,
            before_sleep=counted,
            reraise=True,
        )
        return retrying(fn)

    def embed(self, model: str, texts: Sequence[str]) -> tuple[list[list[float]], int]:
        """Embedding vectors for ``texts`` (already scrubbed), bounded like a
        completion: deadline, retries on transient errors, SDK retries off, token
        budget, usage. Any failure is an ``EmbeddingCallError``."""
        litellm = self._litellm
        try:
            estimate = sum(int(litellm.token_counter(model=model, text=t)) for t in texts)
        except Exception:  # unknown tokenizer: a rough count is enough for a bound
            estimate = sum(len(t) for t in texts) // 3 + len(texts)
        left = self.settings.token_budget - self.usage.total_tokens
        if estimate > left:
            raise EmbeddingCallError(
                f"token budget of {self.settings.token_budget} per retro would be exceeded by embeddings "
                f"({self.usage.total_tokens} used, next call needs ~{estimate}); raise RETRO_TOKEN_BUDGET"
            )

        def once():
            try:
                return self._with_deadline(
                    lambda: litellm.embedding(
                        model=model,
                        input=list(texts),
                        timeout=self.settings.call_timeout_s,
                        max_retries=0,
                        api_base=self.settings.api_base,
                    )
                )
            except Exception:
                self.usage.failed_calls += 1
                raise

        try:
            resp = self._retrying(once)
            data = sorted(resp.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
            rows = [list(d["embedding"] if isinstance(d, dict) else d.embedding) for d in data]
            if len(rows) != len(texts):
                raise ValueError(f"{len(rows)} vectors for {len(texts)} texts")
        except Exception as e:  # noqa: BLE001 - every failure becomes one error type
            raise EmbeddingCallError(f"embedding {model}: {describe(e)}{_key_hint(e, model)}") from e
        usage = getattr(resp, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or estimate)
        self.usage.embedding_calls += 1
        self.usage.embedding_tokens += tokens
        try:
            self.usage.cost_usd += float(litellm.completion_cost(completion_response=resp, model=model))
        except Exception:  # price unknown
            self.usage.cost_unknown_calls += 1
        return rows, tokens

    def _attempt(self, model, messages, task, prompt, attempt, max_tokens) -> Reply:
        litellm = self._litellm
        try:
            estimate = int(litellm.token_counter(model=model, messages=list(messages)))
        except Exception:  # unknown tokenizer: a rough count is enough for a bound
            estimate = sum(len(m["content"]) for m in messages) // 3
        left = self.settings.token_budget - self.usage.total_tokens
        if estimate + MIN_REPLY_TOKENS > left:
            raise BudgetExceeded(
                f"token budget of {self.settings.token_budget} per retro would be exceeded "
                f"({self.usage.total_tokens} used, next call needs ~{estimate + MIN_REPLY_TOKENS}); "
                "raise RETRO_TOKEN_BUDGET or use fewer cards"
            )
        params: dict[str, Any] = {"temperature": 0, "max_tokens": min(max_tokens, left - estimate)}
        provider = provider_of(model, self.settings.api_base)
        if provider in JSON_MODE_PROVIDERS:
            params["response_format"] = {"type": "json_object"}
        record = ModelCall(
            task=task,
            prompt=prompt,
            model=model,
            attempt=attempt,
            params=params,
            messages=[ModelMessage(role=m["role"], content=m["content"]) for m in messages],
        )
        self.transcript.append(record)
        if self.active > 0:
            self.usage.fallback_model_calls += 1
        t0 = time.perf_counter()
        try:
            resp = self._with_deadline(
                lambda: litellm.completion(
                    model=model,
                    messages=[dict(m) for m in messages],
                    timeout=self.settings.call_timeout_s,
                    max_retries=0,
                    drop_params=True,
                    api_base=self.settings.api_base,
                    **params,
                )
            )
        except Exception as e:
            record.status, record.error = "error", describe(e)
            record.duration_ms = _ms(t0)
            self.usage.failed_calls += 1
            raise
        record.duration_ms = _ms(t0)
        try:
            text = resp.choices[0].message.content or ""
        except (AttributeError, IndexError, KeyError, TypeError):
            record.status, record.error = "error", "the reply has no choices or no message"
            self.usage.failed_calls += 1
            raise ModelCallError(f"{model}: the provider replied without a message (empty choices)") from None
        if not isinstance(text, str):
            record.status, record.error = "error", "the reply's message content is not text"
            self.usage.failed_calls += 1
            raise ModelCallError(f"{model}: the provider replied with non-text content")
        usage = getattr(resp, "usage", None)
        record.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or estimate)
        record.completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        record.reply = text
        self.usage.calls += 1
        self.usage.prompt_tokens += record.prompt_tokens
        self.usage.completion_tokens += record.completion_tokens
        try:
            self.usage.cost_usd += float(litellm.completion_cost(completion_response=resp, model=model))
        except Exception:  # price unknown (local server, new model)
            self.usage.cost_unknown_calls += 1
        return Reply(text, record)

    def _with_deadline(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the shared call pool; give up after ``call_timeout_s`` of wall clock.

        A thread cannot be killed, so a call that misses its deadline runs on in
        the pool; when it does finish, the tokens it used are still charged to
        this analysis (``late_calls``, ``late_tokens``): the provider bills them.
        """
        future = _CALLS.submit(fn)
        try:
            return future.result(timeout=self.settings.call_timeout_s)
        except FutureTimeout:
            future.add_done_callback(self._charge_late)
            raise DeadlineExceeded(
                f"no reply within {self.settings.call_timeout_s:g} s (RETRO_CALL_TIMEOUT_S)"
            ) from None

    def _charge_late(self, future) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        usage = getattr(future.result(), "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        with self._usage_lock:
            self.usage.late_calls += 1
            self.usage.late_tokens += prompt + completion
            self.usage.prompt_tokens += prompt
            self.usage.completion_tokens += completion


def _is_provider_error(e: BaseException, litellm) -> bool:
    import openai

    return isinstance(e, (DeadlineExceeded, openai.OpenAIError)) and not isinstance(e, BudgetExceeded)


def _backoff(e: BaseException | None, retry: int) -> float:
    """Exponential backoff; honour a provider's Retry-After (seconds or an HTTP date), capped."""
    delay = BACKOFF_S * (2**retry)
    response = getattr(e, "response", None)
    headers = getattr(response, "headers", None) or {}
    after = retry_after_seconds(headers.get("retry-after"))
    if after is not None:
        delay = max(delay, after)
    return min(delay, BACKOFF_CAP_S)


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: either delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds())


def _key_hint(e: BaseException, model: str) -> str:
    if getattr(e, "status_code", None) in (401, 403):
        try:
            env = import_litellm().validate_environment(model=model)
            names = [k for k in env.get("missing_keys", [])] or None
        except Exception:
            names = None
        return f"; check {' and '.join(names)}" if names else "; check the provider's API key variable"
    return ""


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
